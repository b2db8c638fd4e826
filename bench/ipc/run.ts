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
import { cpus, availableParallelism, loadavg, release, totalmem } from 'node:os';
import { dirname, resolve, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { nativeDist, repoRoot, ringDist, ringSrc } from './peer.ts';

type System = 'raw-c-atomics' | 'raw-ts-atomics' | 'isthmus-c-c' | 'isthmus-ts-ts' | 'node-child-process' | 'uds-json';
type Scenario = 'pingpong' | 'throughput' | 'wakeup';

interface Job { system: System; scenario: Scenario; payload: number }
interface Sample { p50_ns?: number; p99_ns?: number; p999_ns?: number; max_ns?: number; msgs_per_s?: number; gb_per_s?: number; timer_ns?: number }
export interface Result {
  system: System; scenario: Scenario; payload: number;
  p50_ns: number | null; p99_ns: number | null; p999_ns: number | null; max_ns: number | null;
  msgs_per_s: number | null; gb_per_s: number | null;
  reps: number;
  /** Ping-pong: what one clock read adds to a timed round trip, subtracted from every sample. */
  timer_ns: number | null;
  /** min and max over the repetitions of the headline figure (p50_ns or msgs_per_s). */
  spread: [number, number] | null;
}

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const argVal = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const filter = argVal('--filter');
const CI = process.env.CI === 'true';

const settings = quick
  ? { reps: 3, fastPing: 50_000, fastWarm: 5_000, slowPing: 4_000, slowWarm: 400, fastTp64: 1_000_000, fastTp4k: 200_000, slowTp: 20_000, wakeups: 300, capacity: 262_144 }
  : { reps: 5, fastPing: 200_000, fastWarm: 20_000, slowPing: 20_000, slowWarm: 2_000, fastTp64: 5_000_000, fastTp4k: 1_000_000, slowTp: 100_000, wakeups: 2_000, capacity: 262_144 };
if (argVal('--reps')) settings.reps = Number(argVal('--reps'));

const PAYLOADS = [64, 4096];
const CPU_A = 0;
const CPU_B = 1;
const JOB_TIMEOUT_MS = 120_000;

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

function buildRaw(): void {
  mkdirSync(buildDir, { recursive: true });
  if (existsSync(rawBin) && statSync(rawBin).mtimeMs >= statSync(rawSrc).mtimeMs) return;
  const r = spawnSync('gcc', ['-O2', '-std=c11', '-Wall', '-o', rawBin, rawSrc], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`gcc failed to build ${relative(repoRoot, rawSrc)} (is gcc installed?)`);
}

/** Why a system can not run here, or null when it can. */
async function missing(system: System): Promise<string | null> {
  if (system === 'isthmus-ts-ts') {
    if (!existsSync(ringSrc)) return `the TypeScript ring (${relative(repoRoot, ringSrc)}) is missing`;
    if (!existsSync(ringDist)) return `${relative(repoRoot, ringDist)} is missing: run \`npm run build\``;
    if (statSync(ringDist).mtimeMs < statSync(ringSrc).mtimeMs) return `${relative(repoRoot, ringDist)} is older than its source: run \`npm run build\``;
    if (!existsSync(nativeDist)) return `${relative(repoRoot, nativeDist)} is missing: build @isthmus/native`;
    const native = (await import(pathToFileURL(nativeDist).href)) as { available(): boolean; loadError(): Error | null };
    if (!native.available()) return `@isthmus/native can not load its addon: ${native.loadError()?.message}`;
    return null;
  }
  if (system === 'raw-ts-atomics') {
    if (!existsSync(nativeDist)) return `${relative(repoRoot, nativeDist)} is missing: build @isthmus/native`;
    const native = (await import(pathToFileURL(nativeDist).href)) as { available(): boolean; loadError(): Error | null };
    if (!native.available()) return `@isthmus/native can not load its addon: ${native.loadError()?.message}`;
    return null;
  }
  if (system === 'isthmus-c-c') {
    if (!existsSync(ringtool)) return `${relative(repoRoot, ringtool)} is missing: build the C core (release)`;
    return null;
  }
  return null;
}

// ------------------------------------------------------------------------------------
// Running one measurement
// ------------------------------------------------------------------------------------
/** Runs a command to completion; with `json`, resolves to the last JSON line it printed. */
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
      const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (code !== 0) return rej(new Error(`${cmd} ${argv.join(' ')} failed (${code ?? sig}): ${stderr.trim() || stdout.trim()}`));
      if (!json) return res({});
      if (!line) return rej(new Error(`${cmd} ${argv.join(' ')} printed no JSON: ${stdout.trim()}`));
      res(JSON.parse(line) as Sample);
    });
  });
}

