/**
 * Cross-process IPC benchmark: ping-pong latency, SPSC throughput and futex wake-up
 * latency for Isthmus rings and the references they are judged against, all measured in
 * one run on one machine.
 *
 *   npm exec -- node bench/ipc/run.ts [--quick] [--reps N] [--filter TEXT]
 *
 * Both full and --quick runs write bench/results/latest.json (host.mode says which); a run
 * with --filter writes bench/results/tmp/latest-filtered.json (git-ignored) instead.
 * Each measurement runs in two fresh processes pinned to distinct cores (this process only
 * waits), repeated several times in rotating order; a reported figure is the median over
 * the repetitions. See bench/README.md, "IPC benchmark".
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { cpus, availableParallelism, hostname, loadavg, release, totalmem } from 'node:os';
import { createServer, connect } from 'node:net';
import { dirname, resolve, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { nativeDist, repoRoot, ringDist, ringSrc } from './peer.ts';
import { loadFlatbuffers } from './message.ts';
import { writePlots } from './plot.ts';
import { CI } from '../../test/ci.ts';

type System = string;
type Scenario = 'pingpong' | 'throughput' | 'wakeup' | 'copy' | 'fanout';

interface Job { system: System; scenario: Scenario; payload: number; subscribers?: number }
interface Sample { p50_ns?: number; p99_ns?: number; p999_ns?: number; max_ns?: number; msgs_per_s?: number; gb_per_s?: number; timer_ns?: number; cpu_ns?: number; cpu_msgs?: number; parking?: boolean; lost?: number }
export interface Result {
  system: System; scenario: Scenario; payload: number; subscribers?: number;
  p50_ns: number | null; p99_ns: number | null; p999_ns: number | null; max_ns: number | null;
  msgs_per_s: number | null; gb_per_s: number | null;
  /** CPU time of every process of the system (both sides; NATS: + the broker) per message, ns. */
  cpu_ns_per_msg: number | null;
  reps: number;
  /** Ping-pong: what one clock read adds to a timed round trip, subtracted from every sample. */
  timer_ns: number | null;
  /** min and max over the repetitions of the headline figure (p50_ns or msgs_per_s). */
  spread: [number, number] | null;
  parking?: boolean;
  /** iceoryx2 throughput: messages that never arrived (sequence gaps), summed over the repetitions. */
  lost?: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const argVal = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const filter = argVal('--filter');

/**
 * Iteration counts: `n` at 64 B, fewer for large payloads (at most `bytes` of payload per
 * measurement, at least `min` messages). "fast" systems are the shared-memory ones.
 */
const settings = quick
  ? { reps: 1, payloads: [64, 4096, 65536, 1048576], fanoutPayload: 424, subscribers: [1, 2, 4, 8],
      fastPing: { n: 20_000, bytes: 256e6, min: 100 }, slowPing: { n: 2_000, bytes: 32e6, min: 40 },
      fastTp: { n: 200_000, bytes: 2e9, min: 400 }, slowTp: { n: 10_000, bytes: 128e6, min: 100 },
      fanoutMsgs: 20_000, wakeups: 200, memcpy: { n: 2_000_000, bytes: 4e9, min: 200 } }
  : { reps: 3, payloads: [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304], fanoutPayload: 424, subscribers: [1, 2, 4, 8],
      fastPing: { n: 100_000, bytes: 1e9, min: 200 }, slowPing: { n: 10_000, bytes: 128e6, min: 50 },
      fastTp: { n: 2_000_000, bytes: 8e9, min: 1_000 }, slowTp: { n: 50_000, bytes: 512e6, min: 200 },
      fanoutMsgs: 100_000, wakeups: 1_000, memcpy: { n: 10_000_000, bytes: 16e9, min: 500 } };
if (argVal('--reps')) settings.reps = Number(argVal('--reps'));
const count = (c: { n: number; bytes: number; min: number }, payload: number): number =>
  Math.max(c.min, Math.min(c.n, Math.floor(c.bytes / Math.max(64, payload))));
/** Ring data area for a payload: at least 256 KiB, and room for 4 messages. */
const capacityFor = (payload: number): number => Math.max(262_144, 2 ** Math.ceil(Math.log2(4 * (payload + 64))));

const PAYLOADS = settings.payloads;
const CPU_A = 0;
const CPU_B = 1;
const JOB_TIMEOUT_MS = 180_000;

