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
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { bookBytes, flbLevels, loadFlatbuffers } from './message.ts';
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
  cpuFile?: string;   // side B writes its CPU time (ns, since markCpu) here at exit
  subscribers?: number; // fan-out
  natsUrl?: string;
  ringtool?: string;  // isthmus-ts-c: the C ring tool
  wrap?: string;      // raw_atomics (exec wrapper reporting the child's CPU time)
  wasm?: string;      // isthmus-ts-as: the built echo module
}

// CPU time of this process (or, in a worker, this thread) since markCpu(), in ns.
const cpuNow = (): number => {
  const u = isMainThread ? process.cpuUsage() : (process as any).threadCpuUsage();
  return (u.user + u.system) * 1000;
};
let cpuMark = cpuNow();
export function markCpu(): void { cpuMark = cpuNow(); }
const cpuSince = (): number => cpuNow() - cpuMark;
let gOpts: PeerOptions | null = null;
let extraCpuNs = 0; // CPU of side B processes that report it another way (ringtool via the wrapper)

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
const self = fileURLToPath(import.meta.url);

function pinSelf(cpu: number): void {
  if (cpu < 0) return;
  const r = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
  if (r.status !== 0) process.stderr.write(`peer: could not pin pid ${process.pid} to cpu ${cpu}\n`);
}

