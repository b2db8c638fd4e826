/**
 * Component-call benchmark: the cost of handing an Isthmus view to a WebAssembly component
 * through jco's canonical-ABI bindings, against a plain TS function doing the same
 * computation on the view.
 *
 *   npx tsc -b                                         # once: builds the packages
 *   npx node bench/wasm/component.bench.ts             # full run (~1 min on 2 cores)
 *   npx node bench/wasm/component.bench.ts --quick     # smoke run (< 30 s)
 *
 * Cases (scenario "call"; payload = bytes of Isthmus data the call reads):
 *   - market.Level (32 B, fixed-size): jco-component-call = notional(levelToWit(view)), the
 *     component multiplies mantissa × qty; ts-call = notionalOnView(view).
 *   - market.BookUpdate with 0, 4 and 32 levels per side (payload = the message's
 *     total_size): jco-component-call = summarize(bookUpdateToWit(view)), i.e. the view read
 *     into JS values (strings decoded, one object per level), jco lowering them into the
 *     component's memory (strings re-encoded, lists stored element by element), the core
 *     function, and the lift of the 64-byte result record; ts-call = summarizeOnView(view),
 *     the same statistics read in place.
 * Both sides are checked to agree before timing. Median of interleaved rounds, ns/op.
 *
 * Writes bench/results/wasm-component.json:
 *   { "results": [ { "system", "scenario": "call", "payload", "ns_per_op" } ], … }
 * (--out <file> writes elsewhere). Only erasable TypeScript: Node 24 runs it as is.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { BookUpdate, Level } from '../../schemas/generated/ts/market.ts';
import { buildBookStats } from '../../wasm/component/build.ts';
import { bookUpdateToWit, levelToWit, notionalOnView, summarizeOnView, type BookStats } from '../../wasm/component/host.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const outAt = argv.indexOf('--out');
const OUT = outAt >= 0 && argv[outAt + 1] ? path.resolve(argv[outAt + 1]!) : path.join(ROOT, 'bench', 'results', 'wasm-component.json');
const T = QUICK ? { warmMs: 80, batchMs: 15, rounds: 7 } : { warmMs: 400, batchMs: 50, rounds: 21 };

const built = await buildBookStats(path.join(ROOT, 'bench', 'results', 'tmp', 'wasm-component'));
const stats = (await import(pathToFileURL(built.js).href)) as BookStats;

/** A canonical BookUpdate with `n` levels per side, in its own buffer. */
function message(n: number): BookUpdate {
  const buf = new Uint8Array(1 << 16);
  const m = BookUpdate.builder(buf);
  m.seq = 123456789n;
  m.ts_ns = 1_700_000_000_000_000_000n;
  m.instrument_id = 42;
  m.side = 1;
  m.set_symbol('EURUSD');
  m.set_venue('XLON');
  for (const v of [m.init_bids(n), m.init_asks(n)]) {
    for (let i = 0; i < n; i++) {
      const l = v.get(i);
      l.price.mantissa = 1_085_000n + BigInt(i);
      l.price.exponent = -6;
      l.qty = 1_000_000n * BigInt(i + 1);
      l.orders = i + 1;
    }
  }
  m.trade_id = 777n;
  const size = m.finish();
  return BookUpdate.view(buf, 0, size);
}

interface Case {
  system: 'jco-component-call' | 'ts-call';
  payload: number;
  label: string;
  loop(n: number): void;
}
let sink: unknown;
const cases: Case[] = [];

{
  const u = message(1);
  const level = u.bids.get(0);
  const a = stats.notional(levelToWit(level));
  const b = notionalOnView(level);
  if (a !== b) throw new Error(`notional differs: component ${a}, TS ${b}`);
  cases.push(
    { system: 'jco-component-call', payload: Level.SIZE, label: 'Level notional', loop: (n) => { for (let i = 0; i < n; i++) sink = stats.notional(levelToWit(level)); } },
    { system: 'ts-call', payload: Level.SIZE, label: 'Level notional', loop: (n) => { for (let i = 0; i < n; i++) sink = notionalOnView(level); } },
  );
}
for (const n of [0, 4, 32]) {
  const u = message(n);
  const payload = u.bytes().length;
  const a = stats.summarize(bookUpdateToWit(u));
  const b = summarizeOnView(u);
  if (!isDeepStrictEqual(a, b)) throw new Error(`summarize differs for ${n} levels: component ${String(JSON.stringify(a, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)))}`);
  cases.push(
    { system: 'jco-component-call', payload, label: `BookUpdate ${n}+${n} levels summarize`, loop: (k) => { for (let i = 0; i < k; i++) sink = stats.summarize(bookUpdateToWit(u)); } },
    { system: 'ts-call', payload, label: `BookUpdate ${n}+${n} levels summarize`, loop: (k) => { for (let i = 0; i < k; i++) sink = summarizeOnView(u); } },
  );
}

function timeBatch(c: Case, n: number): number {
  const t0 = process.hrtime.bigint();
  c.loop(n);
  return Number(process.hrtime.bigint() - t0) / n;
}
function calibrate(c: Case): number {
  let n = 16;
  for (;;) {
    const ns = timeBatch(c, n) * n;
    if (ns >= T.batchMs * 1e6 * 0.25 || n >= 1 << 24) return Math.max(1, Math.ceil((n * T.batchMs * 1e6) / Math.max(ns, 1)));
    n *= 2;
  }
}
const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const batch = new Map<Case, number>();
for (const c of cases) {
  const t = performance.now();
  while (performance.now() - t < T.warmMs) c.loop(64);
  batch.set(c, calibrate(c));
}
const samples = new Map<Case, number[]>(cases.map((c) => [c, []]));
for (let r = 0; r < T.rounds; r++) {
  for (let k = 0; k < cases.length; k++) {
    const c = cases[(k + r) % cases.length]!;
    samples.get(c)!.push(timeBatch(c, batch.get(c)!));
  }
}
void sink;

const results = cases.map((c) => ({ system: c.system, scenario: 'call', payload: c.payload, ns_per_op: Math.round(median(samples.get(c)!) * 10) / 10 }));
console.log(`Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cores), ${QUICK ? 'quick' : 'full'} run, ${T.rounds} rounds, median ns/op`);
console.log('| case | payload B | jco-component-call | ts-call | ratio |');
console.log('|---|---|---|---|---|');
for (let i = 0; i < cases.length; i += 2) {
  const j = results[i]!;
  const t = results[i + 1]!;
  console.log(`| ${cases[i]!.label} | ${j.payload} | ${j.ns_per_op} | ${t.ns_per_op} | ${(j.ns_per_op / t.ns_per_op).toFixed(1)}× |`);
}
fs.mkdirSync(path.dirname(OUT), { recursive: true });
fs.writeFileSync(
  OUT,
  JSON.stringify({ results, mode: QUICK ? 'quick' : 'full', node: process.version, cpu: os.cpus()[0]?.model ?? null, cores: os.cpus().length, component_bytes: built.bytes }, null, 2) + '\n',
);
console.log(`wrote ${path.relative(ROOT, OUT)}`);
