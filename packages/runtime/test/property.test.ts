/**
 * Property tests:
 * - random schemas × random values round-trip JSON → bytes → JSON, verify() accepts every
 *   encoded message, and re-encoding the decoded value gives the same bytes (canonical);
 * - random byte mutations never make a reader leave its buffer: verify() rejects them with
 *   a VerifyError, or accepts them and every value then reads inside the buffer.
 * Random schemas come from a seeded generator driven by fast-check, so failures replay.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileFile, typeTable } from '@isthmus/schema';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundsError, encode, toJSON, verify, VerifyError, type EnumLayout, type StructLayout, type TypeLayout, type TypeRef, type UnionLayout, Vec } from '@isthmus/runtime';
import { BookUpdate } from '../../../schemas/generated/ts/market.ts';
import { Everything } from '../../../schemas/generated/ts/kitchen.ts';

const ROOT = join(import.meta.dirname, '../../..');

/** Small deterministic PRNG (mulberry32). */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)]!, chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof rng>;

const SCALARS = ['bool', 'u8', 'u16', 'u32', 'u64', 'i8', 'i16', 'i32', 'i64', 'f32', 'f64'] as const;

/** A random schema text: enums, structs (acyclic), a union and one message. */
function randomSchema(r: Rng): string {
  const lines = ['namespace p;'];
  const enums: string[] = [];
  const structs: string[] = [];
  for (let i = 0; i < 1 + r.int(2); i++) {
    const base = r.pick(['u8', 'u16', 'u32', 'i8', 'i16', 'i32']);
    const n = 1 + r.int(4);
    let v = base.startsWith('i') ? -1 - r.int(3) : r.int(3);
    lines.push(`enum E${i} : ${base} { ${Array.from({ length: n }, (_, k) => `v${k} = ${(v += 1 + r.int(3))}`).join(', ')} }`);
    enums.push(`E${i}`);
  }
  const type = (depth: number, allowUnion: boolean): string => {
    const roll = r.int(depth > 2 ? 6 : 11);
    if (roll < 3) return r.pick(SCALARS);
    if (roll === 3) return r.pick(enums);
    if (roll === 4) return r.pick(['string', 'bytes']);
    if (roll === 5 && structs.length) return r.pick(structs);
    if (roll === 6) return `[${type(depth + 1, false)}; ${1 + r.int(3)}]`;
    if (roll === 7 || roll === 8) return `vector<${type(depth + 1, allowUnion)}>`;
    if (roll === 9 && allowUnion) return 'U';
    return r.pick(SCALARS);
  };
  for (let i = 0; i < r.int(3); i++) {
    const fields = Array.from({ length: 1 + r.int(4) }, (_, k) => `f${k}: ${type(1, false)}${r.chance(0.2) ? '?' : ''}`);
    lines.push(`struct S${i} { ${fields.join(', ')} }`);
    structs.push(`S${i}`);
  }
  lines.push(`union U { ${Array.from({ length: 1 + r.int(3), }, (_, k) => `c${k}: ${type(2, false)}`).join(', ')} }`);
  const fields: string[] = [];
  const n = r.int(7);
  for (let k = 0; k < n; k++) {
    const t = type(0, true);
    fields.push(`f${k}: ${t}${t !== 'U' && r.chance(0.25) ? '?' : ''}`);
  }
  for (let k = 0; k < r.int(3); k++) {
    const t = type(0, true);
    fields.push(`@since(2) g${k}: ${t}${t !== 'U' && r.chance(0.4) ? '?' : ''}`);
  }
  lines.push(`message M { ${fields.join(', ')} }`);
  return lines.join('\n');
}

/** A random value of a type, already in the canonical JSON form of docs/layout.md §10. */
function randomValue(r: Rng, t: TypeRef, table: Map<string, TypeLayout>): unknown {
  switch (t.kind) {
    case 'scalar':
      switch (t.scalar) {
        case 'bool': return r.chance(0.5);
        case 'u8': return r.int(256);
        case 'i8': return r.int(256) - 128;
        case 'u16': return r.int(65536);
        case 'i16': return r.int(65536) - 32768;
        case 'u32': return r.int(2 ** 32);
        case 'i32': return r.int(2 ** 32) - 2 ** 31;
        case 'u64': return (BigInt(r.int(2 ** 32)) * 2n ** 32n + BigInt(r.int(2 ** 32))).toString();
        case 'i64': return (BigInt(r.int(2 ** 32)) * 2n ** 32n + BigInt(r.int(2 ** 32)) - 2n ** 63n).toString();
        case 'f32': return (r.int(2001) - 1000) / 8;
        case 'f64': return r.pick([0, -0.5, 1e300, 5e-324, r.next() * 1e6 - 5e5]);
      }
      break;
    case 'enum': return r.pick((table.get(t.name) as EnumLayout).values).name;
    case 'string': return Array.from({ length: r.int(12) }, () => String.fromCodePoint(r.pick([0x41 + r.int(26), 0xe9, 0x3b3, 0x20ac, 0x1d11e, 0x4e2d]))).join('');
    case 'bytes': return Buffer.from(Array.from({ length: r.int(10) }, () => r.int(256))).toString('base64');
    case 'array': return Array.from({ length: t.length }, () => randomValue(r, t.element, table));
    case 'vector': return Array.from({ length: r.int(4) }, () => randomValue(r, t.element, table));
    case 'struct': return randomRecord(r, table.get(t.name) as StructLayout, table);
    case 'union': {
      const u = table.get(t.name) as UnionLayout;
      if (r.chance(0.2)) return null;
      const c = r.pick(u.cases);
      return { [c.name]: randomValue(r, c.type, table) };
    }
  }
  throw new Error('unreachable');
}