/** Every system, in table order. fast: shared memory (bigger iteration counts). */
const SYSTEMS: { id: System; fast: boolean; what: string; scenarios: Scenario[] }[] = [
  { id: 'memcpy', fast: true, what: 'one memcpy of the payload in one process (bandwidth floor)', scenarios: ['copy'] },
  { id: 'raw-c-atomics', fast: true, what: 'bench/ipc/raw_atomics.c: C11 atomics over MAP_SHARED, no protocol (the physical limit)', scenarios: ['pingpong', 'throughput', 'wakeup'] },
  { id: 'raw-ts-atomics', fast: true, what: 'the raw exchange in JS (Atomics on a SharedArrayBuffer)', scenarios: ['pingpong'] },
  { id: 'isthmus-ts-ts', fast: true, what: 'Isthmus SPSC rings, TypeScript both sides', scenarios: ['pingpong', 'throughput', 'wakeup', 'fanout'] },
  { id: 'isthmus-c-c', fast: true, what: 'Isthmus SPSC rings, C core both sides (isthmus_ringtool)', scenarios: ['pingpong', 'throughput'] },
  { id: 'isthmus-ts-c', fast: true, what: 'Isthmus: TypeScript side A, C isthmus_ringtool side B', scenarios: ['pingpong', 'throughput'] },
  { id: 'isthmus-ts-as', fast: true, what: 'Isthmus: TypeScript side A, AssemblyScript (wasm, WasmHost) side B', scenarios: ['pingpong', 'throughput'] },
  { id: 'iceoryx2', fast: true, what: 'iceoryx2 0.10 publish-subscribe (Rust, bench/peers/iceoryx2), busy-poll', scenarios: ['pingpong', 'throughput'] },
  { id: 'node-child-process', fast: false, what: 'child_process.fork IPC, serialization json', scenarios: ['pingpong', 'throughput'] },
  { id: 'worker-threads', fast: false, what: 'worker_threads postMessage (structured clone of a Uint8Array)', scenarios: ['pingpong', 'throughput'] },
  { id: 'uds-json', fast: false, what: 'Unix socket, newline-delimited JSON', scenarios: ['pingpong', 'throughput'] },
  { id: 'uds-flatbuffers', fast: false, what: 'Unix socket, length-prefixed FlatBuffers BookUpdate', scenarios: ['pingpong', 'throughput'] },
  { id: 'tcp-json', fast: false, what: 'TCP loopback (127.0.0.1, TCP_NODELAY), newline-delimited JSON', scenarios: ['pingpong', 'throughput'] },
  { id: 'zeromq-ipc', fast: false, what: 'ZeroMQ PAIR over ipc:// (npm zeromq 6)', scenarios: ['pingpong', 'throughput'] },
  { id: 'nats', fast: false, what: 'NATS (nats-server on loopback + npm nats 2)', scenarios: ['pingpong', 'throughput'] },
];

// ------------------------------------------------------------------------------------
// Host and prerequisites
// ------------------------------------------------------------------------------------
const haveTaskset = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
const cores = availableParallelism();
const pinned = haveTaskset && cores >= 2;
const cpuA = pinned ? CPU_A : -1;
const cpuB = pinned ? CPU_B : -1;

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) return m[1].trim();
  } catch { /* not Linux */ }
  return cpus()[0]?.model ?? 'unknown';
}

const buildDir = resolve(here, 'build');
const rawBin = resolve(buildDir, 'raw_atomics');
const rawSrc = resolve(here, 'raw_atomics.c');
const ringtool = resolve(repoRoot, 'native/build/release/isthmus_ringtool');
const iceDir = resolve(repoRoot, 'bench/peers/iceoryx2');
const iceBin = resolve(iceDir, 'target/release/isthmus-bench-iceoryx2');
const asSrc = resolve(repoRoot, 'bench/peers/as/echo.ts');
const asWasm = resolve(repoRoot, 'bench/peers/as/build/echo.wasm');
const mtime = (p: string): number => (existsSync(p) ? statSync(p).mtimeMs : 0);

function buildRaw(): void {
  mkdirSync(buildDir, { recursive: true });
  if (existsSync(rawBin) && statSync(rawBin).mtimeMs >= statSync(rawSrc).mtimeMs) return;
  const r = spawnSync('gcc', ['-O2', '-std=c11', '-Wall', '-o', rawBin, rawSrc], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`gcc failed to build ${relative(repoRoot, rawSrc)} (is gcc installed?)`);
}

/** cargo build --release of bench/peers/iceoryx2 when the binary is missing or older than its sources. */
function buildIceoryx2(): string | null {
  const srcs = [resolve(iceDir, 'Cargo.toml'), resolve(iceDir, 'Cargo.lock'), resolve(iceDir, 'src/main.rs')];
  if (existsSync(iceBin) && mtime(iceBin) >= Math.max(...srcs.map(mtime))) return null;
  if (spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status !== 0) return '`cargo` is not installed (rustup / Debian cargo)';
  process.stderr.write('bench: cargo build --release bench/peers/iceoryx2 (first time: a few minutes) ...\n');
  const r = spawnSync('cargo', ['build', '--release', '--locked', '--manifest-path', resolve(iceDir, 'Cargo.toml')], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) return `cargo build of bench/peers/iceoryx2 failed (exit ${r.status}; the crate must come from crates.io)`;
  return existsSync(iceBin) ? null : 'cargo build produced no binary';
}

