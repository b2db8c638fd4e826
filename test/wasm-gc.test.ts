/**
 * `--emit wasm-gc` (docs/layout.md §9 "WasmGC"): the generated modules validate and run in
 * V8 (this process) and in wasmtime with GC enabled (the Python `wasmtime` package, through
 * test/wasm-gc/wasmtime_run.py). Every golden vector is materialized into GC structs and
 * written back to identical bytes in both engines; the structs' values equal the vector's
 * JSON value; hostile inputs are rejected (never a trap) with the same first error code,
 * offset and value as the TypeScript verify().
 *
 * Without the venv (node scripts/python-env.mjs) the wasmtime half skips, except with
 * CI=true, where it fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode, toJSON, verify, type StructLayout, type TypeLayout } from '@isthmus/runtime';
import { compileFile, typeTable } from '@isthmus/schema';
import { beforeAll, describe, expect, it } from 'vitest';
import { goldenVectors, ROOT } from '../scripts/goldens.ts';
import { pythonPath } from './python.ts';
import { gcToJson, loadCodec, WA, type Codec } from './wasm-gc/v8.ts';
import { CI } from './ci.ts';

const CODES: Record<string, number> = {
  TRUNCATED: 1, BAD_TYPE_ID: 2, BAD_HEADER: 3, BAD_BOOL: 4, BAD_ENUM: 5, BAD_REF: 6, OUT_OF_BOUNDS: 7, BAD_UTF8: 8, BAD_UNION: 9,
};
const BAD_LENGTH = 10;
const CAPACITY = 11;
const BAD_REGION = 12;
const PAGES = 4;
const MEM = PAGES * 65536;
const SRC = 8;
const DST = MEM / 2;

const vectors = goldenVectors();
const tables = new Map<string, Map<string, TypeLayout>>();
const tableFor = (schema: string) => {
  if (!tables.has(schema)) tables.set(schema, typeTable(compileFile(join(ROOT, 'schemas', schema))));
  return tables.get(schema)!;
};
const codecs = new Map<string, Codec>();
const codecFor = (schema: string): Codec => {
  if (!codecs.has(schema)) codecs.set(schema, loadCodec(ROOT, schema, PAGES));
  return codecs.get(schema)!;
};
const shortName = (type: string) => type.slice(type.lastIndexOf('.') + 1);
const binOf = (p: string) => new Uint8Array(readFileSync(p));
const encodeWith = (schema: string, type: string, value: Record<string, unknown>): Uint8Array => {
  const out = new Uint8Array(1 << 16);
  return out.slice(0, encode(tableFor(schema), type, value, out));
};

/** Runs roundtrip_M in V8 the way wasmtime_run.py does: fresh memory, input at `src`. */
function roundtripV8(c: Codec, message: string, input: Uint8Array, o: { src?: number; len?: number; dst?: number; cap?: number; fill?: number } = {}) {
  const src = o.src ?? SRC;
  c.mem.fill(o.fill ?? 0);
  c.mem.set(input, src);
  const rc = c.fn(`roundtrip_${message}`)(src, o.len ?? input.length, o.dst ?? DST, o.cap ?? MEM / 2) as number;
  return { rc, ...c.error(), out: rc > 0 ? c.mem.slice(o.dst ?? DST, (o.dst ?? DST) + rc) : new Uint8Array() };
}

// --- hostile inputs -----------------------------------------------------------------------

interface Hostile {
  readonly name: string;
  readonly schema: string;
  readonly type: string;
  readonly bytes: Uint8Array;
  readonly src?: number;
  readonly len?: number;
  /** Expected (code, offset, value): TS verify()'s, or the codec's own for region errors. */
  readonly expect: { code: number; offset: number; value: bigint } | null;
}

const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
function expectedOf(schema: string, type: string, b: Uint8Array, len = b.length): Hostile['expect'] {
  const e = verify(tableFor(schema), type, b, 0, len);
  return e ? { code: CODES[e.code]!, offset: e.offset, value: BigInt.asIntN(64, BigInt(e.value)) } : null;
}
function fieldAt(schema: string, type: string, name: string): number {
  const f = (tableFor(schema).get(type) as StructLayout).fields.find((x) => x.name === name)!;
  return 16 + f.offset;
}

