/**
 * Host↔guest ping-pong across the VM boundary (docs/vm.md): this process and a QEMU guest
 * (TCG, native/guest/isthmus_guest.c) share one arena file through ivshmem.
 *
 *   npx tsc -b && npx node bench/vm.bench.ts [--quick] [--out <file>]
 *
 * Results (default bench/results/vm.json; --quick: bench/results/tmp/vm-quick.json):
 *
 *   isthmus-vm         pingpong  64 B   raw SPSC rings vm.raw.ping / vm.raw.pong in the
 *                                       arena, host loan/commit + spin on receive, the
 *                                       guest copies each ping into pong (as bench/ipc's
 *                                       isthmus-ts-ts does between two processes)
 *   isthmus-vm-pubsub  pingpong  96 B   the SDK channels: Publisher.trySend of a small
 *                                       BookUpdate on vm.h2g, Subscriber.tryReceive (with
 *                                       verify()) of the guest's transformed echo on vm.g2h
 *
 * p50_ns / p99_ns / max_ns are one-way, (round trip − timer_ns) / 2, as in bench/ipc
 * (bench/README.md); rtt_p50_ns / rtt_p99_ns are the measured round trips. Both sides
 * busy-poll while measuring. The guest runs under TCG (no KVM here): its side of each
 * round trip is emulated code, so these numbers bound the protocol from above.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import os from 'node:os';
import { BookUpdate } from '../schemas/generated/ts/market.ts';
import { percentile, pingPong, rawPingPong, startVm, timerCostNs } from '../test/vm/host.ts';
import { ROOT } from '../test/vm/initramfs.ts';
import { missingDependencies } from '../test/vm/qemu.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const outIdx = args.indexOf('--out');
const out = outIdx >= 0 ? args[outIdx + 1]! : join(ROOT, quick ? 'bench/results/tmp/vm-quick.json' : 'bench/results/vm.json');
const iters = quick ? 2000 : 50_000;
const warmup = quick ? 200 : 5000;

const missing = missingDependencies();
if (missing.length) {
  console.error(`bench/vm.bench.ts needs: ${missing.join('; ')}`);
  process.exit(1);
}

const t0 = performance.now();
const vm = await startVm({ raw: true });
const results: object[] = [];
try {
  const timer = timerCostNs();
  const summary = (system: string, payload: number, rtt: Float64Array) => {
    const oneWay = (q: number) => Math.round(Math.max(0, percentile(rtt, q) - timer) / 2);
    const r = {
      system,
      scenario: 'pingpong',
      payload,
      p50_ns: oneWay(0.5),
      p99_ns: oneWay(0.99),
      max_ns: oneWay(1),
      rtt_p50_ns: Math.round(percentile(rtt, 0.5)),
      rtt_p99_ns: Math.round(percentile(rtt, 0.99)),
      samples: rtt.length,
      timer_ns: Math.round(timer),
    };
    console.log(`${system.padEnd(18)} ${String(payload).padStart(3)} B  one-way p50 ${r.p50_ns} ns  p99 ${r.p99_ns} ns  (round trip p50 ${r.rtt_p50_ns} ns, p99 ${r.rtt_p99_ns} ns, ${rtt.length} samples)`);
    results.push(r);
  };
  summary('isthmus-vm', 64, rawPingPong(vm.raw!, 64, iters, warmup));
  const sub = await vm.node.subscriber('vm.g2h', BookUpdate, { waitMs: 5000 });
  const small = pingPong(vm.pub, sub, iters, warmup);
  summary('isthmus-vm-pubsub', 96, small);
  sub.close();
} finally {
  const { exit } = await vm.shutdown();
  if (exit !== 0) console.error(`QEMU exited with ${exit}`);
}

const doc = {
  benchmark: 'bench/vm.bench.ts',
  mode: quick ? 'quick' : 'full',
  date: new Date().toISOString(),
  node: process.version,
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  cpus: os.cpus().length,
  guest: 'QEMU TCG (-cpu max -smp 1,maxcpus=2), ivshmem-plain, static C guest',
  elapsedSeconds: Math.round((performance.now() - t0) / 100) / 10,
  results,
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
console.log(`wrote ${out}`);