function randomRecord(r: Rng, s: StructLayout, table: Map<string, TypeLayout>): Record<string, unknown> {
  return Object.fromEntries(s.fields.map((f) => [f.name, f.presence && r.chance(0.3) ? null : randomValue(r, f.type, table)]));
}

function compileText(text: string) {
  return typeTable(compileFile('p.isthmus', { readFile: () => text }));
}

describe('random schemas × random values', () => {
  it('round-trip through bytes, verify, and encode canonically', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const r = rng(seed);
        const text = randomSchema(r);
        const table = compileText(text);
        const m = table.get('p.M') as StructLayout;
        const value = randomRecord(r, m, table);
        const buf = new Uint8Array(1 << 16);
        const n = encode(table, 'p.M', value, buf);
        const bytes = buf.slice(0, n);
        expect(verify(table, 'p.M', bytes), text).toBeNull();
        const json = toJSON(table, 'p.M', bytes);
        expect(json, text).toEqual(value);
        const again = new Uint8Array(1 << 16);
        expect(again.subarray(0, encode(table, 'p.M', json, again)), text).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });
});

/** Reads every value of a record through the generated view classes, by field name. */
function touch(view: unknown, t: TypeRef | StructLayout, table: Map<string, TypeLayout>): void {
  const v = view as Record<string, unknown>;
  if ('fields' in t) {
    for (const f of t.fields) {
      const x = v[f.name];
      if (x !== null && typeof x === 'object' && !(x instanceof Uint8Array)) touch(x, f.type, table);
    }
    return;
  }
  if (t.kind === 'struct') touch(view, table.get(t.name) as StructLayout, table);
  else if (t.kind === 'vector' || t.kind === 'array') {
    const vec = view as Vec<unknown>;
    for (let i = 0; i < vec.length; i++) {
      const e = vec.get(i);
      if (e !== null && typeof e === 'object' && !(e instanceof Uint8Array)) touch(e, t.element, table);
    }
  } else if (t.kind === 'union') {
    const kind = (view as { kind: string | null }).kind;
    const c = (table.get(t.name) as UnionLayout).cases.find((k) => k.name === kind);
    const x = kind ? v[kind] : null;
    if (c && x !== null && typeof x === 'object' && !(x instanceof Uint8Array)) touch(x, c.type, table);
  }
}

describe('random byte mutations', () => {
  const cases = [
    { name: 'market/book_full.bin', schema: 'market.isthmus', type: 'market.BookUpdate', view: BookUpdate },
    { name: 'kitchen/everything_full.bin', schema: 'kitchen.isthmus', type: 'kitchen.Everything', view: Everything },
  ];
  for (const c of cases) {
    it(`never make ${c.name} readers leave the buffer`, () => {
      const table = typeTable(compileFile(join(ROOT, 'schemas', c.schema)));
      const golden = new Uint8Array(readFileSync(join(ROOT, 'schemas/testdata', c.name)));
      const layout = table.get(c.type) as StructLayout;
      let accepted = 0;
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.nat(golden.length - 1), fc.nat(255), fc.boolean()), { minLength: 1, maxLength: 6 }), (edits) => {
          // An exactly-sized ArrayBuffer: any read outside it throws a native RangeError.
          const b = new Uint8Array(new ArrayBuffer(golden.length));
          b.set(golden);
          for (const [at, val, word] of edits) {
            if (word && at + 4 <= b.length) new DataView(b.buffer).setUint32(at & ~3, val * 0x01010101 >>> (val & 7), true);
            else b[at] = val;
          }
          const err = verify(table, c.type, b);
          if (err) {
            expect(err).toBeInstanceOf(VerifyError);
          } else {
            accepted++;
            toJSON(table, c.type, b);
          }
          // Views never trust the message: every read is inside the view or a BoundsError.
          try {
            touch(c.view.view(b), layout, table);
          } catch (e) {
            if (!(e instanceof BoundsError)) throw e;
          }
        }),
        { numRuns: 1500 },
      );
      expect(accepted).toBeGreaterThan(0);
    });
  }
});
