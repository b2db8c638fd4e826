/**
 * WasmGC codec benchmark: per-message cost of the `--emit wasm-gc` module's read_BookUpdate
 * (verify + materialize GC structs from linear memory) and write_BookUpdate (canonical
 * encode of those structs), against the TypeScript view read (verify() then every field,
 * strings decoded) and the generated TS builder encode of the same message, the
 * market.BookUpdate golden vector (schemas/testdata/market/book_full), in one run.
 *
 *   npx tsc -b                                      # once: packages/*\/dist
 *   npx node bench/wasm/gc.bench.ts [--quick] [--out FILE]
 *
 * Prints a table and writes { "results": [ { system, scenario: "codec", payload, ns_per_op } ] }
 * to bench/results/wasm-gc.json (or --out). Figures are medians over rounds of ns per message,
 * including the JS→wasm call for the WasmGC rows. --quick: fewer, shorter rounds (< 30 s).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadCodec } from '../../test/wasm-gc/v8.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const outAt = argv.indexOf('--out');
const OUT = outAt >= 0 ? argv[outAt + 1]! : join(ROOT, 'bench', 'results', 'wasm-gc.json');
const ROUNDS = QUICK ? 7 : 21;
const ROUND_MS = QUICK ? 150 : 400;

const { BookUpdate, Level } = await import('../../schemas/generated/ts/market.ts');
const bin = new Uint8Array(readFileSync(join(ROOT, 'schemas/testdata/market/book_full.bin')));
const value = JSON.parse(readFileSync(join(ROOT, 'schemas/testdata/market/book_full.json'), 'utf8')).value as {
  seq: string; ts_ns: string; instrument_id: number; side: string; symbol: string; venue: string;
  bids: { price: { mantissa: string; exponent: number }; qty: string; orders: number }[];
  asks: { price: { mantissa: string; exponent: number }; qty: string; orders: number }[];
  trade_id: string;
};

// WasmGC: the message at SRC of the module's memory, writes to DST.
const codec = loadCodec(ROOT, 'market.isthmus', 2);
const SRC = 64;
const DST = 65536;
codec.mem.set(bin, SRC);
const read = codec.fn('read_BookUpdate') as (p: number, n: number) => object | null;
const write = codec.fn('write_BookUpdate') as (v: object, p: number, c: number) => number;
const held = read(SRC, bin.length)!;
if (!held || write(held, DST, 4096) !== bin.length || Buffer.compare(Buffer.from(codec.mem.subarray(DST, DST + bin.length)), Buffer.from(bin)) !== 0) {
  throw new Error(`wasm-gc codec does not round-trip the golden vector (last_error ${String(codec.fn('last_error')())})`);
}

// TypeScript: a view over a copy of the message; the builder into its own buffer.
const tsBuf = new Uint8Array(bin.length);
tsBuf.set(bin);
const tsOut = new ArrayBuffer(4096);
const bigs = {
  seq: BigInt(value.seq), ts: BigInt(value.ts_ns), trade: BigInt(value.trade_id),
  levels: (side: 'bids' | 'asks') => value[side].map((l) => ({ m: BigInt(l.price.mantissa), e: l.price.exponent, q: BigInt(l.qty), o: l.orders })),
};
const levels = { bids: bigs.levels('bids'), asks: bigs.levels('asks') };

let sink = 0;
const cases: Record<string, () => void> = {
  'wasmgc-read': () => {
    if (read(SRC, bin.length) === null) throw new Error('read failed');
  },
  'wasmgc-write': () => {
    sink += write(held, DST, 4096);
  },
  'ts-view-read': () => {
    const m = BookUpdate.view(tsBuf);
    if (m.verify()) throw new Error('verify failed');
    let acc = Number(m.seq & 0xffn) + Number(m.ts_ns & 0xffn) + m.instrument_id + m.side + m.symbol.length + m.venue.length;
    for (const vec of [m.bids, m.asks]) {
      for (let i = 0; i < vec.length; i++) {
        const l = vec.get(i);
        acc += Number(l.price.mantissa & 0xffn) + l.price.exponent + Number(l.qty & 0xffn) + l.orders;
      }
    }
    if (m.has_trade_id) acc += Number(m.trade_id! & 0xffn);
    sink += acc;
  },
  'ts-encode': () => {
    const m = BookUpdate.builder(tsOut, 0, 4096);
    m.seq = bigs.seq;
    m.ts_ns = bigs.ts;
    m.instrument_id = value.instrument_id;
    m.side = 1;
    m.set_symbol(value.symbol);
    m.set_venue(value.venue);
    for (const side of ['bids', 'asks'] as const) {
      const ls = levels[side];
      const vec = side === 'bids' ? m.init_bids(ls.length) : m.init_asks(ls.length);
      const lv = new Level(m, 0);
      for (let i = 0; i < ls.length; i++) {
        const l = ls[i]!;
        vec.get(i, lv);
        lv.price.mantissa = l.m;
        lv.price.exponent = l.e;
        lv.qty = l.q;
        lv.orders = l.o;
      }
    }
    m.trade_id = bigs.trade;
    sink += m.finish();
  },
};

/** Median ns/op over ROUNDS timed rounds of a calibrated batch. */
function measure(f: () => void): number {
  let batch = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) f();
    const dt = performance.now() - t0;
    if (dt > 20) {
      batch = Math.max(1, Math.round((batch * ROUND_MS) / dt));
      break;
    }
    batch *= 2;
  }
  const per: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) f();
    per.push(((performance.now() - t0) * 1e6) / batch);
  }
  per.sort((a, b) => a - b);
  return per[per.length >> 1]!;
}

const results: { system: string; scenario: 'codec'; payload: number; ns_per_op: number }[] = [];
for (const [system, f] of Object.entries(cases)) {
  const ns = measure(f);
  results.push({ system, scenario: 'codec', payload: bin.length, ns_per_op: Math.round(ns * 10) / 10 });
  console.log(`${system.padEnd(14)} ${bin.length} B  ${ns.toFixed(1).padStart(8)} ns/op`);
}
if (sink === 42) console.log('');
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify({ results }, null, 2) + '\n');
console.log(`wrote ${OUT}`);