/** asc build of the AssemblyScript echo module when missing or older than it or the AS ring library. */
function buildAs(): string | null {
  const asc = resolve(repoRoot, 'node_modules/assemblyscript/bin/asc.js');
  const deps = [asSrc, resolve(repoRoot, 'wasm/as/isthmus/ring.ts'), resolve(repoRoot, 'wasm/as/isthmus/host.ts')];
  if (existsSync(asWasm) && mtime(asWasm) >= Math.max(...deps.map(mtime))) return null;
  if (!existsSync(asc)) return 'AssemblyScript (node_modules/assemblyscript) is missing: npm ci';
  mkdirSync(dirname(asWasm), { recursive: true });
  const r = spawnSync(process.execPath, [asc, asSrc, '-o', asWasm, '--enable', 'threads', '-O3', '--runtime', 'incremental'], { stdio: 'inherit', cwd: repoRoot });
  return r.status === 0 ? null : `asc failed on ${relative(repoRoot, asSrc)}`;
}

async function nativeMissing(): Promise<string | null> {
  if (!existsSync(nativeDist)) return `${relative(repoRoot, nativeDist)} is missing: build @isthmus/native`;
  const native = (await import(pathToFileURL(nativeDist).href)) as { available(): boolean; loadError(): Error | null };
  return native.available() ? null : `@isthmus/native can not load its addon: ${native.loadError()?.message}`;
}

/** Why a system can not run here, or null when it can. */
async function missing(system: System): Promise<string | null> {
  const ts = (): string | null => {
    if (!existsSync(ringSrc)) return `the TypeScript ring (${relative(repoRoot, ringSrc)}) is missing`;
    if (!existsSync(ringDist)) return `${relative(repoRoot, ringDist)} is missing: run \`npm run build\``;
    if (statSync(ringDist).mtimeMs < statSync(ringSrc).mtimeMs) return `${relative(repoRoot, ringDist)} is older than its source: run \`npm run build\``;
    return null;
  };
  const tool = (): string | null => (existsSync(ringtool) ? null : `${relative(repoRoot, ringtool)} is missing: build the C core (release)`);
  const mod = async (name: string): Promise<string | null> => {
    try { await import(name); return null; } catch (e) { return `npm package \`${name}\` does not load (${(e as Error).message.split('\n')[0]}): npm ci`; }
  };
  switch (system) {
    case 'isthmus-ts-ts': return ts() ?? (await nativeMissing());
    case 'raw-ts-atomics': return nativeMissing();
    case 'isthmus-c-c': return tool();
    case 'isthmus-ts-c': return ts() ?? tool() ?? (await nativeMissing());
    case 'isthmus-ts-as': return ts() ?? (await nativeMissing()) ?? buildAs();
    case 'iceoryx2': return buildIceoryx2();
    case 'uds-flatbuffers': { const f = loadFlatbuffers(); return 'skip' in f ? f.skip : null; }
    case 'zeromq-ipc': return mod('zeromq');
    case 'nats':
      if (spawnSync('nats-server', ['--version'], { stdio: 'ignore' }).status !== 0) return '`nats-server` is not installed (apt-get install -y nats-server)';
      return mod('nats');
    default: return null;
  }
}

// ------------------------------------------------------------------------------------
// The NATS broker: one nats-server on a free loopback port for the whole run.
// ------------------------------------------------------------------------------------
let nats: { url: string; pid: number; stop(): void } | null = null;
async function startNats(): Promise<void> {
  const port = await new Promise<number>((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); });
  });
  // The default max_payload is 1 MiB; the sweep goes to 4 MiB (+ the message envelope).
  const conf = `/tmp/isthmus-bench-nats-${process.pid}.conf`;
  writeFileSync(conf, `max_payload: ${8 << 20}\n`);
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-c', conf], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((res) => { const c = connect(port, '127.0.0.1', () => { c.end(); res(true); }); c.on('error', () => res(false)); });
    if (ok) break;
    await sleep(50);
  }
  nats = { url: `127.0.0.1:${port}`, pid: child.pid!, stop: () => { child.kill('SIGTERM'); try { unlinkSync(conf); } catch { /* gone */ } } };
}
/** utime + stime of a live process, ns (/proc/<pid>/stat fields 14 and 15, clock ticks of 10 ms... USER_HZ). */
function procCpuNs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const hz = 100; // USER_HZ on Linux
  return ((Number(f[11]) + Number(f[12])) / hz) * 1e9;
}