/** Deterministic mutations of a valid message, each checked against TS verify(). */
function hostileCases(): Hostile[] {
  const out: Hostile[] = [];
  const add = (name: string, schema: string, type: string, bytes: Uint8Array, len?: number) =>
    out.push({ name, schema, type, bytes, len, expect: expectedOf(schema, type, bytes, len ?? bytes.length) });
  const mutate = (b: Uint8Array, f: (d: DataView, u: Uint8Array) => void) => {
    const c = b.slice();
    f(dv(c), c);
    return c;
  };
  const M = 'market.isthmus';
  const BU = 'market.BookUpdate';
  const book = binOf(join(ROOT, 'schemas/testdata/market/book_full.bin'));
  const sym = fieldAt(M, BU, 'symbol');
  const bids = fieldAt(M, BU, 'bids');
  const symOff = dv(book).getUint32(sym, true);
  add('empty buffer', M, BU, new Uint8Array(0));
  add('15 bytes', M, BU, book.slice(0, 15));
  add('truncated below total_size', M, BU, book.slice(0, book.length - 8));
  add('total_size one past the buffer', M, BU, book, book.length - 1);
  add('bad type id', M, BU, mutate(book, (d) => d.setUint8(0, d.getUint8(0) ^ 1)));
  add('total_size not a multiple of 8', M, BU, mutate(book, (d) => d.setUint32(8, book.length - 1, true)));
  add('fixed_size not a multiple of 8', M, BU, mutate(book, (d) => d.setUint16(12, 66, true)));
  add('fixed part past total_size', M, BU, mutate(book, (d) => d.setUint16(12, book.length, true)));
  add('version 0', M, BU, mutate(book, (d) => d.setUint8(14, 0)));
  add('flags set', M, BU, mutate(book, (d) => d.setUint8(15, 4)));
  add('fixed_size below version 1', M, BU, mutate(book, (d) => d.setUint16(12, 8, true)));
  add('bad enum', M, BU, mutate(book, (d) => d.setUint8(fieldAt(M, BU, 'side'), 7)));
  add('misaligned string offset', M, BU, mutate(book, (d) => d.setUint32(sym, symOff + 1, true)));
  add('string offset past the end', M, BU, mutate(book, (d) => d.setUint32(sym, book.length, true)));
  add('string offset inside the fixed part', M, BU, mutate(book, (d) => d.setUint32(sym, 16, true)));
  add('string count 2^32-1 (overflow)', M, BU, mutate(book, (d) => d.setUint32(sym + 4, 0xffffffff, true)));
  add('empty string with an offset', M, BU, mutate(book, (d) => d.setUint32(sym + 4, 0, true)));
  add('vector count 2^29 (stride overflow)', M, BU, mutate(book, (d) => d.setUint32(bids + 4, 0x20000000, true)));
  add('bad UTF-8: 0xff', M, BU, mutate(book, (_d, u) => (u[symOff + 2] = 0xff)));
  add('bad UTF-8: overlong', M, BU, mutate(book, (_d, u) => u.set([0xc0, 0x80], symOff + 1)));
  add('bad UTF-8: surrogate', M, BU, mutate(book, (_d, u) => u.set([0xed, 0xa0, 0x80], symOff + 1)));
  add('bad UTF-8: truncated sequence', M, BU, mutate(book, (_d, u) => u.set([0xe2, 0x82], symOff + 4)));
  add('bad UTF-8: above U+10FFFF', M, BU, mutate(book, (_d, u) => u.set([0xf4, 0x90, 0x80, 0x80], symOff + 1)));

  const K = 'kitchen.isthmus';
  const EV = 'kitchen.Everything';
  const full = binOf(join(ROOT, 'schemas/testdata/kitchen/everything_full.bin'));
  const pay = fieldAt(K, EV, 'payload');
  add('bad bool', K, EV, mutate(full, (d) => d.setUint8(fieldAt(K, EV, 'b'), 2)));
  add('bad u32 enum', K, EV, mutate(full, (d) => d.setUint32(fieldAt(K, EV, 'wide'), 3, true)));
  add('bad i16 enum', K, EV, mutate(full, (d) => d.setInt16(fieldAt(K, EV, 'level'), -2, true)));
  add('union tag past the cases', K, EV, mutate(full, (d) => d.setUint32(pay, 99, true)));
  add('union tag 0 with an offset', K, EV, mutate(full, (d) => d.setUint32(pay, 0, true)));
  add('misaligned union offset', K, EV, mutate(full, (d) => d.setUint32(pay + 4, d.getUint32(pay + 4, true) + 4, true)));
  add('union value past the end', K, EV, mutate(full, (d) => d.setUint32(pay + 4, full.length - 8, true)));

  // Random byte flips of every vector: whatever verify() says, the codec says the same.
  let seed = 0x9e3779b9;
  const rnd = (n: number) => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return seed % n;
  };
  for (const v of vectors) {
    const bin = binOf(v.binPath);
    for (let k = 0; k < 60; k++) {
      const c = bin.slice();
      const flips = 1 + rnd(3);
      for (let j = 0; j < flips; j++) c[rnd(c.length)] = rnd(4) === 0 ? 0xff : rnd(256);
      add(`${v.name} random flip ${k}`, v.reader, v.type, c);
    }
  }
  return out;
}