function measure(job: Job): Promise<Sample> {
  const { system, scenario, payload } = job;
  const fast = system.startsWith('raw') || system.startsWith('isthmus');
  const iters = scenario === 'pingpong'
    ? (fast ? settings.fastPing : settings.slowPing)
    : fast ? (payload <= 64 ? settings.fastTp64 : settings.fastTp4k) : settings.slowTp;
  const warmup = fast ? settings.fastWarm : settings.slowWarm;
  switch (system) {
    case 'raw-c-atomics':
      if (scenario === 'wakeup') return run(rawBin, ['wakeup', String(settings.wakeups), String(cpuA), String(cpuB)]);
      if (scenario === 'pingpong') return run(rawBin, ['pingpong', String(payload), String(iters), String(warmup), String(cpuA), String(cpuB)]);
      return run(rawBin, ['throughput', String(payload), String(iters), String(settings.capacity), String(cpuA), String(cpuB)]);
    case 'isthmus-c-c':
      return runRingtool(job, iters, warmup);
    default: {
      const opts = { payload, iters, warmup, cpuA, cpuB, capacity: settings.capacity };
      return run(process.execPath, [resolve(here, 'peer.ts'), system, scenario, 'a', JSON.stringify(opts)]);
    }
  }
}

/**
 * isthmus-c-c: the C core's ring tool (native/tools/isthmus_ringtool.c), two processes over
 * Isthmus SPSC rings, driven through the CLI that tool was specified with:
 *   isthmus_ringtool pingpong <path-a> <path-b> <iterations> --payload N --spin --create --capacity C --slots S
 *   isthmus_ringtool pong     <path-a> <path-b> <iterations> --payload N --spin  (the echo side; opens, retrying)
 * --spin makes both sides busy-poll isthmus_ring_receive / isthmus_ring_loan (as the TS
 * peers busy-poll receive() / loan()), so a round trip never waits for a futex wake-up.
 * pingpong prints {"p50_ns","p99_ns","max_ns"} (no p99.9, so that field is null), measured
 * by the tool itself: it runs iterations/10 warm-up rounds, does not subtract its clock cost,
 * and writes the payload pattern (bytes 0..7 = i, byte k = (i + k) & 0xff) with one memcpy
 * from a pattern table and checks it with one memcmp.
 *   isthmus_ringtool consume <path> <count> --create --capacity C --slots S --kind spsc
 *   isthmus_ringtool produce <path> <count> --payload N
 * Sides are pinned with `taskset -c`. The ping side starts first, the pong side 100 ms later.
 * Throughput is timed here, from the producer's start to the consumer's exit, so it includes
 * process start-up (a few ms against ≥ 100 ms of traffic) and the futex waits the tool uses
 * when the ring is full or empty.
 */