// ------------------------------------------------------------------------------------
// Running one measurement
// ------------------------------------------------------------------------------------
/** Runs a command to completion; with `json`, resolves to its JSON lines merged (last wins). */
function run(cmd: string, argv: string[], json = true): Promise<Sample> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), JOB_TIMEOUT_MS);
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      const lines = stdout.trim().split('\n').filter((l) => l.startsWith('{'));
      if (code !== 0) return rej(new Error(`${cmd} ${argv.join(' ')} failed (${code ?? sig}): ${stderr.trim().slice(-2000) || stdout.trim()}`));
      if (!json) return res(Object.assign({}, ...lines.map((l) => JSON.parse(l))));
      if (!lines.length) return rej(new Error(`${cmd} ${argv.join(' ')} printed no JSON: ${stdout.trim()}`));
      res(Object.assign({}, ...lines.map((l) => JSON.parse(l))) as Sample);
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const isFast = (s: System): boolean => SYSTEMS.find((x) => x.id === s)!.fast;

async function measure(job: Job): Promise<Sample> {
  const { system, scenario, payload } = job;
  const fast = isFast(system);
  const iters = scenario === 'pingpong' ? count(fast ? settings.fastPing : settings.slowPing, payload)
    : scenario === 'throughput' ? count(fast ? settings.fastTp : settings.slowTp, payload)
    : scenario === 'fanout' ? settings.fanoutMsgs : settings.wakeups;
  const warmup = scenario === 'pingpong' ? Math.max(10, Math.floor(iters / 10)) : 0;
  const capacity = capacityFor(payload);
  switch (system) {
    case 'memcpy': {
      const s = await run(rawBin, ['memcpy', String(payload), String(count(settings.memcpy, payload)), String(cpuA)]);
      return s;
    }
    case 'raw-c-atomics':
      if (scenario === 'wakeup') return run(rawBin, ['wakeup', String(iters), String(cpuA), String(cpuB)]);
      if (scenario === 'pingpong') return run(rawBin, ['pingpong', String(payload), String(iters), String(warmup), String(cpuA), String(cpuB)]);
      return run(rawBin, ['throughput', String(payload), String(iters), String(capacity), String(cpuA), String(cpuB)]);
    case 'iceoryx2':
      if (scenario === 'pingpong') return run(iceBin, ['pingpong', String(payload), String(iters), String(warmup), String(cpuA), String(cpuB)]);
      return run(iceBin, ['throughput', String(payload), String(iters), String(Math.max(2, Math.min(256, Math.floor(capacity / Math.max(64, payload))))), String(cpuA), String(cpuB)]);
    case 'isthmus-c-c':
      return runRingtool(job, iters, capacity);
    default: {
      const peerSystem = scenario === 'fanout' ? 'isthmus-fanout' : scenario === 'wakeup' ? 'isthmus-wakeup' : system;
      const opts = {
        payload, iters, warmup, cpuA, cpuB, capacity, cores,
        cpuFile: `/tmp/isthmus-bench-cpu-${process.pid}`, subscribers: job.subscribers,
        natsUrl: nats?.url, ringtool, wrap: rawBin, wasm: asWasm,
      };
      const broker0 = system === 'nats' && nats ? procCpuNs(nats.pid) : 0;
      const s = await run(process.execPath, [resolve(here, 'peer.ts'), peerSystem, scenario, 'a', JSON.stringify(opts)]);
      if (system === 'nats' && nats && s.cpu_ns !== undefined) s.cpu_ns += procCpuNs(nats.pid) - broker0;
      return s;
    }
  }
}

/**
 * isthmus-c-c: the C core's ring tool (native/tools/isthmus_ringtool.c), two processes over
 * Isthmus SPSC rings, driven through its CLI:
 *   isthmus_ringtool pingpong <path-a> <path-b> <iterations> --payload N --spin --create --capacity C --slots 4
 *   isthmus_ringtool pong     <path-a> <path-b> <iterations> --payload N --spin
 *   isthmus_ringtool consume <path> <count> --create --capacity C --slots 4 --kind spsc --spin
 *   isthmus_ringtool produce <path> <count> --payload N --spin
 * --spin: both sides busy-poll. Each process runs under `raw_atomics exec` (its CPU time
 * from wait4) and `taskset -c`. Ping-pong is timed by the tool (p50/p99/max, no p99.9);
 * throughput by the harness, from the producer's start to the consumer's exit.
 */
function pinnedCmd(cpu: number, cmd: string, argv: string[]): [string, string[]] {
  const pin = cpu >= 0 && haveTaskset ? ['taskset', '-c', String(cpu)] : [];
  return [rawBin, ['exec', ...pin, cmd, ...argv]];
}

