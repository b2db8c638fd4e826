/**
 * The Node side(s) of the IPC benchmark. bench/ipc/run.ts starts side A of each
 * measurement as `node bench/ipc/peer.ts <system> <scenario> a <json options>`; side A
 * starts side B itself (fork, socket client or region opener) and, when done, prints one
 * JSON line with its result on stdout. Each side pins itself to one core (`cpu` option)
 * with `taskset -a -p`, so the two sides spin on distinct cores.
 *
 * Ping-pong: A sends, B echoes the payload back, A times the round trip
 * (performance.now(), CLOCK_MONOTONIC) and records round trip / 2 into a histogram.
 * Throughput: B produces `msgs` messages as fast as it may, A consumes them and reports the
 * rate over the last 90 % (the first 10 % warm up the JIT and the caches):
 * (msgs − 1 − skip) / (last receive − receive of message `skip`), skip = ⌊msgs / 10⌋.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Socket } from 'node:net';
import { existsSync, unlinkSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, resolve } from 'node:path';
import { Histogram } from './hist.ts';

export interface PeerOptions {
  payload: number;
  iters: number;      // ping-pong: measured round trips; throughput: messages
  warmup: number;     // ping-pong: round trips before measuring
  cpuA: number;       // -1: no pinning
  cpuB: number;
  capacity: number;   // Isthmus ring data area, bytes
}

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
const self = fileURLToPath(import.meta.url);

function pinSelf(cpu: number): void {
  if (cpu < 0) return;
  const r = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
  if (r.status !== 0) process.stderr.write(`peer: could not pin pid ${process.pid} to cpu ${cpu}\n`);
}

function out(result: object): void {
  process.stdout.write(JSON.stringify(result) + '\n');
}

const nowNs = (): number => performance.now() * 1e6;

/**
 * What one performance.now() adds to a timed interval: the median of 20 001 back-to-back
 * deltas, in ns. Ping-pong subtracts it from each round trip (raw_atomics.c does the same
 * with clock_gettime), so every system reports the exchange alone.
 */
function timerCostNs(): number {
  const d = new Float64Array(20_001);
  for (let i = 0; i < d.length; i++) {
    const a = performance.now();
    d[i] = performance.now() - a;
  }
  d.sort();
  return d[d.length >> 1]! * 1e6;
}

/** One-way latency sample from a round trip measured with two performance.now() reads (ms). */
const oneWay = (rttMs: number, timerNs: number): number => Math.max(0, rttMs * 1e6 - timerNs) / 2;

/** Starts side B of the same system as a separate Node process. */
function spawnB(system: string, scenario: string, opts: PeerOptions, extra: object = {}): ChildProcess {
  return spawn(process.execPath, [self, system, scenario, 'b', JSON.stringify({ ...opts, ...extra })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((res, rej) => {
    if (child.exitCode !== null) return child.exitCode === 0 ? res() : rej(new Error(`peer B exited with ${child.exitCode}`));
    child.once('exit', (code, sig) => (code === 0 ? res() : rej(new Error(`peer B exited with ${code ?? sig}`))));
  });
}

/** Resolves once the child prints a line "ready" on its stdout. */
function ready(child: ChildProcess): Promise<void> {
  return new Promise((res, rej) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      if (buf.includes('ready\n')) { child.stdout!.off('data', onData); res(); }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => rej(new Error(`peer B exited (${code}) before it was ready`)));
  });
}

