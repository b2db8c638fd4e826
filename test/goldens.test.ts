/**
 * Golden vectors, TypeScript side: every vector decodes to its JSON value, its JSON value
 * encodes to the checked-in bytes, the generated views read the same values, and the
 * generated code and vectors on disk match what the compiler produces now.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode, toJSON, verify } from '@isthmus/runtime';
import { compileFile, typeTable } from '@isthmus/schema';
import { describe, expect, it } from 'vitest';
import { goldenDrift, goldenVectors, ROOT } from '../scripts/goldens.ts';
import { BookUpdate, Level, Side } from '../schemas/generated/ts/market.ts';
import { Everything, Payload } from '../schemas/generated/ts/kitchen.ts';

const tables = new Map<string, ReturnType<typeof typeTable>>();
const tableFor = (schema: string) => {
  if (!tables.has(schema)) tables.set(schema, typeTable(compileFile(join(ROOT, 'schemas', schema))));
  return tables.get(schema)!;
};
const vectors = goldenVectors();

describe('golden files', () => {
  it('match what the compiler generates now (run `npm run goldens` after a change)', () => {
    expect(goldenDrift()).toEqual([]);
  });
  it('cover both example schemas', () => {
    expect(new Set(vectors.map((v) => v.reader))).toEqual(new Set(['market.isthmus', 'kitchen.isthmus']));
  });
});

describe.each(vectors.map((v) => [v.name, v] as const))('vector %s', (_name, v) => {
  const bin = new Uint8Array(readFileSync(v.binPath));

  it('verifies and decodes to its JSON value with the writer schema', () => {
    const table = tableFor(v.writer);
    expect(verify(table, v.type, bin)).toBeNull();
    const expected = JSON.parse(JSON.stringify(toJSON(table, v.type, encodedOf(table, v.type, v.value))));
    expect(toJSON(table, v.type, bin)).toEqual(expected);
    for (const [k, val] of Object.entries(v.value)) expect(toJSON(table, v.type, bin)[k], k).toEqual(val);
  });

  it('encodes from its JSON value to identical bytes', () => {
    const out = new Uint8Array(bin.length + 64).fill(0xee);
    const n = encode(tableFor(v.writer), v.type, v.value, out, 8);
    expect(out.subarray(8, 8 + n)).toEqual(bin);
    expect(out[7]).toBe(0xee);
    expect(out[8 + n]).toBe(0xee);
  });

  it('is readable by the current reader schema', () => {
    const table = tableFor(v.reader);
    expect(verify(table, v.type, bin)).toBeNull();
    const json = toJSON(table, v.type, bin);
    for (const [k, val] of Object.entries(v.value)) expect(json[k], k).toEqual(val);
  });
});

function encodedOf(table: ReturnType<typeof typeTable>, type: string, value: Record<string, unknown>): Uint8Array {
  const out = new Uint8Array(1 << 16);
  return out.subarray(0, encode(table, type, value, out));
}

describe('generated views on the golden vectors', () => {
  const read = (name: string) => new Uint8Array(readFileSync(join(ROOT, 'schemas/testdata', name)));

  it('read BookUpdate in place', () => {
    const m = BookUpdate.view(read('market/book_full.bin'));
    expect(m.verify()).toBeNull();
    expect(m.seq).toBe(9007199254740993n);
    expect(m.side).toBe(Side.bid);
    expect(m.symbol).toBe('EURUSD');
    expect(m.bids.length).toBe(3);
    expect(m.bids.get(2).qty).toBe(18446744073709551615n);
    expect(m.asks.get(1).price.exponent).toBe(127);
    expect(m.has_trade_id).toBe(true);
    expect(m.trade_id).toBe(77n);
    expect(m.toJSON()).toEqual(JSON.parse(readFileSync(join(ROOT, 'schemas/testdata/market/book_full.json'), 'utf8')).value);
  });

  it('read an older writer with defaults for newer fields', () => {
    const m = BookUpdate.view(read('market/book_v1_writer.bin'));
    expect(m.version).toBe(1);
    expect(m.has_trade_id).toBe(false);
    expect(m.trade_id).toBeNull();
    expect(m.symbol).toBe('ÉTÉ-€-𝄞');
    expect(() => (m.trade_id = 5n)).toThrow(/@since\(2\).*version 1/);
  });

  it('read every kind of Everything field', () => {
    const m = Everything.view(read('kitchen/everything_full.bin'));
    expect(m.verify()).toBeNull();
    expect([m.b, m.u8v, m.i8v, m.u16v, m.i16v, m.u32v, m.i32v]).toEqual([true, 255, -128, 65535, -32768, 4294967295, -2147483648]);
    expect([m.u64v, m.i64v]).toEqual([18446744073709551615n, -9223372036854775808n]);
    expect(m.f32v).toBe(Math.fround(3.1415927));
    expect(m.grid.toArray()).toEqual([1, -2, 3]);
    expect(m.corners.get(1).y).toBe(200.75);
    expect(m.labels.toArray()).toEqual(['top', 'ünïcödé ✓']);
    expect([...m.blob]).toEqual([0, 1, 2, 3, 255]);
    expect(m.blob.buffer).toBe(m._buf);
    expect(m.words.toArray()).toEqual(['alpha', '', 'γάμμα']);
    expect(m.people.get(1).nick).toBe('amazing');
    expect(m.people.get(0).nick).toBeNull();
    expect(m.people.get(0).tags.toArray()).toEqual(['math', 'engines']);
    expect(m.matrix.get(0).toArray()).toEqual([1, 2, 3]);
    expect(m.payload.kind).toBe('named');
    expect(m.payload.named!.name).toBe('nested');
    expect(m.payloads.get(1).text).toBe('hello');
    expect(m.payloads.get(2).tag).toBe(0);
    expect(m.payloads.get(3).number).toBe(-42n);
    expect(m.payloads.get(4).list!.toArray()).toEqual([65535, 0, 7]);
    expect(m.maybe_u32).toBe(0);
    expect(m.has_maybe_u32).toBe(true);
    expect(m.added_text).toBeNull();
  });
});

describe('generated builders', () => {
  it('write BookUpdate in place, byte-identical to the canonical encoding', () => {
    const golden = new Uint8Array(readFileSync(join(ROOT, 'schemas/testdata/market/book_full.bin')));
    const value = JSON.parse(readFileSync(join(ROOT, 'schemas/testdata/market/book_full.json'), 'utf8')).value;
    const sab = new SharedArrayBuffer(4096);
    new Uint8Array(sab).fill(0xa5);
    const m = BookUpdate.builder(sab, 64, 1024);
    m.seq = BigInt(value.seq);
    m.ts_ns = BigInt(value.ts_ns);
    m.instrument_id = value.instrument_id;
    m.side = Side.bid;
    m.set_symbol(value.symbol);
    m.set_venue(value.venue);
    for (const side of ['bids', 'asks'] as const) {
      const levels = value[side] as { price: { mantissa: string; exponent: number }; qty: string; orders: number }[];
      const vec = m[side === 'bids' ? 'init_bids' : 'init_asks'](levels.length);
      const lv = new Level(m, 0);
      levels.forEach((l, i) => {
        vec.get(i, lv);
        lv.price.mantissa = BigInt(l.price.mantissa);
        lv.price.exponent = l.price.exponent;
        lv.qty = BigInt(l.qty);
        lv.orders = l.orders;
      });
    }
    m.trade_id = 77n;
    const n = m.finish();
    expect(new Uint8Array(sab, 64, n)).toEqual(golden);
    expect(new Uint8Array(sab, 63, 1)[0]).toBe(0xa5);
    expect(new Uint8Array(sab, 64 + n, 1)[0]).toBe(0xa5);
  });

  it('refuse to write past their capacity', () => {
    const buf = new Uint8Array(128).fill(7);
    const m = BookUpdate.builder(buf, 0, 100);
    expect(() => m.set_symbol('x'.repeat(20))).toThrow(/needs at least 108 bytes but the builder's capacity is 100/);
    expect(buf.subarray(100).every((b) => b === 7)).toBe(true);
    expect(() => BookUpdate.builder(buf, 0, 40)).toThrow(/needs at least 88 bytes/);
  });

  it('build unions and nested vectors', () => {
    const buf = new ArrayBuffer(2048);
    const m = Everything.builder(buf);
    m.wide = 1;
    m.payload.set_text('hi');
    const ps = m.init_payloads(2);
    ps.get(0).init_point().x = 2.5;
    ps.get(1).set_number(9n);
    const mat = m.init_matrix(1);
    void mat;
    const n = m.finish();
    const v = Everything.view(buf, 0, n);
    expect(v.verify()).toBeNull();
    expect(v.payload.text).toBe('hi');
    expect(v.payloads.get(0).point!.x).toBe(2.5);
    expect(v.payloads.get(1).kind).toBe('number');
    expect(v.toJSON().payloads).toEqual([{ point: { x: 2.5, y: 0, flag: false } }, { number: '9' }]);
    expect(Payload.CASES).toContain('list');
  });

  it('refuse variable-size writes on a read-only view', () => {
    const v = BookUpdate.view(new Uint8Array(readFileSync(join(ROOT, 'schemas/testdata/market/book_full.bin'))));
    expect(() => v.set_symbol('nope')).toThrow(/read-only/);
  });
});