async function runRingtool(job: Job, iters: number, capacity: number): Promise<Sample> {
  const base = `/dev/shm/isthmus-bench-cc-${process.pid}`;
  const files = [`${base}-a`, `${base}-b`, `${base}-tp`];
  const cleanup = (): void => { for (const f of files) if (existsSync(f)) unlinkSync(f); };
  cleanup();
  try {
    if (job.scenario === 'pingpong') {
      const common = [files[0]!, files[1]!, String(iters), '--payload', String(job.payload), '--spin'];
      const ping = run(...pinnedCmd(cpuA, ringtool, ['pingpong', ...common, '--create', '--capacity', String(capacity), '--slots', '4']));
      await sleep(100);
      const pong = run(...pinnedCmd(cpuB, ringtool, ['pong', ...common]), false);
      const [r, p] = await Promise.all([ping, pong]);
      const cpu = ((r as any).child_cpu_ns ?? 0) + ((p as any).child_cpu_ns ?? 0);
      return { ...r, cpu_ns: cpu, cpu_msgs: iters + Math.floor(iters / 10) };
    }
    const consume = run(...pinnedCmd(cpuA, ringtool, ['consume', files[2]!, String(iters), '--create', '--capacity', String(capacity), '--slots', '4', '--kind', 'spsc', '--spin']), false);
    await sleep(100);
    const t0 = performance.now();
    const prod = await run(...pinnedCmd(cpuB, ringtool, ['produce', files[2]!, String(iters), '--payload', String(job.payload), '--spin']), false);
    const cons = await consume;
    const secs = (performance.now() - t0) / 1e3;
    const rate = iters / secs;
    return { msgs_per_s: rate, gb_per_s: (rate * job.payload) / 1e9, cpu_ns: ((prod as any).child_cpu_ns ?? 0) + ((cons as any).child_cpu_ns ?? 0), cpu_msgs: iters };
  } finally {
    cleanup();
  }
}

// ------------------------------------------------------------------------------------
// Aggregation and output
// ------------------------------------------------------------------------------------
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const LATENCY: Scenario[] = ['pingpong', 'wakeup', 'copy', 'fanout'];
const RATE: Scenario[] = ['throughput', 'copy', 'fanout'];

function aggregate(job: Job, samples: Sample[]): Result {
  const pick = (k: keyof Sample): number | null => {
    const xs = samples.map((s) => s[k]).filter((v): v is number => typeof v === 'number');
    return xs.length ? median(xs) : null;
  };
  const cpu = samples.filter((s) => s.cpu_ns !== undefined && s.cpu_msgs).map((s) => s.cpu_ns! / s.cpu_msgs!);
  const headline = samples.map((s) => (job.scenario === 'throughput' ? s.msgs_per_s : s.p50_ns)).filter((v): v is number => typeof v === 'number');
  const round = (v: number | null, digits = 0): number | null => (v === null ? null : Number(v.toFixed(digits)));
  const lat = LATENCY.includes(job.scenario);
  const rt = RATE.includes(job.scenario);
  const r: Result = {
    system: job.system, scenario: job.scenario, payload: job.payload,
    ...(job.subscribers !== undefined ? { subscribers: job.subscribers } : {}),
    p50_ns: lat ? round(pick('p50_ns')) : null, p99_ns: lat ? round(pick('p99_ns')) : null,
    p999_ns: lat ? round(pick('p999_ns')) : null, max_ns: lat ? round(pick('max_ns')) : null,
    msgs_per_s: rt ? round(pick('msgs_per_s')) : null, gb_per_s: rt ? round(pick('gb_per_s'), 4) : null,
    cpu_ns_per_msg: cpu.length ? round(median(cpu)) : null,
    reps: samples.length,
    timer_ns: round(pick('timer_ns')),
    spread: headline.length ? [Math.min(...headline), Math.max(...headline)] : null,
  };
  if (samples.some((s) => s.parking !== undefined)) r.parking = samples.some((s) => s.parking);
  if (samples.some((s) => s.lost !== undefined)) r.lost = samples.reduce((a, s) => a + (s.lost ?? 0), 0);
  return r;
}

interface Ratio { value: number | null; target?: string; met?: boolean | null; what: string }

