/**
 * The same channels across every boundary (docs/boundaries.md): latency and throughput of
 * the peer contract's echo (test/boundaries/contract.ts) through a worker thread, a child
 * process, a container (the node agent), a QEMU guest (TCG, ivshmem) and TCP loopback,
 * in one run, each relative to the process case.
 *
 *   npx tsc -b && npx node bench/boundaries.bench.ts [--quick] [--only thread,vm,…] [--out <file>]
 *
 * The boundaries are test/boundaries/boundaries.ts's (the same the test runs); the peer is
 * test/boundaries/peer.ts, or the C guest for vm. Per boundary:
 *
 *   pingpong    the host publishes a 96-byte BookUpdate on vm.h2g and waits for the
 *               peer's echo on vm.g2h (seq + 1000000), one at a time. p50_ns / p99_ns are
 *               one-way, round trip / 2 (bench/ipc/hist.ts percentiles); rtt_*_ns the round
 *               trips. The host busy-polls tryReceive() except over tcp, where the
 *               listener's socket I/O runs on this thread (it awaits receive() there).
 *   throughput  a burst of messages, at most `window` in flight, every one echoed back:
 *               msgs_per_s = burst / (first send → last echo received), each message
 *               crossing the boundary twice (after a warm-up burst, not counted).
 *
 * ratio_to_process: the row's value over the process row's, same scenario (p50_ns for
 * pingpong: > 1 is slower; msgs_per_s for throughput: < 1 is slower).
 *
 * Writes bench/results/boundaries.json (--quick: bench/results/tmp/boundaries-quick.json).
 * A boundary this machine lacks the dependencies for is left out with a warning, except
 * with CI=true, where the bench fails.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import * as isthmus from '@isthmus/sdk';
import { BookUpdate } from '../schemas/generated/ts/market.ts';
import { BOUNDARIES, handshake, type Started } from '../test/boundaries/boundaries.ts';
import { fillSmall, PUB_OPTIONS, STOP_INSTRUMENT, TRANSFORM_DELTA } from '../test/boundaries/contract.ts';
import { ROOT } from '../test/vm/initramfs.ts';
import { Histogram } from './ipc/hist.ts';
import { CI } from '../test/ci.ts';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const opt = (name: string) => (args.indexOf(name) >= 0 ? args[args.indexOf(name) + 1] : undefined);
const OUT = opt('--out') ?? join(ROOT, QUICK ? 'bench/results/tmp/boundaries-quick.json' : 'bench/results/boundaries.json');
const ONLY = opt('--only')?.split(',');
const ITERS = QUICK ? 2000 : 20_000;
const WARMUP = QUICK ? 200 : 2000;
const BURST = QUICK ? 20_000 : 200_000;
const WARM_BURST = QUICK ? 5000 : 20_000;
const WINDOW = 256; // < the 64 KiB ring's ~500 records of 128 bytes
const MAX_MS = QUICK ? 20_000 : 60_000;

type Pub = isthmus.Publisher<BookUpdate>;
type Sub = isthmus.Subscriber<BookUpdate>;

/** Round trips in ns, one at a time. */
async function pingpong(pub: Pub, sub: Sub, spin: boolean, seq0: bigint): Promise<Float64Array> {
  const rtt = new Float64Array(ITERS);
  const deadline = performance.now() + MAX_MS;
  for (let i = 0; i < WARMUP + ITERS; i++) {
    const seq = seq0 + BigInt(i);
    const t0 = performance.now();
    while (!pub.trySend((m) => fillSmall(m, seq, 7))) {
      if (performance.now() > deadline) throw new Error(`ping ${i}: ${pub.name} stayed full`);
      if (!spin) await pub.ready(100);
    }
    let r = sub.tryReceive();
    if (spin) {
      while (r === null) {
        if (performance.now() > deadline) throw new Error(`ping ${i}: no echo`);
        r = sub.tryReceive();
      }
    } else if (r === null) {
      r = await sub.receive(MAX_MS);
      if (r === null) throw new Error(`ping ${i}: no echo`);
    }
    const t1 = performance.now();
    if (r.seq !== seq + TRANSFORM_DELTA) throw new Error(`ping ${i}: echo seq ${r.seq}, expected ${seq + TRANSFORM_DELTA}`);
    if (i >= WARMUP) rtt[i - WARMUP] = (t1 - t0) * 1e6;
  }
  return rtt;
}

/** msgs/s of a burst echoed back, at most WINDOW in flight. */
async function throughput(pub: Pub, sub: Sub, spin: boolean, seq0: bigint, BURST: number): Promise<number> {
  let sent = 0;
  let got = 0;
  let idle = 0;
  const t0 = performance.now();
  const deadline = t0 + MAX_MS * 3;
  while (got < BURST) {
    let progress = false;
    while (sent < BURST && sent - got < WINDOW && pub.trySend((m) => fillSmall(m, seq0 + BigInt(sent), 7))) {
      sent++;
      progress = true;
    }
    let r;
    while ((r = sub.tryReceive()) !== null) {
      if (r.seq !== seq0 + BigInt(got) + TRANSFORM_DELTA) throw new Error(`burst: echo seq ${r.seq}, expected ${seq0 + BigInt(got) + TRANSFORM_DELTA}`);
      got++;
      progress = true;
    }
    if (progress) {
      idle = 0;
      continue;
    }
    if (performance.now() > deadline) throw new Error(`burst: ${got} of ${BURST} echoes after ${MAX_MS * 3} ms`);
    // Nothing moved: spin a little (shared memory), else let the event loop run.
    if (!spin || ++idle > 10_000) {
      idle = 0;
      const m = await sub.receive(100);
      if (m !== null) {
        if (m.seq !== seq0 + BigInt(got) + TRANSFORM_DELTA) throw new Error(`burst: echo seq ${m.seq}`);
        got++;
      }
    }
  }
  return BURST / ((performance.now() - t0) / 1000);
}