function pinnedCmd(cpu: number, cmd: string, argv: string[]): [string, string[]] {
  return cpu >= 0 && haveTaskset ? ['taskset', ['-c', String(cpu), cmd, ...argv]] : [cmd, argv];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function runRingtool(job: Job, iters: number, _warmup: number): Promise<Sample> {
  const base = `/dev/shm/isthmus-bench-cc-${process.pid}`;
  const files = [`${base}-a`, `${base}-b`, `${base}-tp`];
  const cleanup = (): void => { for (const f of files) if (existsSync(f)) unlinkSync(f); };
  cleanup();
  try {
    if (job.scenario === 'pingpong') {
      // --spin: both sides busy-poll receive/loan (as the TS peers do) instead of parking on the futex.
      const common = [files[0]!, files[1]!, String(iters), '--payload', String(job.payload), '--spin'];
      const ping = run(...pinnedCmd(cpuA, ringtool, ['pingpong', ...common, '--create', '--capacity', String(settings.capacity), '--slots', '4']));
      await sleep(100);
      const pong = run(...pinnedCmd(cpuB, ringtool, ['pong', ...common]), false);
      const [r] = await Promise.all([ping, pong]);
      return r;
    }
    const consume = run(...pinnedCmd(cpuA, ringtool, ['consume', files[2]!, String(iters), '--create', '--capacity', String(settings.capacity), '--slots', '4', '--kind', 'spsc']), false);
    await sleep(100);
    const t0 = performance.now();
    await run(...pinnedCmd(cpuB, ringtool, ['produce', files[2]!, String(iters), '--payload', String(job.payload)]), false);
    await consume;
    const secs = (performance.now() - t0) / 1e3;
    const rate = iters / secs;
    return { msgs_per_s: rate, gb_per_s: (rate * job.payload) / 1e9 };
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

function aggregate(job: Job, samples: Sample[]): Result {
  const pick = (k: keyof Sample): number | null => {
    const xs = samples.map((s) => s[k]).filter((v): v is number => typeof v === 'number');
    return xs.length ? median(xs) : null;
  };
  const headline = samples.map((s) => (job.scenario === 'throughput' ? s.msgs_per_s : s.p50_ns)).filter((v): v is number => typeof v === 'number');
  const round = (v: number | null, digits = 0): number | null => (v === null ? null : Number(v.toFixed(digits)));
  return {
    ...job,
    p50_ns: round(pick('p50_ns')), p99_ns: round(pick('p99_ns')), p999_ns: round(pick('p999_ns')), max_ns: round(pick('max_ns')),
    msgs_per_s: round(pick('msgs_per_s')), gb_per_s: round(pick('gb_per_s'), 4),
    reps: samples.length,
    timer_ns: round(pick('timer_ns')),
    spread: headline.length ? [Math.min(...headline), Math.max(...headline)] : null,
  };
}

interface Ratio { value: number | null; target?: string; met?: boolean | null; what: string }

function ratios(results: Result[]): Record<string, Ratio> {
  const get = (system: System, scenario: Scenario, payload: number): Result | undefined =>
    results.find((r) => r.system === system && r.scenario === scenario && r.payload === payload);
  const div = (a: number | null | undefined, b: number | null | undefined): number | null =>
    a == null || b == null || b === 0 ? null : Number((a / b).toFixed(3));
  const out: Record<string, Ratio> = {};
  for (const p of PAYLOADS) {
    const tsP50 = get('isthmus-ts-ts', 'pingpong', p)?.p50_ns;
    const v = div(tsP50, get('raw-c-atomics', 'pingpong', p)?.p50_ns);
    out[`ts_ts_p50_over_raw_c_p50_${p}`] = { value: v, target: '<= 1.5', met: v === null ? null : v <= 1.5, what: `isthmus-ts-ts ping-pong p50 ÷ raw-c-atomics p50, ${p} B` };
    const c = div(get('isthmus-c-c', 'pingpong', p)?.p50_ns, get('raw-c-atomics', 'pingpong', p)?.p50_ns);
    out[`raw_ts_p50_over_raw_c_p50_${p}`] = { value: div(get('raw-ts-atomics', 'pingpong', p)?.p50_ns, get('raw-c-atomics', 'pingpong', p)?.p50_ns), what: `raw-ts-atomics ping-pong p50 ÷ raw-c-atomics p50, ${p} B (the JS floor)` };
    out[`ts_ts_p50_over_raw_ts_p50_${p}`] = { value: div(tsP50, get('raw-ts-atomics', 'pingpong', p)?.p50_ns), what: `isthmus-ts-ts p50 ÷ raw-ts-atomics p50, ${p} B (what the ring adds in JS)` };
    out[`c_c_p50_over_raw_c_p50_${p}`] = { value: c, what: `isthmus-c-c ping-pong p50 ÷ raw-c-atomics p50, ${p} B` };
    out[`child_process_p50_over_ts_ts_p50_${p}`] = { value: div(get('node-child-process', 'pingpong', p)?.p50_ns, tsP50), what: `node-child-process p50 ÷ isthmus-ts-ts p50, ${p} B` };
    out[`uds_json_p50_over_ts_ts_p50_${p}`] = { value: div(get('uds-json', 'pingpong', p)?.p50_ns, tsP50), what: `uds-json p50 ÷ isthmus-ts-ts p50, ${p} B` };
    out[`ts_ts_throughput_over_raw_c_${p}`] = { value: div(get('isthmus-ts-ts', 'throughput', p)?.msgs_per_s, get('raw-c-atomics', 'throughput', p)?.msgs_per_s), what: `isthmus-ts-ts msg/s ÷ raw-c-atomics msg/s, ${p} B` };
  }
  const tp = get('isthmus-ts-ts', 'throughput', 64)?.msgs_per_s ?? null;
  out.ts_ts_throughput_64_msgs_per_s = { value: tp, target: '>= 10000000', met: tp === null ? null : tp >= 10_000_000, what: 'isthmus-ts-ts SPSC throughput at 64 B, msg/s (an absolute figure, not a quotient)' };
  return out;
}

const fmtNs = (v: number | null): string => (v === null ? '–' : v >= 10_000 ? `${(v / 1000).toFixed(1)} µs` : `${Math.round(v)} ns`);
const fmtRate = (v: number | null): string => (v === null ? '–' : v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : `${(v / 1e3).toFixed(1)} k`);

function table(results: Result[], rs: Record<string, Ratio>): string {
  const lines = [
    '| system | scenario | payload | p50 | p99 | p99.9 | max | msg/s | GB/s | reps | spread (p50 or msg/s) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of results) {
    const spread = r.spread === null ? '–' : r.scenario === 'throughput' ? `${fmtRate(r.spread[0])}–${fmtRate(r.spread[1])}` : `${fmtNs(r.spread[0])}–${fmtNs(r.spread[1])}`;
    lines.push(`| ${r.system} | ${r.scenario} | ${r.payload} | ${fmtNs(r.p50_ns)} | ${fmtNs(r.p99_ns)} | ${fmtNs(r.p999_ns)} | ${fmtNs(r.max_ns)} | ${fmtRate(r.msgs_per_s)} | ${r.gb_per_s ?? '–'} | ${r.reps} | ${spread} |`);
  }
  lines.push('', '| ratio | value | target | met |', '|---|---:|---|---|');
  for (const [k, v] of Object.entries(rs)) {
    lines.push(`| ${v.what} (\`${k}\`) | ${v.value === null ? '–' : k.endsWith('msgs_per_s') ? fmtRate(v.value) : `${v.value}×`} | ${v.target ?? ''} | ${v.met === undefined ? '' : v.met === null ? '–' : v.met ? 'yes' : 'no'} |`);
  }
  return lines.join('\n');
}

// ------------------------------------------------------------------------------------
async function main(): Promise<void> {
  const started = Date.now();
  buildRaw();
  const systems: System[] = ['raw-c-atomics', 'raw-ts-atomics', 'isthmus-c-c', 'isthmus-ts-ts', 'node-child-process', 'uds-json'];
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
  for (const system of systems) {
    if (skipped[system]) continue;
    for (const scenario of ['pingpong', 'throughput'] as const) {
      if (system === 'raw-ts-atomics' && scenario === 'throughput') continue;
      for (const payload of PAYLOADS) jobs.push({ system, scenario, payload });
    }
  }
  jobs.push({ system: 'raw-c-atomics', scenario: 'wakeup', payload: 8 });
  const selected = jobs.filter((j) => !filter || `${j.system}/${j.scenario}/${j.payload}`.includes(filter));

  const load0 = loadavg()[0] ?? 0;
  const samples = new Map<Job, Sample[]>(selected.map((j) => [j, []]));
  for (let rep = 0; rep < settings.reps; rep++) {
    // Rotate the order each repetition so slow drift of the shared machine spreads evenly.
    for (let k = 0; k < selected.length; k++) {
      const job = selected[(k + rep * Math.max(1, Math.floor(selected.length / settings.reps))) % selected.length]!;
      const s = await measure(job);
      samples.get(job)!.push(s);
      process.stderr.write(`rep ${rep + 1}/${settings.reps} ${job.system} ${job.scenario} ${job.payload}: ${JSON.stringify(s)}\n`);
    }
  }
  const results = selected.map((j) => aggregate(j, samples.get(j)!));
  const rs = ratios(results);

  const host = {
    cpu_model: cpuModel(),
    cores,
    memory_gib: Number((totalmem() / 2 ** 30).toFixed(1)),
    kernel: release(),
    node: process.version,
    gcc: (spawnSync('gcc', ['-dumpfullversion'], { encoding: 'utf8' }).stdout ?? '').trim() || null,
    pinning: pinned ? `side A on cpu ${CPU_A}, side B on cpu ${CPU_B} (sched_setaffinity in C, taskset -a -p for Node peers)` : 'none (taskset missing or fewer than 2 cores)',
    load_avg_1m_at_start: Number(load0.toFixed(2)),
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    filter: filter ?? null,
    settings,
    timer: 'CLOCK_MONOTONIC (clock_gettime in C, performance.now() in Node)',
    notes: [
      'Ping-pong figures are one-way latency: (round trip - timer_ns) / 2, where timer_ns (the median of back-to-back clock reads, measured by each side A) is what the clock itself adds to a timed interval; one histogram per repetition; a figure is the median over the repetitions.',
      'Spinning ping-pong runs exactly two spinning processes (sides A and B, pinned to distinct cores); the harness process only waits. On a 2-core machine anything else running perturbs the spinning figures.',
      'Throughput: side B produces, side A consumes and reports the rate over the last 90 % of the messages (the first 10 % warm up). GB/s counts payload bytes only.',
      'wakeup: the consumer is parked in FUTEX_WAIT on a shared word; the producer stamps CLOCK_MONOTONIC, stores the word and FUTEX_WAKEs; the figure is stamp -> consumer running.',
      'raw-c-atomics is bench/ipc/raw_atomics.c (gcc -O2); node-child-process uses fork() with serialization json; uds-json uses newline-delimited JSON over a Unix socket.',
      `Isthmus rings: SPSC, capacity ${settings.capacity} B; raw-c-atomics throughput uses a slot ring of the same capacity.`,
    ],
    skipped,
    duration_s: 0,
  };
  host.duration_s = Math.round((Date.now() - started) / 1000);

  // A --filter run measures only some cases: it must not replace the complete figures.
  const outPath = resolve(repoRoot, filter ? 'bench/results/tmp/latest-filtered.json' : 'bench/results/latest.json');
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, JSON.stringify({ host, results, ratios: rs }, null, 2) + '\n');
  process.stdout.write(`\n## IPC benchmark (${quick ? 'quick' : 'full'}) — ${host.cpu_model}, ${cores} cores, Node ${process.version}, pinning: ${pinned ? 'yes' : 'no'}\n\n`);
  process.stdout.write(table(results, rs) + '\n');
  if (Object.keys(skipped).length) process.stdout.write(`\nSkipped: ${Object.entries(skipped).map(([s, w]) => `${s} (${w})`).join('; ')}\n`);
  process.stdout.write(`\nSpinning ping-pong used exactly 2 spinning processes; the machine must be otherwise idle for the figures to mean anything (load avg at start: ${host.load_avg_1m_at_start}).\nWrote ${relative(repoRoot, outPath)} in ${host.duration_s} s.\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
