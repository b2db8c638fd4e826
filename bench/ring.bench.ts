/**
 * Ring hot paths in one thread: what one message costs through each ring and through the
 * SDK's channel API, in ns and in bytes allocated on the JS heap. Both ends run in this
 * thread over one SharedArrayBuffer, so there is no cache-line transfer and no waiting:
 * the figure is the instruction cost of the protocol, the part cross-process latency
 * cannot go below. bytes/op proves the hot paths allocate nothing (bench/alloc.ts).
 *
 *   npm exec -- node bench/ring.bench.ts [--quick]
 *
 * Writes bench/results/ring.json (quick: bench/results/tmp/ring-quick.json):
 *   { "host": {...}, "results": [ { "system", "scenario": "inthread", "payload", "ns_per_op", "bytes_per_op" } ] }
 * and prints a markdown table. Reference in the same run: a 64-byte Uint8Array.set + one
 * Atomics.store/Atomics.load pair (the least any shared-memory handoff of 64 bytes does).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { ALLOC_CHILD_FLAG, allocPerOp, measureAllocations, type AllocCase } from './alloc.ts';
import { BookUpdate, Side } from '../schemas/generated/ts/market.ts';
import { node as isthmusNode } from '@isthmus/sdk';
import { ring as R } from '../test/ring-conformance/load-ring.ts';

const QUICK = process.argv.includes('--quick');
const CHILD = process.argv.includes(ALLOC_CHILD_FLAG);
const PAYLOAD = 64;
const ROOT = join(import.meta.dirname, '..');

const me = R.selfIdentity();
function ring(kind: 'spsc' | 'mpsc' | 'broadcast') {
  const params = { kind, capacity: 1 << 16, slots: 4, maxMessage: 4096, typeId: 0n, policy: 'block' as const };
  const sab = new SharedArrayBuffer(R.regionSize(params));
  R.formatRing(sab, 0, params, me, 0n);
  R.markReady(sab, 0);
  const r = R.Ring.open(sab, 0, sab.byteLength, 0n);
  const w = r.join(kind === 'broadcast' ? 'publisher' : 'producer', me);
  const rd = r.join(kind === 'broadcast' ? 'subscriber' : 'consumer', me);
  return { sab, w, rd, u32: new Uint32Array(sab) };
}

let sink = 0;
function ringCase(kind: 'spsc' | 'mpsc' | 'broadcast'): AllocCase {
  const { w, rd, u32 } = ring(kind);
  return {
    id: `ring-${kind}`,
    loop(n) {
      for (let i = 0; i < n; i++) {
        const off = w.loan(PAYLOAD);
        u32[off >> 2] = i;
        w.commit(PAYLOAD);
        const q = rd.receive();
        sink ^= u32[q >> 2]!;
        rd.release();
      }
    },
  };
}

const sdkNode = await isthmusNode({ transport: 'inproc' });
const pub = await sdkNode.publisher('bench', BookUpdate, { capacity: 1 << 16, maxMessage: 1024 });
const sub = await sdkNode.subscriber('bench', BookUpdate, { waitMs: 0 });
const subTrusted = await sdkNode.subscriber('bench', BookUpdate, { waitMs: 0, verify: false });
const refSab = new SharedArrayBuffer(4096);
const refU8 = new Uint8Array(refSab);
const refI32 = new Int32Array(refSab);
const src = new Uint8Array(PAYLOAD).fill(7);

const CASES: AllocCase[] = [
  {
    id: 'reference-set64-atomics',
    loop(n) {
      for (let i = 0; i < n; i++) {
        refU8.set(src, 64);
        Atomics.store(refI32, 0, i);
        sink ^= Atomics.load(refI32, 0);
      }
    },
  },
  ringCase('spsc'),
  ringCase('mpsc'),
  ringCase('broadcast'),
  {
    // The channel API: loan a BookUpdate builder, set two scalars, send; the two
    // subscribers (one verifying, one trusted) each receive the view and read a field.
    id: 'sdk-pubsub-2-subscribers',
    loop(n) {
      for (let i = 0; i < n; i++) {
        const m = pub.tryLoan()!;
        m.instrument_id = i;
        m.side = Side.bid;
        pub.send(m);
        sink ^= sub.tryReceive()!.instrument_id;
        sink ^= subTrusted.tryReceive()!.instrument_id;
      }
    },
  },
];

if (CHILD) {
  process.stdout.write(JSON.stringify(await allocPerOp(CASES, QUICK)) + '\n');
  process.exit(0);
}

// Timing: warm up, then interleaved rounds of calibrated batches; median ns/op.
const rounds = QUICK ? 5 : 21;
const batchMs = QUICK ? 10 : 40;
const times = new Map<string, number[]>(CASES.map((c) => [c.id, []]));
const sizes = new Map<string, number>();
for (const c of CASES) {
  const t = performance.now();
  while (performance.now() - t < (QUICK ? 50 : 300)) c.loop(1000);
  let n = 1000;
  for (;;) {
    const t0 = performance.now();
    c.loop(n);
    if (performance.now() - t0 >= batchMs) break;
    n *= 2;
  }
  sizes.set(c.id, n);
}
for (let r = 0; r < rounds; r++) {
  for (const c of CASES) {
    const n = sizes.get(c.id)!;
    const t0 = process.hrtime.bigint();
    c.loop(n);
    times.get(c.id)!.push(Number(process.hrtime.bigint() - t0) / n);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const alloc = measureAllocations(import.meta.filename, QUICK ? ['--quick'] : []);
const results = CASES.map((c) => ({
  system: c.id,
  scenario: 'inthread',
  payload: c.id.startsWith('sdk') ? pub.stats().bytesSent / Math.max(1, pub.stats().sent) : PAYLOAD,
  ns_per_op: Number(median(times.get(c.id)!).toFixed(1)),
  bytes_per_op: alloc[c.id] === null || alloc[c.id] === undefined ? null : Number(alloc[c.id]!.toFixed(2)),
}));
pub.close();
sub.close();
subTrusted.close();
sdkNode.close();

const out = QUICK ? join(ROOT, 'bench/results/tmp/ring-quick.json') : join(ROOT, 'bench/results/ring.json');
mkdirSync(join(out, '..'), { recursive: true });
writeFileSync(out, JSON.stringify({
  host: { cpu_model: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, date: new Date().toISOString(), mode: QUICK ? 'quick' : 'full', rounds },
  results,
}, null, 2) + '\n');
console.log(`\n## Ring hot paths in one thread (${QUICK ? 'quick' : 'full'}) — ${cpus()[0]?.model}, Node ${process.version}\n`);
console.log('| case | payload B | ns/op | bytes allocated/op |\n|---|---:|---:|---:|');
for (const r of results) console.log(`| ${r.system} | ${r.payload} | ${r.ns_per_op} | ${r.bytes_per_op ?? 'n/a'} |`);
console.log(`\nbench: wrote ${out}${sink === 0.5 ? '' : ''}`);
