/**
 * Network transport benchmark: request/response round trips and publish throughput
 * through `tcp://` (loopback) and `unix://` (a Unix stream socket), between two processes.
 *
 *   npm exec -- node bench/net.bench.ts [--quick]
 *
 * The child process is the "server host": a listener on an inproc arena with, on the same
 * arena, an embedded node that serves `echo` and subscribes to `flood`. This process is the
 * remote peer: a node whose only configuration is `transport: 'tcp://…'` (or 'unix://…').
 *
 *   pingpong    client.callWith() one request at a time; p50/p99 of the round trip
 *               (record → frame → socket → listener → ring → server → ring → frame → back)
 *   throughput  publisher.trySend() as fast as credit allows; msgs/s until the child's
 *               subscriber has received every message (end to end, not just sent)
 *
 * Writes bench/results/net.json (--quick: bench/results/tmp/net-quick.json):
 *   { "host": {...}, "results": [ { "system": "isthmus-tcp" | "isthmus-uds-stream",
 *     "scenario": "pingpong" | "throughput", "payload", "p50_ns", "p99_ns", "msgs_per_s" } ] }
 * `payload` is the message's byte size as sent (a BookUpdate without strings: 88 bytes, the
 * smallest message of the demo schema); throughput rows have no per-message latency (null).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as isthmus from '@isthmus/sdk';
import { BookUpdate } from '../schemas/generated/ts/market.ts';
import { watch } from '../packages/sdk/test/helpers.ts';

const QUICK = process.argv.includes('--quick');
const ROOT = join(import.meta.dirname, '..');

if (process.argv[2] === '--child') {
  const url = process.argv[3]!;
  const a = isthmus.parseNetUrl(url);
  const back = isthmus.inproc({ size: 256 << 20 });
  const l = await isthmus.listen(a.kind === 'unix' ? { path: a.path!, transport: back } : { host: a.host!, port: a.port!, transport: back });
  const node = await isthmus.node({ transport: back });
  await node.serve('echo', BookUpdate, BookUpdate, (req, res) => {
    res.seq = req.seq;
    res.side = req.side;
  });
  const pub = await node.publisher('flood-ready', BookUpdate, { capacity: 4096 * 4 });
  void pub;
  console.log(`listening ${l.url}`);
  // Subscribes on request (the parent creates `flood` first), counts, reports.
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', async (d: string) => {
    const n = Number(d.trim());
    const sub = await node.subscriber('flood', BookUpdate, { waitMs: 10_000 });
    console.log('subscribed');
    let got = 0;
    let last = -1n;
    while (got < n) {
      const m = sub.tryReceive() ?? (await sub.receive(1000));
      if (!m) continue;
      if (m.seq !== last + 1n) throw new Error(`flood: seq ${m.seq} after ${last}`);
      last = m.seq;
      got++;
    }
    console.log(`flood ${got}`);
  });
} else {
  const results: Record<string, unknown>[] = [];
  const systems: [string, () => string][] = [
    ['isthmus-tcp', () => `tcp://127.0.0.1:${20000 + (process.pid % 20000)}`],
    ['isthmus-uds-stream', () => `unix://${join(tmpdir(), `isthmus-net-bench-${process.pid}.sock`)}`],
  ];
  const calls = QUICK ? 4000 : 50_000;
  const floods = QUICK ? 100_000 : 1_000_000;
  for (const [system, mk] of systems) {
    const url = mk();
    const child = spawn(process.execPath, [import.meta.filename, '--child', url], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    const c = watch(child, `net bench child (${system})`);
    const line = (p: (l: string) => boolean) => c.waitLine(p, 600_000);
    await line((l) => l.startsWith('listening'));
    const node = await isthmus.node({ transport: url as `tcp://${string}` });

    // Ping-pong.
    const client = await node.client('echo', BookUpdate, BookUpdate, { waitMs: 5000 });
    const fill = (q: BookUpdate) => {
      q.seq = 1n;
      q.side = 1;
    };
    const read = (r: BookUpdate) => r.side;
    for (let i = 0; i < 500; i++) await client.callWith(fill, read);
    const ns = new Float64Array(calls);
    for (let i = 0; i < calls; i++) {
      const t = process.hrtime.bigint();
      await client.callWith(fill, read);
      ns[i] = Number(process.hrtime.bigint() - t);
    }
    ns.sort();
    const payload = client.stats().bytesSent / Math.max(1, client.stats().sent);
    results.push({ system, scenario: 'pingpong', payload, p50_ns: Math.round(ns[calls >> 1]!), p99_ns: Math.round(ns[Math.floor(calls * 0.99)]!), msgs_per_s: Math.round(1e9 / (ns.reduce((a, b) => a + b, 0) / calls)) });

    // Throughput, end to end.
    const pub = await node.publisher('flood', BookUpdate, { capacity: 1 << 20 });
    child.stdin!.write(`${floods}\n`);
    await line((l) => l === 'subscribed');
    await new Promise((r) => setTimeout(r, 300)); // the subscriber's join reaches this side
    const done = line((l) => l.startsWith('flood '));
    let sent = 0;
    const t0 = process.hrtime.bigint();
    const fillN = (m: BookUpdate) => {
      m.seq = BigInt(sent);
      m.side = 1;
    };
    while (sent < floods) {
      if (pub.trySend(fillN)) sent++;
      else await pub.ready(1000);
    }
    await done;
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    results.push({ system, scenario: 'throughput', payload: pub.stats().bytesSent / pub.stats().sent, p50_ns: null, p99_ns: null, msgs_per_s: Math.round(floods / secs) });
    node.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  const out = { host: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, quick: QUICK, calls, floods }, results };
  const file = QUICK ? join(ROOT, 'bench/results/tmp/net-quick.json') : join(ROOT, 'bench/results/net.json');
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  console.log('| system | scenario | payload | p50 µs | p99 µs | msgs/s |\n|---|---|---|---|---|---|');
  for (const r of results) console.log(`| ${r.system} | ${r.scenario} | ${r.payload} | ${r.p50_ns === null ? '–' : ((r.p50_ns as number) / 1000).toFixed(1)} | ${r.p99_ns === null ? '–' : ((r.p99_ns as number) / 1000).toFixed(1)} | ${r.msgs_per_s} |`);
  console.log(`wrote ${file}`);
  process.exit(0);
}
