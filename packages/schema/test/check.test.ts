import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkCompatibility } from '../src/check.js';
import { compileFile } from '../src/compile.js';
import { compileSource } from './helpers.js';

const breaks = (a: string, b: string): string[] =>
  checkCompatibility(compileSource({ 'a.isthmus': `namespace n;\n${a}` }), compileSource({ 'a.isthmus': `namespace n;\n${b}` })).map((x) => `${x.path}: ${x.message}`);

describe('isthmus check', () => {
  it('accepts the evolution of market.isthmus from v1', () => {
    const root = join(import.meta.dirname, '../../../schemas');
    expect(checkCompatibility(compileFile(join(root, 'evolution/market.v1.isthmus')), compileFile(join(root, 'market.isthmus')))).toEqual([]);
  });

  it('allows appends with @since, deprecation and renames', () => {
    expect(
      breaks(
        'enum E : u8 { a = 1 } struct P { x: u8 } union U { p: P } message M { e: E, p: P, u: U, s: string }',
        'enum E2 : u8 { alpha = 1, beta = 2 } struct Q { y: u8 } union U2 { q: Q, t: string } message M { e: E2, @deprecated p: Q, u: U2, text: string, @since(2) extra: u64 }',
      ),
    ).toEqual([]);
  });

  it('reports removed, retyped and reordered fields', () => {
    const out = breaks('message M { a: u32, b: string, c: u8 }', 'message M { b: string, a: u32 }');
    expect(out[0]).toMatch(/^n\.M: type id changed from 0x[0-9a-f]{16} to 0x[0-9a-f]{16}; readers of the old schema will reject every message$/);
    expect(out.slice(1)).toEqual([
      'n.M.a: field moved from position 1 to 2; fields can not be reordered',
      'n.M.b: field moved from position 2 to 1; fields can not be reordered',
      'n.M.c: field #3 was removed; deprecate it with @deprecated instead',
    ]);
    expect(breaks('message M { a: u32 }', '@id(0x1) message M { a: u64 }')).toContain('n.M.a: type changed from u32 to u64');
  });

  it('reports enum, union and struct changes once each', () => {
    const out = breaks(
      'enum E : u8 { a = 1, b = 2 } struct P { x: u8 } union U { p: P, s: string } @id(1) message M { e: E, e2: E, p: P, u: U }',
      'enum E : u16 { a = 1, b = 3 } struct P { x: u8, y: u8 } union U { p: P } @id(1) message M { e: E, e2: E, p: P, u: U }',
    );
    expect(out).toEqual([
      'n.M.e: enum n.E changed its underlying type from u8 to u16',
      "n.M.e: enum n.E value 'b' changed from 2 to 3",
      'n.M.e2: enum n.E changed its underlying type from u8 to u16',
      "n.M.e2: enum n.E value 'b' changed from 2 to 3",
      'n.M.p.y: field was added to struct n.P; structs are frozen (only messages can grow)',
      'n.M.u.p.y: field was added to struct n.P; structs are frozen (only messages can grow)',
      "n.M.u: union n.U case 's' (tag 2) was removed",
    ]);
  });

  it('requires a new version for appended fields, and keeps ids', () => {
    expect(breaks('message M { a: u8 }', 'message M { a: u8, b: u8 }')).toContain('n.M.b: field was appended without a new version: give it @since(2) or higher (the old schema is version 1)');
    expect(breaks('message M { a: u8 }', 'message Renamed { a: u8 }')).toEqual(['n.M: message was removed (or renamed without @id pinning its type id)']);
    expect(breaks('@id(7) message M { a: u8 }', '@id(7) message Renamed { a: u8 }')).toEqual([]);
    expect(breaks('message M { a: u8? }', 'message M { a: u8 }')).toContain('n.M.a: field became required; optionality can not change');
  });
});