// ------------------------------------------------------------------------------------
// node-child-process: child_process.fork with serialization 'json'.
// ------------------------------------------------------------------------------------
async function childProcessA(scenario: string, o: PeerOptions): Promise<void> {
  const child = fork(self, ['node-child-process', scenario, 'b', JSON.stringify(o)], {
    serialization: 'json',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((res) => child.once('message', () => res())); // B's hello: pinned and listening
  const p = 'x'.repeat(o.payload);
  if (scenario === 'pingpong') {
    const h = new Histogram();
    const timer = timerCostNs();
    const total = o.warmup + o.iters;
    let i = 0;
    let t0 = 0;
    await new Promise<void>((res) => {
      child.on('message', (m: { i: number; p: string }) => {
        const t1 = nowNs();
        if (m.i !== i || m.p.length !== o.payload) throw new Error('child_process echo mismatch');
        if (i >= o.warmup) h.record(oneWay((t1 - t0) / 1e6, timer));
        if (++i === total) return res();
        t0 = nowNs();
        child.send({ i, p });
      });
      t0 = nowNs();
      child.send({ i, p });
    });
    child.disconnect();
    await exited(child);
    out({ ...h.summary(), timer_ns: timer });
  } else {
    let n = 0;
    let first = 0;
    let last = 0;
    let bytes = 0;
    await new Promise<void>((res) => {
      child.on('message', (m: { i: number; p: string } | { ack: true }) => {
        last = nowNs();
        if (n === skipOf(o)) first = last;
        bytes += (m as { p: string }).p.length;
        if (++n % 1000 === 0) child.send(n);           // window credit for the producer
        if (n === o.iters) res();
      });
      child.send('go');
    });
    child.disconnect();
    await exited(child);
    if (bytes !== o.iters * o.payload) throw new Error('child_process: payload bytes lost');
    out(rate(o, first, last));
  }
}

async function childProcessB(scenario: string, o: PeerOptions): Promise<void> {
  pinSelf(o.cpuB);
  const send = process.send!.bind(process);
  if (scenario === 'pingpong') {
    process.on('message', (m: { i: number; p: string }) => { send(m); });
    process.on('disconnect', () => process.exit(0));
    send('hello');
    return;
  }
  // Throughput: at most 4000 messages in flight; A returns a credit every 1000.
  const p = 'x'.repeat(o.payload);
  let acked = 0;
  let sent = 0;
  const pump = (): void => {
    while (sent < o.iters && sent - acked < 4000) send({ i: sent++, p });
  };
  process.on('message', (m: number | string) => {
    if (typeof m === 'number') acked = m;
    pump();
  });
  process.on('disconnect', () => process.exit(0));
  send('hello');
}

/** Messages a throughput consumer lets pass before it starts the clock. */
const skipOf = (o: PeerOptions): number => Math.floor(o.iters / 10);

function rate(o: PeerOptions, firstNs: number, lastNs: number): { msgs_per_s: number; gb_per_s: number; msgs: number } {
  const secs = (lastNs - firstNs) / 1e9;
  const r = secs > 0 ? (o.iters - 1 - skipOf(o)) / secs : 0;
  return { msgs_per_s: Math.round(r), gb_per_s: (r * o.payload) / 1e9, msgs: o.iters };
}

// ------------------------------------------------------------------------------------
// uds-json: a Unix domain socket carrying newline-delimited JSON.
// ------------------------------------------------------------------------------------
/** Calls onLine for each complete line received on the socket. */
function lines(sock: Socket, onLine: (line: string) => void): void {
  let rest = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    let s = rest + chunk;
    let nl: number;
    let start = 0;
    while ((nl = s.indexOf('\n', start)) >= 0) {
      onLine(s.slice(start, nl));
      start = nl + 1;
    }
    rest = s.slice(start);
  });
}

async function udsA(scenario: string, o: PeerOptions): Promise<void> {
  const path = `/tmp/isthmus-bench-${process.pid}.sock`;
  if (existsSync(path)) unlinkSync(path);
  const server = createServer();
  await new Promise<void>((res) => server.listen(path, res));
  const child = spawnB('uds-json', scenario, o, { path });
  const sock = await new Promise<Socket>((res) => server.once('connection', res));
  server.close();
  const p = 'x'.repeat(o.payload);
  try {
    if (scenario === 'pingpong') {
      const h = new Histogram();
      const timer = timerCostNs();
      const total = o.warmup + o.iters;
      let i = 0;
      let t0 = 0;
      await new Promise<void>((res) => {
        lines(sock, (line) => {
          const t1 = nowNs();
          const m = JSON.parse(line) as { i: number; p: string };
          if (m.i !== i || m.p.length !== o.payload) throw new Error('uds echo mismatch');
          if (i >= o.warmup) h.record(oneWay((t1 - t0) / 1e6, timer));
          if (++i === total) return res();
          t0 = nowNs();
          sock.write(JSON.stringify({ i, p }) + '\n');
        });
        t0 = nowNs();
        sock.write(JSON.stringify({ i, p }) + '\n');
      });
      sock.end();
      await exited(child);
      out({ ...h.summary(), timer_ns: timer });
    } else {
      let n = 0;
      let first = 0;
      let last = 0;
      let bytes = 0;
      await new Promise<void>((res) => {
        lines(sock, (line) => {
          const m = JSON.parse(line) as { i: number; p: string };
          last = nowNs();
          if (n === skipOf(o)) first = last;
          bytes += m.p.length;
          if (++n === o.iters) res();
        });
      });
      sock.end();
      await exited(child);
      if (bytes !== o.iters * o.payload) throw new Error('uds: payload bytes lost');
      out(rate(o, first, last));
    }
  } finally {
    if (existsSync(path)) unlinkSync(path);
  }
}

