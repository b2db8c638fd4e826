/**
 * The Quick-start demo (`npm run demo`): one schema, four processes, three languages, one
 * shared-memory channel.
 *
 *   1. compiles schemas/market.isthmus to TypeScript, C and AssemblyScript with the
 *      Isthmus compiler;
 *   2. builds a C subscriber (demo/subscriber.c) against the generated header and the C
 *      ring core (native/), and a WASM subscriber module (wasm/as/demo/book_subscriber.ts)
 *      against the generated AssemblyScript and the AS ring runtime (wasm/as/isthmus/);
 *   3. this process publishes on the channel `book` (@isthmus/sdk, shm transport, a
 *      runtime directory of its own under /dev/shm); a TypeScript subscriber
 *      (demo/subscriber.ts), the C subscriber and the WASM subscriber (hosted by
 *      demo/wasm-subscriber.ts, the region mapped into the module's memory), each a
 *      process of its own, join it;
 *   4. it sends three BookUpdates, written in place in the ring; the subscribers verify
 *      them and print their fields, read in place; the C and WASM subscribers then leave;
 *   5. it sends a burst of messages (the TypeScript subscriber measures the rate and
 *      checks the sequence) and then paced messages (one-way latency).
 *
 * Every line a subscriber prints is shown with its name. Exit status 0 only when both
 * subscribers received everything, in order, verified.
 *
 *   node demo/run.ts [--rate N] [--latency N]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { emitTs, compileFile, EMITTERS } from '@isthmus/schema';
import { node } from '@isthmus/sdk';

const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, 'demo', '.out');
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const SHOW = 3;
const RATE = arg('--rate', 1_000_000);
const LATENCY = arg('--latency', 10_000);
const step = (n: number, text: string) => console.log(`\n[${n}] ${text}`);
const die = (msg: string): never => {
  console.error(`demo: ${msg}`);
  process.exit(1);
};

step(1, 'compile schemas/market.isthmus → TypeScript, C and AssemblyScript');
const schema = compileFile(join(ROOT, 'schemas', 'market.isthmus'));
mkdirSync(OUT, { recursive: true });
const outputs = [
  ...[...emitTs(schema), ...EMITTERS.c!(schema)].map((f) => ({ ...f, path: f.path })),
  ...EMITTERS.assemblyscript!(schema).map((f) => ({ ...f, path: `as/${f.path}` })),
];
mkdirSync(join(OUT, 'as'), { recursive: true });
for (const f of outputs) {
  writeFileSync(join(OUT, f.path), f.contents);
  console.log(`    wrote demo/.out/${f.path}`);
}
const msg = schema.layout.types.find((t) => t.name === 'BookUpdate')!;
if (msg.kind === 'message') console.log(`    BookUpdate: type id ${msg.typeId}, version ${msg.version}, fixed part ${msg.size} bytes`);

step(2, 'build the C subscriber against demo/.out/market.h and the C ring core');
const subC = join(OUT, 'subscriber');
const core = ['region.c', 'ring.c', 'notify.c', 'proc.c'].map((f) => join(ROOT, 'native', 'src', f));
const cc = spawnSync('gcc', ['-std=gnu11', '-O2', '-Wall', '-Wextra', '-Werror', `-I${OUT}`, `-I${join(ROOT, 'bindings/c/include')}`, `-I${join(ROOT, 'native/include')}`,
  join(ROOT, 'demo/subscriber.c'), ...core, '-o', subC], { encoding: 'utf8' });
if (cc.error || cc.status !== 0) die(cc.error ? `gcc is needed for the C side of the demo: ${cc.error.message} (apt-get install gcc)` : cc.stderr);
console.log('    gcc → demo/.out/subscriber');
// The module imports the generated AssemblyScript from schemas/generated/assemblyscript/: the
// goldens, identical to what step 1 wrote to demo/.out/as/ (the test suite fails on drift).
const subWasm = join(OUT, 'book_subscriber.wasm');
const asc = spawnSync(process.execPath, [join(ROOT, 'node_modules/assemblyscript/bin/asc.js'), join(ROOT, 'wasm/as/demo/book_subscriber.ts'), '-o', subWasm, '--enable', 'threads', '-O3', '--runtime', 'incremental'], { encoding: 'utf8' });
if (asc.error || asc.status !== 0) die(asc.error ? `the AssemblyScript compiler is missing (${asc.error.message}): run npm ci` : `${asc.stdout}${asc.stderr}`);
console.log('    asc → demo/.out/book_subscriber.wasm');

step(3, 'publish on channel "book"; a TypeScript, a C and a WASM subscriber join, each in its own process');
const { BookUpdate, Side, Level } = (await import(join(OUT, 'market.ts'))) as typeof import('../schemas/generated/ts/market.ts');
const runtimeDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'isthmus-demo-'));
const n = await node({ root: runtimeDir });
const pub = await n.publisher('book', BookUpdate, { capacity: 1 << 20, policy: 'block' });
console.log(`    publisher (pid ${process.pid}): ${join(runtimeDir, 'book~pub')}, ${pub.capacity} byte ring, block policy`);

interface Peer { name: string; child: ChildProcess; received: number; result?: Record<string, number>; exit: Promise<number | null> }
function peer(name: string, cmd: string, args: string[]): Peer {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const p: Peer = { name, child, received: 0, exit: new Promise((res) => child.on('exit', (code) => res(code))) };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.startsWith('RESULT ')) p.result = JSON.parse(line.slice(7));
    else if (line.startsWith('received ')) p.received++;
    if (!line.startsWith('RESULT ')) console.log(`    ${name.padEnd(6)}| ${line}`);
  });
  createInterface({ input: child.stderr! }).on('line', (line) => console.error(`    ${name.padEnd(6)}! ${line}`));
  return p;
}
const ts = peer('TS', process.execPath, [join(ROOT, 'demo', 'subscriber.ts'), runtimeDir, join(OUT, 'market.ts'), String(SHOW), String(RATE), String(LATENCY)]);
const c = peer('C', subC, [join(runtimeDir, 'book~pub'), String(SHOW)]);
const wasm = peer('WASM', process.execPath, [join(ROOT, 'demo', 'wasm-subscriber.ts'), subWasm, join(runtimeDir, 'book~pub'), String(SHOW)]);
let cleaned = false;
const cleanup = () => {
  if (cleaned) return;
  cleaned = true;
  for (const p of [ts, c, wasm]) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  n.close();
  rmSync(runtimeDir, { recursive: true, force: true });
};
process.on('exit', cleanup);

const joinBy = Date.now() + 15_000;
while (pub.subscribers() < 3) {
  if (Date.now() > joinBy) die(`only ${pub.subscribers()} of 3 subscribers joined within 15 s`);
  if ([ts, c, wasm].some((p) => p.child.exitCode !== null)) die('a subscriber exited before joining');
  await new Promise((r) => setTimeout(r, 10));
}

step(4, `send ${SHOW} BookUpdates, written in place in the ring`);
const books = [
  { seq: 1n, instrument_id: 7, side: Side.bid, symbol: 'EURUSD', venue: 'XLON', bids: [[108345n, 1_000_000n, 3], [108344n, 2_500_000n, 7]], asks: [[108347n, 500_000n, 1]], trade: 9001n },
  { seq: 2n, instrument_id: 7, side: Side.ask, symbol: 'EURUSD', venue: 'XLON', bids: [], asks: [[108348n, 750_000n, 2]], trade: null },
  { seq: 3n, instrument_id: 12, side: Side.bid, symbol: 'GBPUSD', venue: 'XPAR', bids: [[126010n, 300_000n, 1]], asks: [], trade: 9002n },
] as const;
for (const b of books) {
  const ok = await pub.sendAsync((m) => {
    const lv = new Level(m, 0);
    m.seq = b.seq;
    m.ts_ns = process.hrtime.bigint();
    m.instrument_id = b.instrument_id;
    m.side = b.side;
    m.set_symbol(b.symbol);
    m.set_venue(b.venue);
    for (const [name, levels] of [['bids', b.bids], ['asks', b.asks]] as const) {
      const v = name === 'bids' ? m.init_bids(levels.length) : m.init_asks(levels.length);
      levels.forEach(([mantissa, qty, orders], i) => {
        v.get(i, lv).price.mantissa = mantissa;
        lv.price.exponent = -5;
        lv.qty = qty;
        lv.orders = orders;
      });
    }
    if (b.trade !== null) m.trade_id = b.trade;
  }, { timeoutMs: 5000 }).then(() => true, (e: Error) => die(e.message));
  if (ok) console.log(`    sent     seq=${b.seq} ${b.symbol} ${b.side === Side.bid ? 'bid' : 'ask'} with ${b.bids.length} bid and ${b.asks.length} ask levels`);
}
if ((await c.exit) !== 0) die('the C subscriber failed');
if ((await wasm.exit) !== 0) die('the WASM subscriber failed');
for (const by = Date.now() + 10_000; ts.received < SHOW; await new Promise((r) => setTimeout(r, 5))) {
  if (Date.now() > by || ts.child.exitCode !== null) die(`the TS subscriber printed ${ts.received} of ${SHOW} messages`);
}

step(5, `send ${RATE.toLocaleString('en')} messages as fast as the ring allows, then ${LATENCY.toLocaleString('en')} one at a time`);
const t0 = process.hrtime.bigint();
let full = 0;
for (let i = 0; i < RATE; i++) {
  let m = pub.tryLoan();
  while (!m) {
    if (++full % 1_000_000 === 0 && ts.child.exitCode !== null) die('the TS subscriber exited');
    if (full % 4096 === 0) await pub.ready(1000);
    m = pub.tryLoan();
  }
  m.seq = BigInt(100 + i);
  m.instrument_id = 7;
  m.side = Side.bid;
  pub.send(m);
}
const sendNs = Number(process.hrtime.bigint() - t0);
for (let i = 0; i < LATENCY; i++) {
  // ~20 µs apart, so each message finds the subscriber idle (spinning) rather than queued.
  const until = process.hrtime.bigint() + 20_000n;
  while (process.hrtime.bigint() < until);
  let m = pub.tryLoan();
  while (!m) m = pub.tryLoan();
  m.seq = BigInt(100 + RATE + i);
  m.side = Side.ask;
  m.ts_ns = process.hrtime.bigint();
  pub.send(m);
}
if ((await ts.exit) !== 0 || !ts.result) die('the TS subscriber failed');
const r = ts.result!;
const st = pub.stats();
console.log(`    publisher: sent ${st.sent.toLocaleString('en')} messages (${(st.bytesSent / 1e6).toFixed(1)} MB), ring full ${st.full.toLocaleString('en')} times; burst sent in ${(sendNs / 1e6).toFixed(0)} ms`);
console.log(`    TS subscriber: received ${r.received!.toLocaleString('en')}, invalid ${r.invalid}, out of order ${r.out_of_order}`);
console.log(`    rate: ${(r.msgs_per_s! / 1e6).toFixed(2)} M msg/s (every message verified on receive)`);
console.log(`    one-way latency publisher → subscriber: p50 ${(r.latency_p50_ns! / 1000).toFixed(2)} µs, p99 ${(r.latency_p99_ns! / 1000).toFixed(2)} µs`);
const expected = SHOW + RATE + LATENCY;
if (r.received !== expected || r.out_of_order !== 0 || r.invalid !== 0) die(`expected ${expected} in-order valid messages`);
pub.close();
cleanup();
console.log('\ndone: TypeScript, C and WASM processes read what another TypeScript process wrote, in place, through one shared-memory ring.');
console.log('      (demo figures come from a run that shares the machine with its peers; `npm run bench` measures properly.)');