function ratios(results: Result[]): Record<string, Ratio> {
  const get = (system: System, scenario: Scenario, payload: number): Result | undefined =>
    results.find((r) => r.system === system && r.scenario === scenario && r.payload === payload && r.subscribers === undefined);
  const div = (a: number | null | undefined, b: number | null | undefined): number | null =>
    a == null || b == null || b === 0 ? null : Number((a / b).toFixed(3));
  const goal = (v: number | null, ok: (v: number) => boolean): boolean | null => (v === null ? null : ok(v));
  const out: Record<string, Ratio> = {};
  const p50 = (s: System, p: number): number | null | undefined => get(s, 'pingpong', p)?.p50_ns;
  for (const p of PAYLOADS) {
    const ts = p50('isthmus-ts-ts', p);
    let v = div(ts, p50('raw-c-atomics', p));
    out[`ts_ts_p50_over_raw_c_p50_${p}`] = { value: v, target: '<= 1.3', met: goal(v, (x) => x <= 1.3), what: `goal: isthmus-ts-ts p50 ÷ raw-c-atomics p50 (the physical limit), ${p} B` };
    v = div(ts, p50('iceoryx2', p));
    out[`ts_ts_p50_over_iceoryx2_p50_${p}`] = { value: v, target: '<= 1', met: goal(v, (x) => x <= 1), what: `goal: isthmus-ts-ts p50 ÷ iceoryx2 p50, ${p} B` };
    v = div(p50('node-child-process', p), ts);
    out[`child_process_p50_over_ts_ts_p50_${p}`] = { value: v, target: '>= 100', met: goal(v, (x) => x >= 100), what: `goal: node-child-process p50 ÷ isthmus-ts-ts p50 (how many times lower Isthmus is), ${p} B` };
    out[`c_c_p50_over_raw_c_p50_${p}`] = { value: div(p50('isthmus-c-c', p), p50('raw-c-atomics', p)), what: `isthmus-c-c p50 ÷ raw-c-atomics p50, ${p} B` };
    out[`c_c_p50_over_iceoryx2_p50_${p}`] = { value: div(p50('isthmus-c-c', p), p50('iceoryx2', p)), what: `isthmus-c-c p50 ÷ iceoryx2 p50, ${p} B` };
    out[`ts_ts_p50_over_raw_ts_p50_${p}`] = { value: div(ts, p50('raw-ts-atomics', p)), what: `isthmus-ts-ts p50 ÷ raw-ts-atomics p50 (what the ring adds in JS), ${p} B` };
    for (const s of ['worker-threads', 'uds-json', 'tcp-json', 'uds-flatbuffers', 'zeromq-ipc', 'nats'])
      out[`${s.replace(/-/g, '_')}_p50_over_ts_ts_p50_${p}`] = { value: div(p50(s, p), ts), what: `${s} p50 ÷ isthmus-ts-ts p50, ${p} B` };
    out[`ts_ts_msgs_over_raw_c_msgs_${p}`] = { value: div(get('isthmus-ts-ts', 'throughput', p)?.msgs_per_s, get('raw-c-atomics', 'throughput', p)?.msgs_per_s), what: `isthmus-ts-ts msg/s ÷ raw-c-atomics msg/s, ${p} B` };
    out[`ts_ts_msgs_over_iceoryx2_msgs_${p}`] = { value: div(get('isthmus-ts-ts', 'throughput', p)?.msgs_per_s, get('iceoryx2', 'throughput', p)?.msgs_per_s), what: `isthmus-ts-ts msg/s ÷ iceoryx2 msg/s, ${p} B` };
  }
  const lo = PAYLOADS[0]!;
  const hi = PAYLOADS[PAYLOADS.length - 1]!;
  const flat = div(p50('isthmus-ts-ts', hi), p50('isthmus-ts-ts', lo));
  out.ts_ts_p50_flatness = { value: flat, target: '<= 1.2', met: goal(flat, (x) => x <= 1.2), what: `goal: isthmus-ts-ts p50 at ${hi} B ÷ p50 at ${lo} B (latency flat over the sweep)` };
  const rawFlat = div(p50('raw-c-atomics', hi), p50('raw-c-atomics', lo));
  out.raw_c_p50_flatness = { value: rawFlat, what: `raw-c-atomics p50 at ${hi} B ÷ at ${lo} B (what copying the payload costs the physical limit)` };
  const tp = get('isthmus-ts-ts', 'throughput', 64)?.msgs_per_s ?? null;
  out.ts_ts_throughput_64_msgs_per_s = { value: tp, target: '>= 10000000', met: goal(tp, (x) => x >= 10_000_000), what: 'isthmus-ts-ts SPSC throughput at 64 B, msg/s (an absolute figure, not a quotient)' };
  const wk = div(results.find((r) => r.system === 'isthmus-ts-ts' && r.scenario === 'wakeup')?.p50_ns, results.find((r) => r.system === 'raw-c-atomics' && r.scenario === 'wakeup')?.p50_ns);
  out.ts_ts_wakeup_over_raw_c_wakeup = { value: wk, what: 'isthmus-ts-ts wake-up p50 ÷ raw-c-atomics futex wake-up p50' };
  return out;
}