/** Prints side A's result, adding cpu_ns: side A since markCpu() + side B (its cpuFile). */
function out(result: { samples?: number; msgs?: number; [k: string]: unknown }): void {
  const o = gOpts;
  let cpu = cpuSince() + extraCpuNs;
  if (o?.cpuFile && existsSync(o.cpuFile)) {
    cpu += Number(readFileSync(o.cpuFile, 'utf8'));
    unlinkSync(o.cpuFile);
  }
  const msgs = result.samples !== undefined ? result.samples + (o?.warmup ?? 0) : (result.msgs ?? 0);
  process.stdout.write(JSON.stringify({ ...result, cpu_ns: Math.round(cpu), cpu_msgs: msgs }) + '\n');
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
    markCpu();
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
      markCpu();
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
    markCpu();
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
  markCpu();
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

async function udsA(scenario: string, o: PeerOptions, via: 'uds' | 'tcp' = 'uds'): Promise<void> {
  const path = `/tmp/isthmus-bench-${process.pid}.sock`;
  if (existsSync(path)) unlinkSync(path);
  const server = createServer();
  let child: ChildProcess;
  if (via === 'tcp') {
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    child = spawnB('tcp-json', scenario, o, { port: (server.address() as { port: number }).port });
  } else {
    await new Promise<void>((res) => server.listen(path, res));
    child = spawnB('uds-json', scenario, o, { path });
  }
  const sock = await new Promise<Socket>((res) => server.once('connection', res));
  sock.setNoDelay(true);
  server.close();
  const p = 'x'.repeat(o.payload);
  try {
    if (scenario === 'pingpong') {
      const h = new Histogram();
      const timer = timerCostNs();
    markCpu();
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
      markCpu();
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

async function udsB(scenario: string, o: PeerOptions & { path?: string; port?: number }): Promise<void> {
  pinSelf(o.cpuB);
  const sock = o.port ? connect(o.port, '127.0.0.1') : connect(o.path!);
  sock.setNoDelay(true);
  await new Promise<void>((res) => sock.once('connect', res));
  markCpu();
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
interface IRing { join(role: string, id: object, notifier?: object): any }
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

function ringParams(o: PeerOptions, kind = 'spsc', slots = 4) {
  return { kind, capacity: o.capacity, slots, maxMessage: Math.max(8192, o.payload), typeId: 0n };
}

/**
 * isthmus-ts-ts, isthmus-ts-c, isthmus-ts-as: side A (Node, TypeScript ring) creates two
 * region files under /dev/shm, one SPSC ring each (A→B and B→A), formatted by the TS SDK;
 * side B opens them: another Node process (ts-ts), the C ring tool `isthmus_ringtool pong
 * --spin` / `produce` (ts-c, pinned with taskset, its CPU time reported by the raw_atomics
 * exec wrapper), or a Node process hosting the AssemblyScript module bench/peers/as/echo.ts
 * through @isthmus/sdk's WasmHost (ts-as: the module itself polls, copies and commits).
 * Throughput: B produces, A consumes (every system checks each message's length and
 * first byte). Fan-out: one broadcast ring, A publishes, `subscribers` side-B processes.
 */
async function isthmusTsA(scenario: string, o: PeerOptions, system = 'isthmus-ts-ts'): Promise<void> {
  const { ring, native } = await loadIsthmus();
  const params = ringParams(o);
  const rs = ring.regionSize(params);
  const base = `/dev/shm/isthmus-bench-${process.pid}`;
  const paths = [`${base}-ab`, `${base}-ba`];
  const regions = paths.map((p) => native.createFile(p, rs, 0o600));
  try {
    const me = ring.selfIdentity();
    for (const r of regions) { ring.formatRing(r.buffer, 0, params, me); ring.markReady(r.buffer, 0); }
    const book = (await bookBytes(o.payload)).bytes;
    let child: ChildProcess;
    if (system === 'isthmus-ts-c') {
      const tool = o.ringtool!;
      const argv = scenario === 'pingpong'
        ? ['pong', paths[0]!, paths[1]!, String(Math.floor((o.iters + o.warmup) / 1.1) + 1), '--payload', String(o.payload), '--spin']
        : ['produce', paths[1]!, String(o.iters), '--payload', String(o.payload), '--spin'];
      // pong runs iterations + iterations/10 rounds: A sends exactly that many.
      const pin = o.cpuB >= 0 ? ['taskset', '-c', String(o.cpuB)] : [];
      child = spawn(o.wrap!, ['exec', ...pin, tool, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout!.on('data', (d) => (text += d));
      child.once('exit', () => { const m = /"child_cpu_ns":(\d+)/.exec(text); if (m) extraCpuNs += Number(m[1]); });
    } else {
      child = spawnB(system, scenario, o, { paths, rs });
      await ready(child);
    }
    const buf0 = regions[0]!.buffer;
    const buf1 = regions[1]!.buffer;
    if (scenario === 'pingpong') {
      const w = ring.Ring.open(buf0, 0, rs).join('producer', me, nativeNotifier(native));
      const r = ring.Ring.open(buf1, 0, rs).join('consumer', me, nativeNotifier(native));
      const h = new Histogram();
      const timer = timerCostNs();
      const total = system === 'isthmus-ts-c' ? Math.floor((o.iters + o.warmup) / 1.1) + 1 + Math.floor((Math.floor((o.iters + o.warmup) / 1.1) + 1) / 10) : o.warmup + o.iters;
      markCpu();
      pingLoopTs(w, r, new Uint8Array(buf0), new Uint8Array(buf1), book, total, o.warmup, o.payload, h, timer);
      w.close(); r.close();
      await exited(child);
      out({ ...h.summary(), timer_ns: timer });
    } else {
      const r = ring.Ring.open(buf1, 0, rs).join('consumer', me, nativeNotifier(native));
      markCpu();
      const res = consumeLoopTs(r, new Uint8Array(buf1), o, system === 'isthmus-ts-ts' ? book[0]! : -1);
      r.close();
      await exited(child);
      out(res);
    }
  } finally {
    for (const r of regions) r.close();
    for (const p of paths) if (existsSync(p)) unlinkSync(p);
  }
}
const isthmusTsCA = (s: string, o: PeerOptions): Promise<void> => isthmusTsA(s, o, 'isthmus-ts-c');
const isthmusTsAsA = (s: string, o: PeerOptions): Promise<void> => isthmusTsA(s, o, 'isthmus-ts-as');

function pingLoopTs(w: any, r: any, out8: Uint8Array, in8: Uint8Array, src: Uint8Array, total: number, warmup: number, n: number, h: Histogram, timer: number): void {
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  let sink = 0;
  for (let i = 0; i < total; i++) {
    const t0 = performance.now();
    let off = w.loan(n);
    while (off < 0) off = w.loan(n);
    if (n >= 8) dv.setUint32(0, i, true); // the C echo tool reads the sequence number from bytes 0..7
    out8.set(src, off);
    w.commit(n);
    let q = r.receive();
    while (q < 0) q = r.receive();
    if (r.length !== n) throw new Error(`isthmus ping-pong: reply of ${r.length} bytes, expected ${n}`);
    sink ^= in8[q + n - 1]!;
    r.releaseLazy(); // published by the next receive() that finds the ring empty (while waiting)
    const t1 = performance.now();
    if (i >= warmup) h.record(oneWay(t1 - t0, timer));
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

/**
 * The throughput consumer: every message's length must be the payload and its first byte
 * `first` (the ts-ts producer sends the BookUpdate bytes), or, with first = -1, the low
 * byte of its index (the C tool's and the wasm producer's sequence number in bytes 0..7).
 */
function consumeLoopTs(r: any, u8: Uint8Array, o: PeerOptions, first: number): ReturnType<typeof rate> {
  let t1 = 0;
  const skip = skipOf(o);
  const n = o.payload;
  for (let k = 0; k < o.iters; k++) {
    let q = r.receive();
    while (q < 0) {
      idle();
      q = r.receive();
    }
    if (r.length !== n || u8[q] !== (first < 0 ? k & 0xff : first)) throw new Error(`isthmus consumer: bad message ${k} (length ${r.length})`);
    r.releaseLazy(); // §4.1: head is published once a quarter of the ring is released, or when the ring is drained
    if (k === skip) t1 = performance.now();
  }
  const last = performance.now();
  return rate(o, t1 * 1e6, last * 1e6);
}

async function isthmusTsB(scenario: string, o: PeerOptions & { paths: string[]; rs: number }): Promise<void> {
  pinSelf(o.cpuB);
  const { ring, native } = await loadIsthmus();
  const regions = o.paths.map((p) => native.openFile(p));
  const [b0, b1] = [regions[0]!.buffer, regions[1]!.buffer];
  const me = ring.selfIdentity();
  const src = (await bookBytes(o.payload)).bytes;
  if (scenario === 'pingpong') {
    const r = ring.Ring.open(b0, 0, o.rs).join('consumer', me);
    const w = ring.Ring.open(b1, 0, o.rs).join('producer', me);
    markCpu();
    process.stdout.write('ready\n');
    const in8 = new Uint8Array(b0);
    const out8 = new Uint8Array(b1);
    const n = o.payload;
    const total = o.warmup + o.iters;
    for (let i = 0; i < total; i++) {
      let q = r.receive();
      while (q < 0) q = r.receive();
      let off = w.loan(n);
      while (off < 0) off = w.loan(n);
      out8.set(in8.subarray(q, q + r.length), off); // the echo: payload copied from one ring to the other
      r.releaseLazy();
      w.commit(n);
    }
    r.close(); w.close();
  } else {
    const w = ring.Ring.open(b1, 0, o.rs).join('producer', me);
    markCpu();
    process.stdout.write('ready\n');
    produceLoopTs(w, new Uint8Array(b1), src, o);
    w.close();
  }
  for (const r of regions) r.close();
}

/** isthmus-ts-as side B: Node hosts bench/peers/as/echo.ts (WasmHost); the module polls, copies and commits itself. */
async function isthmusAsB(scenario: string, o: PeerOptions & { paths: string[]; rs: number }): Promise<void> {
  pinSelf(o.cpuB);
  const sdk = (await import(pathToFileURL(resolve(repoRoot, 'packages/sdk/dist/index.js')).href)) as any;
  const host = new sdk.WasmHost();
  const WA = (globalThis as any).WebAssembly;
  const { instance } = await WA.instantiate(readFileSync(o.wasm!), host.imports);
  const ex = instance.exports as any;
  host.bind(ex);
  const chans: any[] = [];
  if (scenario === 'pingpong') {
    chans.push(await host.attach(o.paths[0]!, 'consumer'), await host.attach(o.paths[1]!, 'producer'));
    if (ex.attach(0, chans[0].offset, chans[0].size, chans[0].slot) !== 0 || ex.attach(1, chans[1].offset, chans[1].size, chans[1].slot) !== 0) throw new Error('wasm attach failed');
    markCpu();
    process.stdout.write('ready\n');
    const rc = ex.pong(o.warmup + o.iters);
    if (Number(rc) !== o.warmup + o.iters) throw new Error(`wasm pong failed: ${rc}`);
  } else {
    chans.push(await host.attach(o.paths[1]!, 'producer'));
    if (ex.attach(1, chans[0].offset, chans[0].size, chans[0].slot) !== 0) throw new Error('wasm attach failed');
    const src = (await bookBytes(o.payload)).bytes;
    const p = ex.alloc(o.payload) >>> 0;
    new Uint8Array(ex.memory.buffer, p, o.payload).set(src);
    markCpu();
    process.stdout.write('ready\n');
    const rc = ex.produce(o.iters, p, o.payload);
    if (Number(rc) !== o.iters) throw new Error(`wasm produce failed: ${rc}`);
  }
  for (const c of chans) c.close();
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
    markCpu();
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
  markCpu();
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
// worker-threads: one Node process, side B a worker_threads Worker, postMessage of
// { i, p } with p a Uint8Array copy of the payload (structured clone). Both threads share
// the process's affinity (taskset pins every thread of side A to cpu A; the worker is
// moved to cpu B with taskset on its thread id, found in /proc/self/task).
// CPU: process.threadCpuUsage() of each thread.
// ------------------------------------------------------------------------------------
function threadIds(): number[] {
  try { return require_('node:fs').readdirSync('/proc/self/task').map(Number); } catch { return []; }
}
const require_ = (m: string): any => (globalThis as any).process.getBuiltinModule(m);

async function workerA(scenario: string, o: PeerOptions): Promise<void> {
  const before = new Set(threadIds());
  const w = new Worker(self, { argv: ['worker-threads', scenario, 'b', JSON.stringify(o)], workerData: { worker: true } });
  let bCpu = 0;
  const hello = new Promise<void>((res) => w.once('message', () => res()));
  await hello;
  // Pin the worker's new threads to cpu B (the main thread stays on cpu A).
  if (o.cpuB >= 0) for (const t of threadIds()) if (!before.has(t)) spawnSync('taskset', ['-p', '-c', String(o.cpuB), String(t)], { stdio: 'ignore' });
  const src = (await bookBytes(o.payload)).bytes;
  if (scenario === 'pingpong') {
    const h = new Histogram();
    const timer = timerCostNs();
    markCpu();
    const total = o.warmup + o.iters;
    let i = 0;
    let t0 = 0;
    await new Promise<void>((res) => {
      w.on('message', (m: { i: number; p: Uint8Array } | { cpu: number }) => {
        if ('cpu' in m) return;
        const t1 = nowNs();
        if (m.i !== i || m.p.length !== o.payload) throw new Error('worker echo mismatch');
        if (i >= o.warmup) h.record(oneWay((t1 - t0) / 1e6, timer));
        if (++i === total) return res();
        t0 = nowNs();
        w.postMessage({ i, p: src });
      });
      t0 = nowNs();
      w.postMessage({ i, p: src });
    });
    const c = new Promise<number>((res) => w.on('message', (m: any) => { if ('cpu' in m) res(m.cpu); }));
    w.postMessage('stop');
    bCpu = await c;
    extraCpuNs += bCpu;
    await w.terminate();
    out({ ...h.summary(), timer_ns: timer });
  } else {
    let n = 0, first = 0, last = 0;
    markCpu();
    await new Promise<void>((res) => {
      w.on('message', (m: any) => {
        if ('cpu' in m) return;
        last = nowNs();
        if (m.p.length !== o.payload) throw new Error('worker: bad message');
        if (n === skipOf(o)) first = last;
        if (++n % 1000 === 0) w.postMessage(n);
        if (n === o.iters) res();
      });
      w.postMessage('go');
    });
    const c = new Promise<number>((res) => w.on('message', (m: any) => { if ('cpu' in m) res(m.cpu); }));
    w.postMessage('stop');
    extraCpuNs += await c;
    await w.terminate();
    out(rate(o, first, last));
  }
}

async function workerB(scenario: string, o: PeerOptions): Promise<void> {
  const port = parentPort!;
  const src = (await bookBytes(o.payload)).bytes;
  let acked = 0, sent = 0;
  const pump = (): void => { while (sent < o.iters && sent - acked < 4000) port.postMessage({ i: sent++, p: src }); };
  port.on('message', (m: any) => {
    if (m === 'stop') { port.postMessage({ cpu: cpuSince() }); return; }
    if (scenario === 'pingpong') { port.postMessage(m); return; }
    if (typeof m === 'number') acked = m;
    pump();
  });
  markCpu();
  port.postMessage('hello');
}

// ------------------------------------------------------------------------------------
// Sockets: uds-flatbuffers (Unix socket, u32-length-prefixed frames, each a FlatBuffers
// BookUpdate encoded per message by the sender with flbLevels(payload) levels and read
// (seq, bids length) by the receiver; the echo side forwards the frame's bytes) and
// tcp-json (127.0.0.1, TCP_NODELAY, the uds-json protocol).
// ------------------------------------------------------------------------------------
function frames(sock: Socket, onFrame: (f: Uint8Array) => void): void {
  let acc: Buffer = Buffer.alloc(0);
  sock.on('data', (chunk: Buffer) => {
    acc = acc.length ? Buffer.concat([acc, chunk]) : chunk;
    let off = 0;
    while (acc.length - off >= 4) {
      const len = acc.readUInt32LE(off);
      if (acc.length - off - 4 < len) break;
      onFrame(acc.subarray(off + 4, off + 4 + len));
      off += 4 + len;
    }
    acc = acc.subarray(off);
  });
}

interface FbCodec { encode(i: number): Uint8Array; seq(f: Uint8Array): number }
function fbCodec(payload: number): FbCodec {
  const m = loadFlatbuffers();
  if ('skip' in m) throw new Error(m.skip);
  const { fb, fbrt } = m;
  const levels = flbLevels(payload);
  const b = new fbrt.Builder(payload + 1024);
  return {
    encode(i: number): Uint8Array {
      b.clear();
      const sym = b.createString('EURUSD');
      const ven = b.createString('XLON');
      const nb = Math.ceil(levels / 2);
      fb.BookUpdate.startBidsVector(b, nb);
      for (let k = nb - 1; k >= 0; k--) fb.Level.createLevel(b, 108000n - BigInt(k), -5, 1000000n, 1);
      const bids = b.endVector();
      fb.BookUpdate.startAsksVector(b, levels - nb);
      for (let k = levels - nb - 1; k >= 0; k--) fb.Level.createLevel(b, 108000n + BigInt(k), -5, 1000000n, 1);
      const asks = b.endVector();
      fb.BookUpdate.startBookUpdate(b);
      fb.BookUpdate.addSeq(b, BigInt(i));
      fb.BookUpdate.addTsNs(b, 1700000000000000000n);
      fb.BookUpdate.addInstrumentId(b, 42);
      fb.BookUpdate.addSide(b, fb.Side.bid);
      fb.BookUpdate.addSymbol(b, sym);
      fb.BookUpdate.addVenue(b, ven);
      fb.BookUpdate.addBids(b, bids);
      fb.BookUpdate.addAsks(b, asks);
      fb.BookUpdate.finishBookUpdateBuffer(b, fb.BookUpdate.endBookUpdate(b));
      const bytes = b.asUint8Array();
      const f = new Uint8Array(4 + bytes.length);
      new DataView(f.buffer).setUint32(0, bytes.length, true);
      f.set(bytes, 4);
      return f;
    },
    seq(f: Uint8Array): number {
      const r = fb.BookUpdate.getRootAsBookUpdate(new fbrt.ByteBuffer(f));
      if (r.bidsLength() !== Math.ceil(levels / 2)) throw new Error('flatbuffers: bad message');
      return Number(r.seq());
    },
  };
}

async function fbA(scenario: string, o: PeerOptions): Promise<void> {
  const path = `/tmp/isthmus-bench-fb-${process.pid}.sock`;
  if (existsSync(path)) unlinkSync(path);
  const server = createServer();
  await new Promise<void>((res) => server.listen(path, res));
  const child = spawnB('uds-flatbuffers', scenario, o, { path });
  const sock = await new Promise<Socket>((res) => server.once('connection', res));
  server.close();
  const codec = fbCodec(o.payload);
  try {
    if (scenario === 'pingpong') {
      const h = new Histogram();
      const timer = timerCostNs();
      markCpu();
      const total = o.warmup + o.iters;
      let i = 0, t0 = 0;
      await new Promise<void>((res) => {
        frames(sock, (f) => {
          const t1 = nowNs();
          if (codec.seq(f) !== i) throw new Error('flatbuffers echo mismatch');
          if (i >= o.warmup) h.record(oneWay((t1 - t0) / 1e6, timer));
          if (++i === total) return res();
          t0 = nowNs();
          sock.write(codec.encode(i));
        });
        t0 = nowNs();
        sock.write(codec.encode(i));
      });
      sock.end();
      await exited(child);
      out({ ...h.summary(), timer_ns: timer });
    } else {
      let n = 0, first = 0, last = 0;
      markCpu();
      await new Promise<void>((res) => {
        frames(sock, (f) => {
          if (codec.seq(f) !== n) throw new Error('flatbuffers: lost message');
          last = nowNs();
          if (n === skipOf(o)) first = last;
          if (++n === o.iters) res();
        });
      });
      sock.end();
      await exited(child);
      out(rate(o, first, last));
    }
  } finally {
    if (existsSync(path)) unlinkSync(path);
  }
}

async function fbB(scenario: string, o: PeerOptions & { path: string }): Promise<void> {
  pinSelf(o.cpuB);
  const codec = fbCodec(o.payload);
  const sock = connect(o.path);
  await new Promise<void>((res) => sock.once('connect', res));
  markCpu();
  sock.on('end', () => { sock.end(); });
  if (scenario === 'pingpong') {
    frames(sock, (f) => {
      codec.seq(f);
      const c = new Uint8Array(4 + f.length);
      new DataView(c.buffer).setUint32(0, f.length, true);
      c.set(f, 4);
      sock.write(c);
    });
    return;
  }
  let i = 0;
  const pump = (): void => {
    while (i < o.iters) if (!sock.write(codec.encode(i++))) return void sock.once('drain', pump);
  };
  pump();
}

// ------------------------------------------------------------------------------------
// zeromq-ipc: ZeroMQ (npm zeromq 6, libzmq bundled) PAIR sockets over ipc://, one frame
// per message (the payload bytes). Throughput: B awaits send() (ZeroMQ's own high-water
// mark is the flow control).
// ------------------------------------------------------------------------------------
async function zmqA(scenario: string, o: PeerOptions): Promise<void> {
  const zmq = await import('zeromq');
  const addr = `ipc:///tmp/isthmus-bench-zmq-${process.pid}`;
  const sock = new zmq.Pair();
  await sock.bind(addr);
  const child = spawnB('zeromq-ipc', scenario, o, { addr });
  const src = Buffer.from((await bookBytes(o.payload)).bytes);
  const [hello] = await sock.receive(); // B is connected
  if (!hello) throw new Error('zeromq: no hello');
  if (scenario === 'pingpong') {
    const h = new Histogram();
    const timer = timerCostNs();
    markCpu();
    for (let i = 0; i < o.warmup + o.iters; i++) {
      const t0 = nowNs();
      src.writeUInt32LE(i, 0);
      await sock.send(src);
      const [m] = await sock.receive();
      const t1 = nowNs();
      if (m!.length !== o.payload || (o.payload >= 4 && m!.readUInt32LE(0) !== i)) throw new Error('zeromq echo mismatch');
      if (i >= o.warmup) h.record(oneWay((t1 - t0) / 1e6, timer));
    }
    await sock.send(Buffer.from('stop'));
    await exited(child);
    sock.close();
    out({ ...h.summary(), timer_ns: timer });
  } else {
    let first = 0, last = 0;
    markCpu();
    for (let n = 0; n < o.iters; n++) {
      const [m] = await sock.receive();
      if (m!.length !== o.payload) throw new Error('zeromq: bad message');
      last = nowNs();
      if (n === skipOf(o)) first = last;
    }
    await exited(child);
    sock.close();
    out(rate(o, first, last));
  }
}

async function zmqB(scenario: string, o: PeerOptions & { addr: string }): Promise<void> {
  pinSelf(o.cpuB);
  const zmq = await import('zeromq');
  const sock = new zmq.Pair();
  sock.connect(o.addr);
  markCpu();
  await sock.send(Buffer.from('hello'));
  if (scenario === 'pingpong') {
    for (;;) {
      const [m] = await sock.receive();
      if (m!.length === 4 && m!.toString() === 'stop' && o.payload !== 4) break;
      await sock.send(m!);
    }
  } else {
    const src = Buffer.from((await bookBytes(o.payload)).bytes);
    for (let i = 0; i < o.iters; i++) await sock.send(src);
    await new Promise((r) => setTimeout(r, 50));
  }
  sock.close();
}

// ------------------------------------------------------------------------------------
// nats: a real nats-server (started by bench/ipc/run.ts on a free loopback port, o.natsUrl),
// npm nats 2.x clients. Ping-pong: A publishes on a ping subject, B (subscribed) publishes
// the payload back on a pong subject. Throughput: B publishes, A acknowledges every 1000
// messages on an ack subject and B keeps at most 4000 in flight (core NATS drops messages
// for a slow consumer rather than slowing the publisher). The broker's CPU time is added
// by the harness.
// ------------------------------------------------------------------------------------
async function natsA(scenario: string, o: PeerOptions): Promise<void> {
  const nats = await import('nats');
  const nc = await nats.connect({ servers: o.natsUrl!, noEcho: true });
  const tag = `bench.${process.pid}`;
  const child = spawnB('nats', scenario, o, { tag });
  await ready(child);
  const src = (await bookBytes(o.payload)).bytes;
  if (scenario === 'pingpong') {
    const h = new Histogram();
    const timer = timerCostNs();
    markCpu();
    const total = o.warmup + o.iters;
    let i = 0, t0 = 0;
    await new Promise<void>((res) => {
      nc.subscribe(`${tag}.pong`, {
        callback: (_e: unknown, m: { data: Uint8Array }) => {
          const t1 = nowNs();
          if (m.data.length !== o.payload) throw new Error('nats echo mismatch');
          if (i >= o.warmup) h.record(oneWay((t1 - t0) / 1e6, timer));
          if (++i === total) return res();
          t0 = nowNs();
          nc.publish(`${tag}.ping`, src);
        },
      });
      nc.flush().then(() => { t0 = nowNs(); nc.publish(`${tag}.ping`, src); });
    });
    nc.publish(`${tag}.stop`, new Uint8Array(1));
    await nc.flush();
    await exited(child);
    await nc.close();
    out({ ...h.summary(), timer_ns: timer });
  } else {
    let n = 0, first = 0, last = 0;
    markCpu();
    await new Promise<void>((res) => {
      nc.subscribe(`${tag}.tp`, {
        callback: (_e: unknown, m: { data: Uint8Array }) => {
          if (m.data.length !== o.payload) throw new Error('nats: bad message');
          last = nowNs();
          if (n === skipOf(o)) first = last;
          if (++n % 1000 === 0) nc.publish(`${tag}.ack`, new TextEncoder().encode(String(n)));
          if (n === o.iters) res();
        },
      });
      nc.flush().then(() => nc.publish(`${tag}.go`, new Uint8Array(1)));
    });
    nc.publish(`${tag}.stop`, new Uint8Array(1));
    await nc.flush();
    await exited(child);
    await nc.close();
    out(rate(o, first, last));
  }
}

async function natsB(scenario: string, o: PeerOptions & { tag: string }): Promise<void> {
  pinSelf(o.cpuB);
  const nats = await import('nats');
  const nc = await nats.connect({ servers: o.natsUrl!, noEcho: true });
  const tag = o.tag;
  const done = new Promise<void>((res) => nc.subscribe(`${tag}.stop`, { callback: () => res() }));
  if (scenario === 'pingpong') {
    nc.subscribe(`${tag}.ping`, { callback: (_e: unknown, m: { data: Uint8Array }) => nc.publish(`${tag}.pong`, m.data) });
  } else {
    const src = (await bookBytes(o.payload)).bytes;
    let acked = 0, sent = 0;
    const pump = (): void => { while (sent < o.iters && sent - acked < 4000) { nc.publish(`${tag}.tp`, src); sent++; } };
    nc.subscribe(`${tag}.ack`, { callback: (_e: unknown, m: { data: Uint8Array }) => { acked = Number(new TextDecoder().decode(m.data)); pump(); } });
    nc.subscribe(`${tag}.go`, { callback: () => pump() });
  }
  await nc.flush();
  markCpu();
  process.stdout.write('ready\n');
  await done;
  await nc.close();
}

// ------------------------------------------------------------------------------------
// isthmus-ts-ts fan-out: one broadcast ring (block policy), side A publishes o.iters
// messages of the payload (the BookUpdate bytes, the publish time in ns at bytes 8..15),
// `subscribers` side-B processes each receive every message. Subscriber 0 busy-polls
// when it has a core of its own (cores > subscribers); with more subscribers than the
// machine has cores besides the publisher's, every subscriber parks on the ring's futex
// (Reader.waitData with the native cross-process notifier) when the ring is empty.
// Each subscriber reports its receive rate and the latency publish → receive of each
// message it got; A reports the slowest subscriber's rate and the worst percentiles.
// ------------------------------------------------------------------------------------
async function fanoutA(_scenario: string, o: PeerOptions & { cores: number }): Promise<void> {
  const { ring, native } = await loadIsthmus();
  const nsub = o.subscribers ?? 1;
  const params = ringParams(o, 'broadcast', nsub + 2);
  const rs = ring.regionSize(params);
  const path = `/dev/shm/isthmus-bench-fan-${process.pid}`;
  const region = native.createFile(path, rs, 0o600);
  try {
    const me = ring.selfIdentity();
    ring.formatRing(region.buffer, 0, params, me);
    ring.markReady(region.buffer, 0);
    const park = nsub >= (o.cores ?? 2);
    const kids: ChildProcess[] = [];
    const results: Promise<any>[] = [];
    for (let k = 0; k < nsub; k++) {
      const c = spawnB('isthmus-fanout', 'fanout', o, { path, rs, park, index: k, cpuFile: `${o.cpuFile}.${k}` });
      kids.push(c);
      let text = '';
      c.stdout!.on('data', (d) => (text += d));
      results.push(new Promise((res, rej) => c.once('exit', (code) => code === 0 ? res(JSON.parse(text.trim().split('\n').pop()!)) : rej(new Error(`subscriber ${k} exited ${code}`)))));
    }
    // Wait until every subscriber has joined (its slot shows up in the slot table).
    const r0 = ring.Ring.open(region.buffer, 0, rs) as any;
    const t0 = performance.now();
    while (r0.participants().filter((p: any) => p.role === 'subscriber').length < nsub) {
      if (performance.now() - t0 > 30_000) throw new Error('fan-out: subscribers did not join');
      await new Promise((r) => setTimeout(r, 5));
    }
    const w = r0.join('publisher', me, nativeNotifier(native));
    const src = (await bookBytes(o.payload)).bytes;
    const u8 = new Uint8Array(region.buffer);
    const dv = new DataView(region.buffer);
    markCpu();
    const n = o.payload;
    for (let i = 0; i < o.iters; i++) {
      let off = w.loan(n);
      while (off < 0) off = w.loan(n);
      u8.set(src, off);
      dv.setUint32(off, i, true);
      dv.setFloat64(off + 8, performance.timeOrigin * 1e6 + performance.now() * 1e6, true);
      w.commit(n);
    }
    const subs = await Promise.all(results);
    w.close();
    for (let k = 0; k < nsub; k++) {
      const f = `${o.cpuFile}.${k}`;
      if (existsSync(f)) { extraCpuNs += Number(readFileSync(f, 'utf8')); unlinkSync(f); }
    }
    const worst = (key: string): number => Math.max(...subs.map((s) => s[key]));
    out({
      msgs_per_s: Math.min(...subs.map((s) => s.msgs_per_s)), gb_per_s: Math.min(...subs.map((s) => s.gb_per_s)),
      p50_ns: worst('p50_ns'), p99_ns: worst('p99_ns'), p999_ns: worst('p999_ns'), max_ns: worst('max_ns'),
      msgs: o.iters, subscribers: nsub, parking: park,
    });
  } finally {
    region.close();
    if (existsSync(path)) unlinkSync(path);
  }
}

function nativeNotifier(native: any): any {
  return {
    wait: (buf: SharedArrayBuffer, off: number, expected: number, ms: number) => native.futexWait(buf, off, expected, ms),
    waitAsync: (buf: SharedArrayBuffer, off: number, expected: number, ms: number) => native.futexWaitAsync(buf, off, expected, ms),
    wake: (buf: SharedArrayBuffer, off: number, count: number) => native.futexWake(buf, off, count),
  };
}

async function fanoutB(_scenario: string, o: PeerOptions & { path: string; rs: number; park: boolean; index: number }): Promise<void> {
  pinSelf(o.cpuB);
  const { ring, native } = await loadIsthmus();
  const region = native.openFile(o.path);
  const me = ring.selfIdentity();
  const notifier = nativeNotifier(native);
  const r = ring.Ring.open(region.buffer, 0, o.rs).join('subscriber', me, notifier);
  const u8 = new Uint8Array(region.buffer);
  const dv = new DataView(region.buffer);
  const h = new Histogram();
  markCpu();
  const skip = skipOf(o);
  let first = 0;
  for (let k = 0; k < o.iters; k++) {
    let q = r.receive();
    while (q < 0) {
      if (o.park) r.waitData(10_000, notifier);
      else idle();
      q = r.receive();
    }
    const now = performance.timeOrigin * 1e6 + performance.now() * 1e6;
    if (r.length !== o.payload || dv.getUint32(q, true) !== k) throw new Error(`fan-out subscriber: bad message ${k}`);
    if (k >= skip) h.record(Math.max(0, now - dv.getFloat64(q + 8, true)));
    if (u8[q + 1] === 255 && u8[q + 2] === 255) process.stderr.write('');
    r.releaseLazy();
    if (k === skip) first = performance.now();
  }
  const res = rate(o, first * 1e6, performance.now() * 1e6);
  r.close();
  region.close();
  process.stdout.write(JSON.stringify({ ...res, ...h.summary() }) + '\n');
}

// ------------------------------------------------------------------------------------
// isthmus-ts-ts wakeup: side B blocks in Reader.waitData (the §3 park protocol on the
// ring's data futex, @isthmus/native futexWait); side A waits until B is parked (the
// ring's data_sleepers word), 200 µs more, stamps the time into the message and commits,
// whose wakeData() does the FUTEX_WAKE. B records receive time − stamp (both clocks are
// performance.timeOrigin + performance.now(), i.e. the same system clock). The figure
// is what a parked Isthmus consumer costs against a spinning one.
// ------------------------------------------------------------------------------------
async function wakeA(_scenario: string, o: PeerOptions): Promise<void> {
  const { ring, native } = await loadIsthmus();
  const params = ringParams(o);
  const rs = ring.regionSize(params);
  const path = `/dev/shm/isthmus-bench-wake-${process.pid}`;
  const region = native.createFile(path, rs + 64, 0o600);
  try {
    const me = ring.selfIdentity();
    ring.formatRing(region.buffer, 0, params, me);
    ring.markReady(region.buffer, 0);
    const child = spawnB('isthmus-wakeup', 'wakeup', o, { path, rs });
    let text = '';
    child.stdout!.on('data', (d) => (text += d));
    const w = ring.Ring.open(region.buffer, 0, rs).join('producer', me, nativeNotifier(native)) as any;
    const i32 = new Int32Array(region.buffer);
    const L = (ring as any).ringLayout;
    const sleepers = L.DATA_SLEEPERS >> 2;
    const done = (rs >> 2); // B's completed rounds, just past the ring
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const dv = new DataView(region.buffer);
    markCpu();
    for (let i = 1; i <= o.iters; i++) {
      const t = performance.now();
      while (Atomics.load(i32, sleepers) === 0) if (performance.now() - t > 10_000) throw new Error('wakeup: consumer never parked');
      Atomics.wait(nap, 0, 0, 0.2);
      let off = w.loan(16);
      while (off < 0) off = w.loan(16);
      dv.setFloat64(off, performance.timeOrigin * 1e6 + performance.now() * 1e6, true);
      w.commit(16);
      while (Atomics.load(i32, done) !== i) if (performance.now() - t > 10_000) throw new Error('wakeup: consumer did not wake');
    }
    w.close();
    await exited(child);
    out({ ...JSON.parse(text.trim().split('\n').pop()!), msgs: o.iters });
  } finally {
    region.close();
    if (existsSync(path)) unlinkSync(path);
  }
}

async function wakeB(_scenario: string, o: PeerOptions & { path: string; rs: number }): Promise<void> {
  pinSelf(o.cpuB);
  const { ring, native } = await loadIsthmus();
  const region = native.openFile(o.path);
  const notifier = nativeNotifier(native);
  const r = ring.Ring.open(region.buffer, 0, o.rs).join('consumer', ring.selfIdentity(), notifier) as any;
  const i32 = new Int32Array(region.buffer);
  const dv = new DataView(region.buffer);
  const h = new Histogram();
  markCpu();
  for (let i = 1; i <= o.iters; i++) {
    let q = r.receive();
    while (q < 0) {
      if (r.waitData(10_000, notifier) !== 'ok') throw new Error('wakeup: timed out');
      q = r.receive();
    }
    h.record(Math.max(0, performance.timeOrigin * 1e6 + performance.now() * 1e6 - dv.getFloat64(q, true)));
    r.release();
    Atomics.store(i32, o.rs >> 2, i);
  }
  r.close();
  region.close();
  process.stdout.write(JSON.stringify(h.summary()) + '\n');
}

// ------------------------------------------------------------------------------------
async function main(): Promise<void> {
  const [system = '', scenario = '', side = '', json = '{}'] = process.argv.slice(2);
  const o = JSON.parse(json) as PeerOptions & Record<string, any>;
  gOpts = o;
  if (side === 'a') pinSelf(o.cpuA);
  if (side === 'b' && o.cpuFile && system !== 'worker-threads') {
    const f = o.cpuFile;
    process.on('exit', () => { try { writeFileSync(f, String(Math.round(cpuSince()))); } catch { /* A is gone */ } });
  }
  const table: Record<string, [(s: string, o: any) => Promise<void>, (s: string, o: any) => Promise<void>]> = {
    'node-child-process': [childProcessA, childProcessB],
    'uds-json': [udsA, udsB],
    'isthmus-ts-ts': [isthmusTsA, isthmusTsB],
    'isthmus-ts-c': [isthmusTsCA, isthmusTsB],
    'isthmus-ts-as': [isthmusTsAsA, isthmusAsB],
    'isthmus-fanout': [fanoutA, fanoutB],
    'isthmus-wakeup': [wakeA, wakeB],
    'raw-ts-atomics': [rawTsA, rawTsB],
    'worker-threads': [workerA, workerB],
    'uds-flatbuffers': [fbA, fbB],
    'tcp-json': [(s, o) => udsA(s, o, 'tcp'), udsB],
    'zeromq-ipc': [zmqA, zmqB],
    'nats': [natsA, natsB],
  };
  const fns = table[system];
  if (!fns) throw new Error(`peer: unknown system ${system}`);
  await fns[side === 'a' ? 0 : 1](scenario, o);
}

if (!isMainThread && (workerData as { worker?: boolean } | null)?.worker) {
  const [, scenario = '', , json = '{}'] = process.argv.slice(2);
  workerB(scenario, JSON.parse(json)).catch((err) => { process.stderr.write(`worker: ${(err as Error).stack}\n`); process.exit(1); });
} else if (process.argv[1] === self) {
  main().catch((err) => {
    process.stderr.write(`peer ${process.argv.slice(2, 5).join(' ')}: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