async function udsB(scenario: string, o: PeerOptions & { path: string }): Promise<void> {
  pinSelf(o.cpuB);
  const sock = connect(o.path);
  await new Promise<void>((res) => sock.once('connect', res));
  sock.on('end', () => { sock.end(); });
  if (scenario === 'pingpong') {
    lines(sock, (line) => {
      const m = JSON.parse(line) as { i: number; p: string };
      sock.write(JSON.stringify(m) + '\n');
    });
    return;
  }
  const p = 'x'.repeat(o.payload);
  let i = 0;
  const pump = (): void => {
    while (i < o.iters) {
      if (!sock.write(JSON.stringify({ i: i++, p }) + '\n')) return void sock.once('drain', pump);
    }
  };
  pump();
}

// ------------------------------------------------------------------------------------
// isthmus-ts-ts: two SPSC rings in one region file (A→B at 0, B→A at regionSize),
// mapped as a SharedArrayBuffer by @isthmus/native, busy-polled with receive().
// ------------------------------------------------------------------------------------
interface RingModule {
  regionSize(p: object): number;
  formatRing(buf: SharedArrayBuffer, off: number, p: object, creator: object): void;
  markReady(buf: SharedArrayBuffer, off: number): void;
  selfIdentity(): object;
  Ring: { open(buf: SharedArrayBuffer, off: number, len: number, typeId?: bigint): IRing };
}
interface IRing { join(role: string, id: object): any }
interface NativeModule {
  createFile(path: string, size: number, mode?: number): { buffer: SharedArrayBuffer; close(): void };
  openFile(path: string): { buffer: SharedArrayBuffer; close(): void };
}

export const ringSrc = resolve(repoRoot, 'packages/sdk/src/ring/index.ts');
export const ringDist = resolve(repoRoot, 'packages/sdk/dist/ring/index.js');
export const nativeDist = resolve(repoRoot, 'packages/native/dist/index.js');

async function loadIsthmus(): Promise<{ ring: RingModule; native: NativeModule }> {
  const ring = (await import(pathToFileURL(ringDist).href)) as RingModule;
  const native = (await import(pathToFileURL(nativeDist).href)) as NativeModule;
  return { ring, native };
}

function ringParams(o: PeerOptions) {
  return { kind: 'spsc', capacity: o.capacity, slots: 4, maxMessage: Math.max(8192, o.payload), typeId: 0n };
}

async function isthmusTsA(scenario: string, o: PeerOptions): Promise<void> {
  const { ring, native } = await loadIsthmus();
  const params = ringParams(o);
  const rs = ring.regionSize(params);
  const path = `/dev/shm/isthmus-bench-${process.pid}`;
  const region = native.createFile(path, 2 * rs, 0o600);
  try {
    const buf = region.buffer;
    const me = ring.selfIdentity();
    ring.formatRing(buf, 0, params, me);
    ring.formatRing(buf, rs, params, me);
    ring.markReady(buf, 0);
    ring.markReady(buf, rs);
    const child = spawnB('isthmus-ts-ts', scenario, o, { path, rs });
    await ready(child);
    const u8 = new Uint8Array(buf);
    if (scenario === 'pingpong') {
      const w = ring.Ring.open(buf, 0, rs).join('producer', me);
      const r = ring.Ring.open(buf, rs, rs).join('consumer', me);
      const src = new Uint8Array(o.payload).fill(7);
      const h = new Histogram();
      const timer = timerCostNs();
      pingLoopTs(w, r, u8, src, o, h, timer);
      w.close(); r.close();
      await exited(child);
      out({ ...h.summary(), timer_ns: timer });
    } else {
      const r = ring.Ring.open(buf, 0, rs).join('consumer', me);
      // Wake B: it spins until the consumer slot shows up, then produces.
      const res = consumeLoopTs(r, u8, o);
      r.close();
      await exited(child);
      out(res);
    }
  } finally {
    region.close();
    if (existsSync(path)) unlinkSync(path);
  }
}