interface Row {
  system: string;
  scenario: 'pingpong' | 'throughput';
  payload: number;
  p50_ns: number | null;
  p99_ns: number | null;
  msgs_per_s: number | null;
  ratio_to_process: number | null;
  [k: string]: unknown;
}

const rows: Row[] = [];
const skipped: { system: string; missing: string[] }[] = [];
const t0 = performance.now();
for (const b of BOUNDARIES) {
  if (ONLY && !ONLY.includes(b.name)) continue;
  const system = `boundary-${b.name}`;
  const missing = b.missing();
  if (missing.length) {
    if (CI) throw new Error(`${system} needs: ${missing.join('; ')}`);
    console.warn(`${system}: skipped, needs ${missing.join('; ')}`);
    skipped.push({ system, missing });
    continue;
  }
  const tb = performance.now();
  let s: Started | undefined = await b.start();
  try {
    const pub = await s.node.publisher('vm.h2g', BookUpdate, PUB_OPTIONS);
    const sub = await s.node.subscriber('vm.g2h', BookUpdate, { waitMs: 30_000 });
    await handshake(pub, sub).catch((err: Error) => {
      throw new Error(`${system}: ${err.message}; the peer's console:\n${s!.peer.output}`, { cause: err });
    });
    const startMs = performance.now() - tb;
    const spin = !s.eventLoop;
    const rtt = await pingpong(pub, sub, spin, 1n << 20n);
    const h = new Histogram();
    const hr = new Histogram();
    for (const v of rtt) {
      h.record(v / 2);
      hr.record(v);
    }
    const payload = Math.round(pub.stats().bytesSent / pub.stats().sent);
    const ping = { p50_ns: Math.round(h.percentile(0.5)), p99_ns: Math.round(h.percentile(0.99)) };
    rows.push({ system, scenario: 'pingpong', payload, ...ping, msgs_per_s: null, ratio_to_process: null, rtt_p50_ns: Math.round(hr.percentile(0.5)), rtt_p99_ns: Math.round(hr.percentile(0.99)), samples: rtt.length, host_wait: spin ? 'spin' : 'await' });
    await throughput(pub, sub, spin, 1n << 31n, WARM_BURST); // warm-up, not counted
    const mps = await throughput(pub, sub, spin, 1n << 30n, BURST);
    rows.push({ system, scenario: 'throughput', payload, p50_ns: null, p99_ns: null, msgs_per_s: Math.round(mps), ratio_to_process: null, burst: BURST, window: WINDOW });
    console.log(`${system.padEnd(19)} ${payload} B  one-way p50 ${ping.p50_ns} ns  p99 ${ping.p99_ns} ns   echoed burst ${Math.round(mps)} msgs/s   (up in ${(startMs / 1000).toFixed(1)} s)`);
    await pub.sendAsync((m) => fillSmall(m, 0n, STOP_INSTRUMENT));
    sub.close();
    pub.close();
    const { exit, output } = await s.stop();
    s = undefined;
    if (exit !== 0) throw new Error(`${system}: the peer exited ${exit}:\n${output}`);
  } finally {
    await s?.stop();
  }
}

const process_ = (scenario: string) => rows.find((r) => r.system === 'boundary-process' && r.scenario === scenario);
for (const r of rows) {
  const base = process_(r.scenario);
  if (!base) continue;
  r.ratio_to_process = r.scenario === 'pingpong' ? round3(r.p50_ns! / base.p50_ns!) : round3(r.msgs_per_s! / base.msgs_per_s!);
}
function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

console.log('\nsystem               pingpong p50 (×process)   throughput msgs/s (×process)');
for (const b of BOUNDARIES) {
  const p = rows.find((r) => r.system === `boundary-${b.name}` && r.scenario === 'pingpong');
  const t = rows.find((r) => r.system === `boundary-${b.name}` && r.scenario === 'throughput');
  if (p && t) console.log(`${p.system.padEnd(20)} ${String(p.p50_ns).padStart(9)} ns (${p.ratio_to_process ?? '-'})`.padEnd(47) + `${String(t.msgs_per_s).padStart(9)} (${t.ratio_to_process ?? '-'})`);
}

const doc = {
  benchmark: 'bench/boundaries.bench.ts',
  mode: QUICK ? 'quick' : 'full',
  date: new Date().toISOString(),
  node: process.version,
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  cpus: os.cpus().length,
  loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  elapsedSeconds: Math.round((performance.now() - t0) / 100) / 10,
  notes: 'one-way = round trip / 2; ratio_to_process: p50_ns / process p50_ns (pingpong), msgs_per_s / process msgs_per_s (throughput); vm is QEMU TCG',
  skipped,
  results: rows,
};
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(doc, null, 2) + '\n');
console.log(`wrote ${OUT} (${doc.elapsedSeconds} s)`);
process.exit(0);
