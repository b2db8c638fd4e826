/**
 * Per-message cost of an in-place read of market.BookUpdate (schemas/testdata/market/
 * book_full.bin): the generated AssemblyScript view (wasm/as/test/bench.ts, a loop inside
 * wasm) against the generated TypeScript view (schemas/generated/ts/market.ts), in one run.
 * Each read: wrap the view, read seq, ts_ns, instrument_id, side and every field of every
 * bid and ask level (price.mantissa, price.exponent, qty, orders). Strings are not decoded.
 *
 *   npx tsc -b && npx node bench/wasm/as.bench.ts [--quick]
 *
 * Writes bench/results/wasm-as.json: { results: [{ system, scenario, payload, ns_per_op }] },
 * ns_per_op the median over rounds.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BookUpdate } from '../../schemas/generated/ts/market.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 7 : 21;
const ITERS = QUICK ? 200_000 : 1_000_000;
const WA = (globalThis as unknown as { WebAssembly: { instantiate(b: Uint8Array, i: object): Promise<{ instance: { exports: unknown } }> } }).WebAssembly;

const out = join(ROOT, 'wasm', 'as', 'build', 'bench.wasm');
mkdirSync(join(ROOT, 'wasm', 'as', 'build'), { recursive: true });
const asc = spawnSync(process.execPath, [join(ROOT, 'node_modules/assemblyscript/bin/asc.js'), join(ROOT, 'wasm/as/test/bench.ts'), '-o', out, '-O3', '--noAssert', '--runtime', 'incremental'], { encoding: 'utf8' });
if (asc.status !== 0) throw new Error(`asc failed: ${asc.stdout}${asc.stderr}`);

const bin = readFileSync(join(ROOT, 'schemas/testdata/market/book_full.bin'));
const { instance } = await WA.instantiate(readFileSync(out), { env: { abort: () => { throw new Error('abort'); } } });
const ex = instance.exports as { memory: { buffer: ArrayBuffer }; alloc(n: number): number; read(p: number, n: number, iters: number): bigint };
const p = ex.alloc(bin.length + 8);
new Uint8Array(ex.memory.buffer, p, bin.length).set(bin);

const buf = new ArrayBuffer(bin.length);
new Uint8Array(buf).set(bin);
const view = BookUpdate.view(buf);
function tsRead(iters: number): bigint {
  let sum = 0n;
  for (let k = 0; k < iters; k++) {
    view.wrap(buf);
    sum += view.seq + view.ts_ns + BigInt(view.instrument_id + view.side);
    const bids = view.bids;
    for (let i = 0; i < bids.length; i++) {
      const l = bids.get(i);
      sum += l.price.mantissa + BigInt(l.price.exponent) + l.qty + BigInt(l.orders);
    }
    const asks = view.asks;
    for (let i = 0; i < asks.length; i++) {
      const l = asks.get(i);
      sum += l.price.mantissa + BigInt(l.price.exponent) + l.qty + BigInt(l.orders);
    }
  }
  return sum;
}

const asSum = BigInt.asUintN(64, ex.read(p, bin.length, 1));
const tsSum = BigInt.asUintN(64, tsRead(1));
if (asSum !== tsSum) throw new Error(`checksums differ: as ${asSum}, ts ${tsSum}`);

const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
const time = (f: () => void): number => {
  const t = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t) / ITERS;
};
tsRead(ITERS / 4);
ex.read(p, bin.length, ITERS / 4);
const asT: number[] = [];
const tsT: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  asT.push(time(() => ex.read(p, bin.length, ITERS)));
  tsT.push(time(() => tsRead(ITERS)));
}
const results = [
  { system: 'as-read', scenario: 'inplace-read', payload: bin.length, ns_per_op: +median(asT).toFixed(2) },
  { system: 'ts-read', scenario: 'inplace-read', payload: bin.length, ns_per_op: +median(tsT).toFixed(2) },
];
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'wasm-as.json'), JSON.stringify({ results }, null, 2) + '\n');
for (const r of results) console.log(`${r.system.padEnd(8)} ${r.scenario} ${r.payload} B: ${r.ns_per_op} ns/op (median of ${ROUNDS} x ${ITERS})`);
