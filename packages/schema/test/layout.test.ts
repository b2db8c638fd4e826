import type { StructLayout } from '@isthmus/runtime';
import { describe, expect, it } from 'vitest';
import { fnv1a64 } from '../src/hash.js';
import { compileSource } from './helpers.js';

const msg = (src: string, name = 'M'): StructLayout =>
  compileSource({ 'a.isthmus': `namespace a;\n${src}` }).layout.types.find((t) => t.name === name) as StructLayout;

describe('layout pass', () => {
  it('lays fields out in declaration order at natural alignment', () => {
    const m = msg('struct P { x: f32, flag: bool }\nmessage M { a: u8, b: u64, c: u16, p: P, s: string, d: i8 }');
    expect(m.fields.map((f) => [f.name, f.offset, f.size, f.align])).toEqual([
      ['a', 0, 1, 1], ['b', 8, 8, 8], ['c', 16, 2, 2], ['p', 20, 8, 4], ['s', 28, 8, 4], ['d', 36, 1, 1],
    ]);
    expect(m.size).toBe(40);
  });

  it('places presence bytes at the first optional field and shares their bits', () => {
    const m = msg('message M { a: u32, b: u16?, c: u8?, d: u64, @since(2) e: string? }');
    expect(m.presenceBytes).toEqual([4]);
    expect(m.fields.map((f) => [f.name, f.offset, f.presence])).toEqual([
      ['a', 0, undefined], ['b', 6, { offset: 4, bit: 0 }], ['c', 8, { offset: 4, bit: 1 }], ['d', 16, undefined], ['e', 24, { offset: 4, bit: 2 }],
    ]);
    expect(m.versionSizes).toEqual([24, 32]);
    const nine = msg(`message M { ${Array.from({ length: 9 }, (_, i) => `f${i}: u8?`).join(', ')} }`);
    expect(nine.presenceBytes).toEqual([0, 9]);
  });

  it('computes strides for arrays and vectors', () => {
    const m = msg('struct P { x: u64, y: u8 }\nmessage M { a: [P; 3], v: vector<P>, w: vector<[u16; 3]> }');
    expect(m.fields[0]).toMatchObject({ offset: 0, size: 48, align: 8, type: { kind: 'array', length: 3, stride: 16 } });
    expect(m.fields[1]!.type).toMatchObject({ kind: 'vector', stride: 16 });
    expect(m.fields[2]!.type).toMatchObject({ kind: 'vector', stride: 6 });
  });

  it('derives the type id from the canonical text of the version-1 shape', () => {
    const m = msg('enum S : u8 { a = 1 }\nstruct P { m: i64, e: i8 }\nmessage M { seq: u64, side: S, px: P, note: string?, @since(2) x: u32 }');
    expect(m.canonical).toBe('message a.M{u64;enum:u8;struct{i64;i8};string?}');
    expect(m.typeId).toBe('0x' + fnv1a64(m.canonical!).toString(16).padStart(16, '0'));
  });

  it('keeps the type id across renames and appends, and changes it with the shape', () => {
    const id = (src: string) => msg(src).typeId;
    const base = id('message M { a: u32, b: string }');
    expect(id('message M { renamed: u32, b: string }')).toBe(base);
    expect(id('message M { a: u32, b: string, @since(2) c: u8 }')).toBe(base);
    expect(id('message M { a: u64, b: string }')).not.toBe(base);
    expect(id('message M { a: u32, b: string? }')).not.toBe(base);
    expect(msg('@id(0x1234) message M { a: u32 }').typeId).toBe('0x0000000000001234');
  });

  it('matches FNV-1a 64 test vectors', () => {
    expect(fnv1a64('')).toBe(0xcbf29ce484222325n);
    expect(fnv1a64('a')).toBe(0xaf63dc4c8601ec8cn);
    expect(fnv1a64('foobar')).toBe(0x85944171f73967e8n);
  });
});
