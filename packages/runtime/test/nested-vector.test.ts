/**
 * The TS builder fills `vector<vector<T>>` (kitchen.Everything.matrix): `init(i, count)`
 * allocates inner vector i, whose elements are then set in place; the result verifies and
 * reads back through the generated view and toJSON.
 */
import { join } from 'node:path';
import { compileFile, typeTable } from '@isthmus/schema';
import { describe, expect, it } from 'vitest';
import { toJSON } from '@isthmus/runtime';
import { Everything } from '../../../schemas/generated/ts/kitchen.ts';

const table = typeTable(compileFile(join(import.meta.dirname, '../../../schemas/kitchen.isthmus')));

describe('vector<vector<u8>> in the builder', () => {
  it('init(i, count) allocates each inner vector; set fills it', () => {
    const buf = new ArrayBuffer(4096);
    const b = Everything.builder(buf, 0, 4096);
    b.wide = 1; // kitchen.Wide has no zero value
    const rows = [[1, 2, 3], [], [255]];
    const m = b.init_matrix(rows.length);
    rows.forEach((row, i) => {
      const inner = m.init(i, row.length);
      expect(inner.length).toBe(row.length);
      row.forEach((x, j) => inner.set(j, x));
    });
    const bytes = new Uint8Array(buf, 0, b.finish());
    expect(Everything.verify(bytes)).toBeNull();
    const v = Everything.view(bytes);
    expect(v.matrix.toArray().map((r) => r.toArray())).toEqual(rows);
    expect((toJSON(table, 'kitchen.Everything', bytes) as { matrix: number[][] }).matrix).toEqual(rows);
  });

  it('set(i, …) on a vector of vectors says to use init(i, count); init on other vectors says set', () => {
    const buf = new ArrayBuffer(4096);
    const b = Everything.builder(buf, 0, 4096);
    const m = b.init_matrix(1);
    expect(() => m.set(0, m.get(0))).toThrow('elements of this vector are vectors: init(i, count) allocates element i, then set its elements');
    expect(() => m.init(1, 1)).toThrow(RangeError);
    expect(() => b.init_numbers(1).init(0, 1)).toThrow('init(i, count) is for vectors of vectors; set(i, value) writes these elements');
  });
});