const fmtNs = (v: number | null): string => (v === null ? '–' : v >= 1e6 ? `${(v / 1e6).toFixed(2)} ms` : v >= 10_000 ? `${(v / 1000).toFixed(1)} µs` : `${Math.round(v)} ns`);
const fmtRate = (v: number | null): string => (v === null ? '–' : v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} k` : `${Math.round(v)}`);
const fmtSize = (b: number): string => (b >= 1048576 ? `${b / 1048576} MiB` : b >= 1024 ? `${b / 1024} KiB` : `${b} B`);

function table(results: Result[], rs: Record<string, Ratio>): string {
  const lines = [
    '| system | scenario | payload | subs | p50 | p99 | p99.9 | max | msg/s | GB/s | CPU/msg | reps |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    lines.push(`| ${r.system} | ${r.scenario}${r.parking ? ' (parking)' : ''} | ${fmtSize(r.payload)} | ${r.subscribers ?? ''} | ${fmtNs(r.p50_ns)} | ${fmtNs(r.p99_ns)} | ${fmtNs(r.p999_ns)} | ${fmtNs(r.max_ns)} | ${fmtRate(r.msgs_per_s)} | ${r.gb_per_s ?? '–'} | ${fmtNs(r.cpu_ns_per_msg)} | ${r.reps} |`);
  }
  lines.push('', '| ratio | value | target | met |', '|---|---:|---|---|');
  for (const [k, v] of Object.entries(rs)) {
    lines.push(`| ${v.what} (\`${k}\`) | ${v.value === null ? '–' : k.endsWith('msgs_per_s') ? fmtRate(v.value) : `${v.value}×`} | ${v.target ?? ''} | ${v.met === undefined ? '' : v.met === null ? '–' : v.met ? 'met' : 'not met'} |`);
  }
  return lines.join('\n');
}