function pingLoopTs(w: any, r: any, u8: Uint8Array, src: Uint8Array, o: PeerOptions, h: Histogram, timer: number): void {
  const n = o.payload;
  const total = o.warmup + o.iters;
  let sink = 0;
  for (let i = 0; i < total; i++) {
    const t0 = performance.now();
    let off = w.loan(n);
    while (off < 0) off = w.loan(n);
    u8.set(src, off);
    w.commit(n);
    let q = r.receive();
    while (q < 0) q = r.receive();
    sink ^= u8[q + r.length - 1]!;
    r.releaseLazy(); // published by the next receive() that finds the ring empty (while waiting)
    const t1 = performance.now();
    if (i >= o.warmup) h.record(oneWay(t1 - t0, timer));
  }
  if (sink === 12345) process.stderr.write('');
}

/**
 * The throughput consumer's idle strategy: after an empty poll, IDLE_PAUSES spin-wait hints
 * (Atomics.pause, Node ≥ 22.?; a plain spin where it is missing) before polling again. A
 * consumer that re-polls at once keeps pulling tail's cache line and the line the producer
 * is writing the next record into, and every producer commit (a SeqCst store, i.e. a full
 * barrier in JS) then waits for those lines to come back; pausing lets the producer run
 * ahead so the consumer reads batches. Ping-pong polls without pausing (latency).
 */
const IDLE_PAUSES = 256;
const A = Atomics as unknown as { pause?: () => void };
const havePause = typeof A.pause === 'function';
function idle(): void {
  if (havePause) for (let z = 0; z < IDLE_PAUSES; z++) A.pause!();
  else for (let z = 0; z < IDLE_PAUSES; z++) Atomics.load(spinWord, 0);
}
const spinWord = new Int32Array(1);

function consumeLoopTs(r: any, u8: Uint8Array, o: PeerOptions): ReturnType<typeof rate> & { check: number } {
  let first = 0;
  let sum = 0;
  const skip = skipOf(o);
  for (let k = 0; k < o.iters; k++) {
    let q = r.receive();
    while (q < 0) {
      idle();
      q = r.receive();
    }
    const len = r.length;
    sum += len + u8[q]! + u8[q + len - 1]!;
    r.releaseLazy(); // §4.1: head is published once a quarter of the ring is released, or when the ring is drained
    if (k === skip) first = performance.now();
  }
  const last = performance.now();
  if (sum !== o.iters * (o.payload + 14)) throw new Error('isthmus-ts-ts: payload check failed');
  return { ...rate(o, first * 1e6, last * 1e6), check: sum & 0xffff };
}

async function isthmusTsB(scenario: string, o: PeerOptions & { path: string; rs: number }): Promise<void> {
  pinSelf(o.cpuB);
  const { ring, native } = await loadIsthmus();
  const region = native.openFile(o.path);
  const buf = region.buffer;
  const u8 = new Uint8Array(buf);
  const me = ring.selfIdentity();
  const src = new Uint8Array(o.payload).fill(7);
  if (scenario === 'pingpong') {
    const r = ring.Ring.open(buf, 0, o.rs).join('consumer', me);
    const w = ring.Ring.open(buf, o.rs, o.rs).join('producer', me);
    process.stdout.write('ready\n');
    const n = o.payload;
    const total = o.warmup + o.iters;
    for (let i = 0; i < total; i++) {
      let q = r.receive();
      while (q < 0) q = r.receive();
      let off = w.loan(n);
      while (off < 0) off = w.loan(n);
      u8.copyWithin(off, q, q + r.length);  // the echo: payload copied from one ring to the other
      r.releaseLazy(); // published by the next receive() that finds the ring empty (while waiting)
      w.commit(n);
    }
    r.close(); w.close();
  } else {
    const w = ring.Ring.open(buf, 0, o.rs).join('producer', me);
    process.stdout.write('ready\n');
    produceLoopTs(w, u8, src, o);
    w.close();
  }
  region.close();
}