const hostile = hostileCases();
const regionCases = [
  { name: 'unaligned ptr', src: SRC + 4 },
  { name: 'region past the end of memory', src: MEM - 64 },
];

// --- V8 -----------------------------------------------------------------------------------

describe('wasm-gc modules in V8', () => {
  it('validate, and match the goldens on disk', () => {
    for (const s of ['common', 'market', 'kitchen']) {
      const c = codecFor(`${s}.isthmus`);
      expect(WA.validate(c.wasm), s).toBe(true);
      expect(Buffer.compare(Buffer.from(c.wasm), readFileSync(join(ROOT, `schemas/generated/wasm-gc/${s}.wasm`))), s).toBe(0);
      expect(c.wat.match(/\(rec\b/g)?.length, `${s}: one rec group`).toBe(1);
    }
  });

  describe.each(vectors.map((v) => [v.name, v] as const))('vector %s', (_n, v) => {
    const bin = binOf(v.binPath);
    const msg = shortName(v.type);

    it('materializes and writes back identical bytes (writer schema)', () => {
      const c = codecFor(v.writer);
      const r = roundtripV8(c, msg, bin);
      expect(r.code, `last_error ${r.code} at ${r.offset} value ${r.value}`).toBe(0);
      expect(r.rc).toBe(bin.length);
      expect(r.out).toEqual(bin);
      // write_M on its own, into a buffer with sentinels around it.
      c.mem.fill(0);
      c.mem.set(bin, SRC);
      const s = c.read(msg, SRC, bin.length);
      expect(s).not.toBeNull();
      c.mem.fill(0xa5, DST - 8, DST + bin.length + 16);
      expect(c.write(msg, s!, DST, bin.length)).toBe(bin.length);
      expect(c.mem.slice(DST, DST + bin.length)).toEqual(bin);
      expect(c.mem[DST - 1]).toBe(0xa5);
      expect(c.mem[DST + bin.length]).toBe(0xa5);
    });

    it('holds the JSON value in its GC structs (reader schema), and writes the reader\'s canonical bytes', () => {
      const c = codecFor(v.reader);
      c.mem.fill(0);
      c.mem.set(bin, SRC);
      const s = c.read(msg, SRC, bin.length);
      expect(s, `last_error ${JSON.stringify(c.error(), (_k, x) => (typeof x === 'bigint' ? x.toString() : x))}`).not.toBeNull();
      const json = gcToJson(c, v.type, s!);
      expect(json).toEqual(toJSON(tableFor(v.reader), v.type, bin));
      for (const [k, val] of Object.entries(v.value)) expect(json[k], k).toEqual(val);
      const want = encodeWith(v.reader, v.type, v.value);
      const n = c.write(msg, s!, DST, MEM / 2);
      expect(c.mem.slice(DST, DST + n)).toEqual(want);
    });
  });

  it('read BookUpdate field by field', () => {
    const c = codecFor('market.isthmus');
    const bin = binOf(join(ROOT, 'schemas/testdata/market/book_full.bin'));
    c.mem.set(bin, SRC);
    const m = c.read('BookUpdate', SRC, bin.length)!;
    const g = (t: string, f: string, o: object) => c.fn(`market.${t}.${f}`)(o);
    expect(g('BookUpdate', 'seq', m)).toBe(9007199254740993n);
    expect(g('BookUpdate', 'side', m)).toBe(1);
    expect(c.fn('bytes.len')(g('BookUpdate', 'symbol', m))).toBe(6);
    const bids = g('BookUpdate', 'bids', m) as object;
    expect(c.fn('arr_market.Level.len')(bids)).toBe(3);
    const lvl = c.fn('arr_market.Level.get')(bids, 2) as object;
    expect(BigInt.asUintN(64, g('Level', 'qty', lvl) as bigint)).toBe(18446744073709551615n);
    expect((g('Level', 'orders', lvl) as number) >>> 0).toBe(4294967295);
    expect(g('Price', 'exponent', g('Level', 'price', lvl) as object)).toBe(-5);
    expect(g('BookUpdate', 'has_trade_id', m)).toBe(1);
    expect(g('BookUpdate', 'trade_id', m)).toBe(77n);
  });

  it('rejects hostile inputs with verify()\'s first error, without trapping', () => {
    expect(hostile.filter((h) => h.expect).length).toBeGreaterThan(100);
    for (const h of hostile) {
      const c = codecFor(h.schema);
      const r = roundtripV8(c, shortName(h.type), h.bytes, { len: h.len });
      if (h.expect) expect({ rc: r.rc, code: r.code, offset: r.offset, value: r.value }, h.name).toEqual({ rc: -1, ...h.expect });
      else expect(r.rc, `${h.name}: valid per verify() (last_error ${r.code})`).toBeGreaterThan(0);
    }
  });

  it('rejects a region outside the memory or not 8-aligned', () => {
    const c = codecFor('market.isthmus');
    const bin = binOf(join(ROOT, 'schemas/testdata/market/book_full.bin'));
    for (const rc of regionCases) {
      c.mem.fill(0);
      const p = Math.min(rc.src, MEM - bin.length);
      c.mem.set(bin, p);
      expect(c.fn('roundtrip_BookUpdate')(rc.src, bin.length, DST, 1024), rc.name).toBe(-1);
      expect(c.error(), rc.name).toEqual({ code: BAD_REGION, offset: 0, value: BigInt(rc.src) });
    }
    expect(c.fn('read_BookUpdate')(SRC, 0xffffffff | 0)).toBeNull();
    expect(c.error().code).toBe(BAD_REGION);
  });

  it('write refuses a capacity that is too small and writes nothing past it', () => {
    const c = codecFor('market.isthmus');
    const bin = binOf(join(ROOT, 'schemas/testdata/market/book_full.bin'));
    for (const cap of [0, 8, 87, 88, 100, 200, bin.length - 8, bin.length - 1]) {
      const r = roundtripV8(c, 'BookUpdate', bin, { cap, fill: 0xa5 });
      expect(r.rc, `cap ${cap}`).toBe(-1);
      expect(r.code, `cap ${cap}`).toBe(CAPACITY);
      expect(r.value, `cap ${cap}: bytes needed`).toBeGreaterThan(BigInt(cap));
      expect(c.mem.subarray(DST + cap, DST + cap + 64).every((b) => b === 0xa5), `cap ${cap}`).toBe(true);
      expect(c.mem[DST - 1]).toBe(0xa5);
    }
  });

  it('write refuses values that have no encoding', () => {
    const c = codecFor('kitchen.isthmus');
    const bin = binOf(join(ROOT, 'schemas/testdata/kitchen/everything_full.bin'));
    const fresh = () => {
      c.mem.fill(0);
      c.mem.set(bin, SRC);
      return c.read('Everything', SRC, bin.length)!;
    };
    const set = (f: string, o: object, x: unknown) => c.fn(`kitchen.Everything.set_${f}`)(o, x);
    const get = (f: string, o: object) => c.fn(`kitchen.Everything.${f}`)(o);
    const expectFail = (o: object, code: number, field: string) => {
      expect(c.write('Everything', o, DST, MEM / 2)).toBe(-1);
      const e = c.error();
      expect(e.code).toBe(code);
      expect(e.offset).toBe(fieldAt('kitchen.isthmus', 'kitchen.Everything', field));
      return e;
    };
    let m = fresh();
    set('color', m, 3);
    expect(expectFail(m, CODES.BAD_ENUM!, 'color').value).toBe(3n);
    m = fresh();
    c.fn('kitchen.Payload.set_tag')(get('payload', m), 6);
    expect(expectFail(m, CODES.BAD_UNION!, 'payload').value).toBe(6n);
    m = fresh();
    set('labels', m, get('words', m)); // 3 strings for a [string; 2]
    expect(expectFail(m, BAD_LENGTH, 'labels').value).toBe(3n);
    m = fresh();
    set('name', m, get('blob', m)); // bytes 00 01 02 03 ff: not UTF-8
    expectFail(m, CODES.BAD_UTF8!, 'name');
    m = fresh();
    set('b', m, 7); // any non-zero bool writes as 1
    const n = c.write('Everything', m, DST, MEM / 2);
    expect(n).toBe(bin.length);
    expect(c.mem.slice(DST, DST + n)).toEqual(bin);
  });
});

// --- wasmtime -----------------------------------------------------------------------------

const python = pythonPath();
const wasmtimeReason = (() => {
  if (!python) return 'the Python venv is missing (run: node scripts/python-env.mjs)';
  const r = spawnSync(python, ['-c', 'import wasmtime'], { encoding: 'utf8' });
  return r.status === 0 ? null : `python can not import wasmtime: ${r.stderr.trim().split('\n').pop()}`;
})();

describe('wasm-gc modules in wasmtime (GC enabled)', () => {
  if (wasmtimeReason && CI) {
    it('has its dependency (CI=true)', () => {
      throw new Error(`wasmtime tests can not run: ${wasmtimeReason}`);
    });
    return;
  }
  if (wasmtimeReason) {
    it.skip(`skipped: ${wasmtimeReason}`, () => {});
    return;
  }

  interface CaseResult { rc: number | null; code: number | null; offset: number | null; value: string | null; out: string; trap: string | null; window?: string }
  let results: CaseResult[] = [];
  let harness: (string | null)[] = [];
  const schemaKey = (s: string) => s.replace(/[^a-z0-9]/gi, '_');
  const cases: { name: string; module: string; message: string; input: Uint8Array; src?: number; len?: number; cap?: number; fill?: number; check: (r: CaseResult) => void }[] = [];
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  const book = binOf(join(ROOT, 'schemas/testdata/market/book_full.bin'));

  for (const v of vectors) {
    const bin = binOf(v.binPath);
    cases.push({ name: `${v.name} (writer schema)`, module: schemaKey(v.writer), message: shortName(v.type), input: bin, check: (r) => {
      expect(r.trap).toBeNull();
      expect(r.code).toBe(0);
      expect(Buffer.from(r.out, 'base64')).toEqual(Buffer.from(bin));
    } });
    cases.push({ name: `${v.name} (reader schema)`, module: schemaKey(v.reader), message: shortName(v.type), input: bin, check: (r) => {
      expect(r.trap).toBeNull();
      expect(Buffer.from(r.out, 'base64')).toEqual(Buffer.from(encodeWith(v.reader, v.type, v.value)));
    } });
  }
  for (const h of hostile) {
    cases.push({ name: h.name, module: schemaKey(h.schema), message: shortName(h.type), input: h.bytes, len: h.len, check: (r) => {
      expect(r.trap).toBeNull();
      if (h.expect) expect({ rc: r.rc, code: r.code, offset: r.offset, value: BigInt(r.value!) }).toEqual({ rc: -1, ...h.expect });
      else expect(r.rc).toBeGreaterThan(0);
    } });
  }
  for (const rc of regionCases) {
    cases.push({ name: rc.name, module: 'market_isthmus', message: 'BookUpdate', input: new Uint8Array(), src: rc.src, len: book.length, check: (r) => {
      expect(r.trap).toBeNull();
      expect([r.rc, r.code, r.offset, r.value]).toEqual([-1, BAD_REGION, 0, String(rc.src)]);
    } });
  }
  for (const cap of [0, 88, 200, book.length - 1]) {
    cases.push({ name: `capacity ${cap}`, module: 'market_isthmus', message: 'BookUpdate', input: book, cap, fill: 0xa5, check: (r) => {
      expect(r.trap).toBeNull();
      expect([r.rc, r.code]).toEqual([-1, CAPACITY]);
      const w = Buffer.from(r.window!, 'base64');
      expect(w.subarray(0, 8).every((b) => b === 0xa5)).toBe(true);
      expect(w.subarray(8 + cap).every((b) => b === 0xa5)).toBe(true);
    } });
  }

  /** A module in the WasmGC style of a language that imports the codec: the rec group copied from market.wat. */
  const harnessWat = (marketWat: string): string => {
    const start = marketWat.indexOf('  (rec\n');
    const end = marketWat.indexOf('\n  )\n', start) + 4;
    const read = '(call $read (local.get 0) (local.get 1))';
    const m = `(ref.as_non_null ${read})`;
    const level = (side: string) => `(array.get $arr_market.Level (struct.get $market.BookUpdate $${side} ${m}) (local.get 2))`;
    return `(module
${marketWat.slice(start, end)}
  (import "market_isthmus" "read_BookUpdate" (func $read (param i32 i32) (result (ref null $market.BookUpdate))))
  (func (export "seq") (param i32 i32) (result i64) (struct.get $market.BookUpdate $seq ${m}))
  (func (export "side") (param i32 i32) (result i32) (struct.get $market.BookUpdate $side ${m}))
  (func (export "symbol_len") (param i32 i32) (result i32) (array.len (struct.get $market.BookUpdate $symbol ${m})))
  (func (export "symbol_byte") (param i32 i32 i32) (result i32) (array.get_u $bytes (struct.get $market.BookUpdate $symbol ${m}) (local.get 2)))
  (func (export "bids") (param i32 i32) (result i32) (array.len (struct.get $market.BookUpdate $bids ${m})))
  (func (export "bid_qty") (param i32 i32 i32) (result i64) (struct.get $market.Level $qty ${level('bids')}))
  (func (export "ask_exponent") (param i32 i32 i32) (result i32) (struct.get_s $market.Price $exponent (struct.get $market.Level $price ${level('asks')})))
  (func (export "has_trade_id") (param i32 i32) (result i32) (struct.get_u $market.BookUpdate $has_trade_id ${m}))
  (func (export "trade_id") (param i32 i32) (result i64) (struct.get $market.BookUpdate $trade_id ${m}))
  (func (export "is_null") (param i32 i32) (result i32) (ref.is_null ${read}))
)`;
  };
  const L = book.length;
  const harnessCalls: [string, unknown[]][] = [
    ['@load', [b64(book), SRC]],
    ['seq', [SRC, L]], ['side', [SRC, L]], ['symbol_len', [SRC, L]],
    ...[0, 1, 2, 3, 4, 5].map((i): [string, unknown[]] => ['symbol_byte', [SRC, L, i]]),
    ['bids', [SRC, L]], ['bid_qty', [SRC, L, 2]], ['ask_exponent', [SRC, L, 1]], ['has_trade_id', [SRC, L]], ['trade_id', [SRC, L]],
    ['is_null', [SRC, L - 8]],
  ];

  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-wasmgc-'));
    const modules: Record<string, string> = {};
    for (const s of new Set(vectors.flatMap((v) => [v.writer, v.reader]))) {
      const p = join(dir, `${schemaKey(s)}.wasm`);
      writeFileSync(p, codecFor(s).wasm);
      modules[schemaKey(s)] = p;
    }
    const plan = {
      modules, memory_pages: PAGES,
      cases: cases.map((c) => ({ module: c.module, message: c.message, input: b64(c.input), src: c.src, len: c.len, cap: c.cap, fill: c.fill, dst: DST })),
      harness: { wat: harnessWat(codecFor('market.isthmus').wat), calls: harnessCalls },
    };
    const r = spawnSync(python!, [join(ROOT, 'test/wasm-gc/wasmtime_run.py')], { input: JSON.stringify(plan, (_k, x) => (x === undefined ? undefined : x)), encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`wasmtime_run.py failed (exit ${r.status}): ${r.stderr}`);
    const parsed = JSON.parse(r.stdout) as { cases: CaseResult[]; harness: (string | null)[] };
    results = parsed.cases;
    harness = parsed.harness;
  });

  it('round-trips every golden vector and rejects every hostile input like verify(), without trapping', () => {
    expect(results.length).toBe(cases.length);
    const failures: string[] = [];
    cases.forEach((c, i) => {
      try {
        c.check(results[i]!);
      } catch (e) {
        failures.push(`${c.name}: ${(e as Error).message.split('\n')[0]} (${JSON.stringify({ ...results[i], out: undefined, window: undefined })})`);
      }
    });
    expect(failures).toEqual([]);
  });

  it('links into a module that imports read_BookUpdate with the copied rec group and reads its fields', () => {
    const value = JSON.parse(readFileSync(join(ROOT, 'schemas/testdata/market/book_full.json'), 'utf8')).value;
    const [, seq, side, symLen, ...rest] = harness;
    expect(BigInt(seq!)).toBe(BigInt(value.seq));
    expect(side).toBe('1');
    expect(Number(symLen)).toBe(value.symbol.length);
    const symBytes = rest.slice(0, 6).map(Number);
    expect(Buffer.from(symBytes).toString('utf8')).toBe(value.symbol);
    const [bids, bidQty, askExp, hasTrade, tradeId, isNull] = rest.slice(6);
    expect(Number(bids)).toBe(value.bids.length);
    expect(BigInt.asUintN(64, BigInt(bidQty!))).toBe(BigInt(value.bids[2].qty));
    expect(Number(askExp)).toBe(value.asks[1].price.exponent);
    expect(hasTrade).toBe('1');
    expect(BigInt(tradeId!)).toBe(BigInt(value.trade_id));
    expect(isNull).toBe('1');
  });
});