// ------------------------------------------------------------------------------------
async function main(): Promise<void> {
  const started = Date.now();
  buildRaw();
  const systems = SYSTEMS.map((s) => s.id);
  const skipped: Record<string, string> = {};
  for (const s of systems) {
    const why = await missing(s);
    if (why) skipped[s] = why;
  }
  for (const [s, why] of Object.entries(skipped)) {
    process.stderr.write(`${CI ? 'error' : 'warning'}: ${s} ${CI ? 'can not run' : 'skipped'}: ${why}\n`);
  }
  if (CI && Object.keys(skipped).length) process.exit(1);

  const jobs: Job[] = [];
  for (const sys of SYSTEMS) {
    if (skipped[sys.id]) continue;
    for (const scenario of sys.scenarios) {
      if (scenario === 'wakeup') jobs.push({ system: sys.id, scenario, payload: 16 });
      else if (scenario === 'fanout') for (const n of settings.subscribers) jobs.push({ system: sys.id, scenario, payload: settings.fanoutPayload, subscribers: n });
      else for (const payload of PAYLOADS) jobs.push({ system: sys.id, scenario, payload });
    }
  }
  const id = (j: Job): string => `${j.system}/${j.scenario}/${j.payload}${j.subscribers ? `/${j.subscribers}` : ''}`;
  const selected = jobs.filter((j) => !filter || id(j).includes(filter));
  if (selected.some((j) => j.system === 'nats')) await startNats();

  const load0 = loadavg()[0] ?? 0;
  const samples = new Map<Job, Sample[]>(selected.map((j) => [j, []]));
  try {
    for (let rep = 0; rep < settings.reps; rep++) {
      // Rotate the order each repetition so slow drift of the shared machine spreads evenly.
      for (let k = 0; k < selected.length; k++) {
        const job = selected[(k + rep * Math.max(1, Math.floor(selected.length / settings.reps))) % selected.length]!;
        const s = await measure(job);
        samples.get(job)!.push(s);
        process.stderr.write(`rep ${rep + 1}/${settings.reps} [${k + 1}/${selected.length}] ${id(job)}: ${JSON.stringify(s)}\n`);
      }
    }
  } finally {
    nats?.stop();
  }
  const results = selected.map((j) => aggregate(j, samples.get(j)!));
  const rs = ratios(results);

  const host = {
    hostname: hostname(),
    cpu_model: cpuModel(),
    cores,
    memory_gib: Number((totalmem() / 2 ** 30).toFixed(1)),
    kernel: release(),
    node: process.version,
    gcc: (spawnSync('gcc', ['-dumpfullversion'], { encoding: 'utf8' }).stdout ?? '').trim() || null,
    rustc: (spawnSync('rustc', ['--version'], { encoding: 'utf8' }).stdout ?? '').trim() || null,
    nats_server: (spawnSync('nats-server', ['--version'], { encoding: 'utf8' }).stdout ?? '').trim() || null,
    pinning: pinned ? `side A on cpu ${CPU_A}, side B on cpu ${CPU_B} (sched_setaffinity in C and Rust, taskset -c for the ring tool, taskset -a -p for Node peers; fan-out subscribers all on cpu ${CPU_B})` : 'none (taskset missing or fewer than 2 cores)',
    load_avg_1m_at_start: Number(load0.toFixed(2)),
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    filter: filter ?? null,
    settings,
    systems: Object.fromEntries(SYSTEMS.map((s) => [s.id, s.what])),
    timer: 'CLOCK_MONOTONIC (clock_gettime in C and Rust, performance.now() in Node)',
    message: 'market.BookUpdate (schemas/market.isthmus) built by the Isthmus TS builder with its bids/asks vectors grown to fill the payload and zero-padded to it (5+5 levels at 424 B); raw bytes below the 0-level BookUpdate (64 B). JSON systems: { i, p } with p a string of payload characters; uds-flatbuffers: a FlatBuffers BookUpdate with about as many levels; raw-c-atomics, memcpy, isthmus-c-c, iceoryx2: their own byte pattern of the same size.',
    notes: [
      'Ping-pong figures are one-way latency: (round trip - timer_ns) / 2; one histogram per repetition; a figure is the median over the repetitions.',
      'Throughput: side B produces, side A consumes and reports the rate over the last 90 % of the messages. GB/s counts payload bytes only.',
      'cpu_ns_per_msg: user + system CPU time of every process of the system (both sides; NATS adds the nats-server broker) during the exchange, divided by the messages (ping-pong: round trips incl. warm-up). Busy-polling systems burn two cores by design; C tools are measured over their whole life (wait4 / getrusage).',
      `fan-out: one broadcast ring, isthmus-ts-ts, ${settings.fanoutPayload}-byte BookUpdate, N subscriber processes all on cpu ${CPU_B}; with N >= cores (${cores}) subscribers park on the ring futex (Reader.waitData) instead of spinning (rows marked parking). msg/s is the slowest subscriber's receive rate; latency is publish -> receive under that full-rate load (queueing included), worst subscriber.`,
      'wakeup: the consumer is parked (raw-c-atomics: FUTEX_WAIT; isthmus-ts-ts: Reader.waitData, the ring protocol park on data_futex); the producer stamps the time and publishes; the figure is stamp -> consumer running.',
      'iceoryx2 throughput: the consumer counts sequence gaps as lost (RetryUntilDelivered with a non-overflowing subscriber buffer still lost a few messages on this loaded machine); the rate counts delivered messages only; `lost` is recorded per row.',
      'memcpy: one process, one memcpy of the payload per message; the row is the bandwidth floor for the payload sizes, not IPC.',
    ],
    skipped,
    duration_s: 0,
  };
  host.duration_s = Math.round((Date.now() - started) / 1000);

  const doc = { host, results, ratios: rs };
  const md = `## IPC benchmark (${host.mode}) — ${host.cpu_model}, ${cores} cores, Node ${process.version}, ${host.date.slice(0, 10)}\n\n${table(results, rs)}\n` +
    (Object.keys(skipped).length ? `\nSkipped: ${Object.entries(skipped).map(([s, w]) => `${s} (${w})`).join('; ')}\n` : '');
  if (filter) {
    const outPath = resolve(repoRoot, 'bench/results/tmp/latest-filtered.json');
    mkdirSync(dirname(outPath), { recursive: true });
    writeFileSync(outPath, JSON.stringify(doc, null, 2) + '\n');
    process.stdout.write(`\n${md}\nWrote ${relative(repoRoot, outPath)} in ${host.duration_s} s.\n`);
    return;
  }
  const dir = resolve(repoRoot, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const dated = resolve(dir, `${host.date.slice(0, 10)}-${host.hostname.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
  writeFileSync(dated, JSON.stringify(doc, null, 2) + '\n');
  writeFileSync(resolve(dir, 'latest.json'), JSON.stringify(doc, null, 2) + '\n');
  writeFileSync(resolve(dir, 'latest.md'), md);
  const written = [dated, resolve(dir, 'latest.json'), resolve(dir, 'latest.md')];
  written.push(...(await writePlots(results, dir, `${host.mode} run, ${host.date.slice(0, 10)}, ${host.cpu_model}`)));
  process.stdout.write(`\n${md}\nLoad avg at start: ${host.load_avg_1m_at_start}. Wrote ${written.map((p) => relative(repoRoot, p)).join(', ')} in ${host.duration_s} s.\n`);
}

main().catch((err) => {
  nats?.stop();
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