function produceLoopTs(w: any, u8: Uint8Array, src: Uint8Array, o: PeerOptions): void {
  const n = o.payload;
  for (let k = 0; k < o.iters; k++) {
    let off = w.loan(n);
    while (off < 0) off = w.loan(n);
    u8.set(src, off);
    w.commit(n);
  }
}

// ------------------------------------------------------------------------------------
// raw-ts-atomics (ping-pong only): the raw_atomics.c exchange written in JS over the same
// kind of SharedArrayBuffer (@isthmus/native region file), no ring. Splits the
// isthmus-ts-ts figure into what JS Atomics cost and what the ring protocol adds.
//   0    ping seq  i32  A: Atomics.store after writing the ping payload; B: Atomics.load
//   64   pong seq  i32  B: Atomics.store after the echo;               A: Atomics.load
//   128  ping payload, then at 128 + align64(payload) the pong payload
// (JS Atomics are SeqCst: each store orders the payload bytes before it, each load the reads after it.)
// ------------------------------------------------------------------------------------
async function rawTsA(scenario: string, o: PeerOptions): Promise<void> {
  if (scenario !== 'pingpong') throw new Error('raw-ts-atomics measures ping-pong only');
  const { native } = await loadIsthmus();
  const path = `/dev/shm/isthmus-bench-raw-${process.pid}`;
  const slot = Math.ceil(o.payload / 64) * 64;
  const region = native.createFile(path, 128 + 2 * slot + 4096, 0o600);
  try {
    const child = spawnB('raw-ts-atomics', scenario, o, { path });
    await ready(child);
    const i32 = new Int32Array(region.buffer);
    const u8 = new Uint8Array(region.buffer);
    const src = new Uint8Array(o.payload).fill(7);
    const h = new Histogram();
    const timer = timerCostNs();
    const total = o.warmup + o.iters;
    let sink = 0;
    for (let i = 1; i <= total; i++) {
      const t0 = performance.now();
      u8.set(src, 128);
      Atomics.store(i32, 0, i);
      while (Atomics.load(i32, 16) !== i);
      sink ^= u8[128 + slot + o.payload - 1]!;
      const t1 = performance.now();
      if (i > o.warmup) h.record(oneWay(t1 - t0, timer));
    }
    if (sink === 12345) process.stderr.write('');
    await exited(child);
    out({ ...h.summary(), timer_ns: timer });
  } finally {
    region.close();
    if (existsSync(path)) unlinkSync(path);
  }
}

async function rawTsB(_scenario: string, o: PeerOptions & { path: string }): Promise<void> {
  pinSelf(o.cpuB);
  const { native } = await loadIsthmus();
  const region = native.openFile(o.path);
  const i32 = new Int32Array(region.buffer);
  const u8 = new Uint8Array(region.buffer);
  const slot = Math.ceil(o.payload / 64) * 64;
  process.stdout.write('ready\n');
  const total = o.warmup + o.iters;
  for (let i = 1; i <= total; i++) {
    while (Atomics.load(i32, 0) !== i);
    u8.copyWithin(128 + slot, 128, 128 + o.payload);
    Atomics.store(i32, 16, i);
  }
  region.close();
}

// ------------------------------------------------------------------------------------
async function main(): Promise<void> {
  const [system = '', scenario = '', side = '', json = '{}'] = process.argv.slice(2);
  const o = JSON.parse(json) as PeerOptions & Record<string, any>;
  if (side === 'a') pinSelf(o.cpuA);
  const table: Record<string, [(s: string, o: any) => Promise<void>, (s: string, o: any) => Promise<void>]> = {
    'node-child-process': [childProcessA, childProcessB],
    'uds-json': [udsA, udsB],
    'isthmus-ts-ts': [isthmusTsA, isthmusTsB],
    'raw-ts-atomics': [rawTsA, rawTsB],
  };
  const fns = table[system];
  if (!fns) throw new Error(`peer: unknown system ${system}`);
  await fns[side === 'a' ? 0 : 1](scenario, o);
}

if (process.argv[1] === self) {
  main().catch((err) => {
    process.stderr.write(`peer ${process.argv.slice(2, 5).join(' ')}: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
