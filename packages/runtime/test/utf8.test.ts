/**
 * Strings are UTF-8 bytes as written (docs/layout.md §3): a leading U+FEFF is content, not a
 * byte-order mark. TextDecoder drops it unless told not to; the TS reader (generated getters
 * and toJSON) must keep it, as the C reader does.
 */
import { join } from 'node:path';
import { compileFile, typeTable } from '@isthmus/schema';
import { describe, expect, it } from 'vitest';
import { toJSON, utf8Decode } from '@isthmus/runtime';
import { BookUpdate } from '../../../schemas/generated/ts/market.ts';

const table = typeTable(compileFile(join(import.meta.dirname, '../../../schemas/market.isthmus')));

describe('strings keep a leading U+FEFF', () => {
  it.each(['\uFEFF', '\uFEFFEURUSD', '\uFEFF\uFEFFx', `\uFEFF${'long enough to skip the ASCII fast path'}`])('%j reads back unchanged', (s) => {
    const buf = new SharedArrayBuffer(4096);
    const b = BookUpdate.builder(buf, 0, 4096);
    b.seq = 1n;
    b.side = 1;
    b.set_symbol(s);
    const size = b.finish();
    const bytes = new Uint8Array(buf, 0, size);
    expect(BookUpdate.verify(bytes)).toBeNull();
    expect(BookUpdate.view(bytes).symbol).toBe(s);
    expect((toJSON(table, 'market.BookUpdate', bytes) as { symbol: string }).symbol).toBe(s);
  });

  it('utf8Decode keeps EF BB BF at the start', () => {
    expect(utf8Decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x61]), 0, 4)).toBe('\uFEFFa');
  });
});
