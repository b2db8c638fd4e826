/**
 * `npm run bench [-- --quick]`: every benchmark, one after the other, in one command.
 *
 *   1. builds the C core's release tools (native/build/release: isthmus_ringtool, which
 *      the isthmus-c-c figures need) with cmake, when they are missing or older than
 *      their sources;
 *   2. the cross-process IPC benchmark (bench/ipc/run.ts → bench/results/latest.json);
 *   3. the ring hot paths in one thread: ns and bytes allocated per message (bench/ring.bench.ts
 *      → bench/results/ring.json, or bench/results/tmp/ring-quick.json);
 *   4. the codec benchmark (bench/codec.bench.ts → bench/results/codec-latest.json, or
 *      bench/results/tmp/codec-quick.json with --quick);
 *   5. WASM: AssemblyScript in-place reads, WasmGC codecs, a jco component call
 *      (bench/wasm/*.bench.ts → bench/results/wasm-{as,gc,component}.json);
 *   6. boundaries: the network transport (bench/net.bench.ts), the VM guest
 *      (bench/vm.bench.ts) and every boundary side by side (bench/boundaries.bench.ts).
 *
 * Then the rows of 2–6 are added to bench/results/latest.json (and the dated file the IPC
 * run wrote), each with `"source"`: the benchmark that measured it, so one file holds the
 * whole run. Arguments are passed to every benchmark (`--quick`); `--only <part>` runs one
 * (ipc, ring, codec, wasm, net, vm, boundaries) and merges nothing.
 * Exits non-zero when any part fails. See bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args.splice(onlyAt, 2)[1] : undefined;
const pass = args;

function step(what: string, cmd: string, argv: string[]): void {
  console.log(`\nbench: ${what}`);
  const r = spawnSync(cmd, argv, { cwd: ROOT, stdio: 'inherit' });
  if (r.error || r.status !== 0) {
    console.error(`bench: ${what} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
    process.exit(1);
  }
}

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

if (!only || only === 'ipc') {
  const build = join(ROOT, 'native', 'build', 'release');
  const tool = join(build, 'isthmus_ringtool');
  const sources = Math.max(...['src', 'include', 'tools'].map((d) => newest(join(ROOT, 'native', d))), statSync(join(ROOT, 'native', 'CMakeLists.txt')).mtimeMs);
  if (!existsSync(tool) || statSync(tool).mtimeMs < sources) {
    const ninja = spawnSync('ninja', ['--version'], { stdio: 'ignore' }).status === 0;
    step('configure the C core (release)', 'cmake', ['-S', join(ROOT, 'native'), '-B', build, ...(ninja ? ['-G', 'Ninja'] : []), '-DCMAKE_BUILD_TYPE=Release']);
    step('build the C core tools', 'cmake', ['--build', build, '--parallel', '2']);
  }
  step('cross-process IPC (bench/ipc/run.ts)', process.execPath, [join(ROOT, 'bench', 'ipc', 'run.ts'), ...pass]);
}
const quick = pass.includes('--quick');
const R = (full: string, q = full) => join(ROOT, 'bench', 'results', quick ? q : full);
/** The other benchmarks: what runs them, and where their rows land (full run, quick run). */
const PARTS: { part: string; what: string; file: string; out: string; outFlag?: boolean }[] = [
  { part: 'ring', what: 'ring hot paths', file: 'ring.bench.ts', out: R('ring.json', 'tmp/ring-quick.json') },
  { part: 'codec', what: 'codec', file: 'codec.bench.ts', out: R('codec-latest.json', 'tmp/codec-quick.json') },
  { part: 'wasm', what: 'AssemblyScript in-place reads', file: 'wasm/as.bench.ts', out: R('wasm-as.json') },
  { part: 'wasm', what: 'WasmGC codecs', file: 'wasm/gc.bench.ts', out: R('wasm-gc.json', 'tmp/wasm-gc-quick.json'), outFlag: true },
  { part: 'wasm', what: 'jco component calls', file: 'wasm/component.bench.ts', out: R('wasm-component.json', 'tmp/wasm-component-quick.json'), outFlag: true },
  { part: 'net', what: 'network transport', file: 'net.bench.ts', out: R('net.json', 'tmp/net-quick.json') },
  { part: 'vm', what: 'VM guest', file: 'vm.bench.ts', out: R('vm.json', 'tmp/vm-quick.json'), outFlag: true },
  { part: 'boundaries', what: 'every boundary', file: 'boundaries.bench.ts', out: R('boundaries.json', 'tmp/boundaries-quick.json'), outFlag: true },
];
for (const p of PARTS) {
  if (only && only !== p.part) continue;
  step(`${p.what} (bench/${p.file})`, process.execPath, [join(ROOT, 'bench', p.file), ...pass, ...(p.outFlag ? ['--out', p.out] : [])]);
}

// One file for the whole run: the IPC document plus every other benchmark's rows.
if (!only) {
  const latest = join(ROOT, 'bench', 'results', 'latest.json');
  const doc = JSON.parse(readFileSync(latest, 'utf8')) as { host: { date?: string; hostname?: string }; results: Record<string, unknown>[]; sources?: Record<string, string> };
  doc.results = doc.results.filter((r) => r.source === undefined || r.source === 'bench/ipc/run.ts');
  doc.sources = { 'bench/ipc/run.ts': 'bench/results/latest.json' };
  for (const p of PARTS) {
    if (p.part === 'codec') continue; // per-operation codec figures, not messages: bench/results/codec-latest.json
    const rows = (JSON.parse(readFileSync(p.out, 'utf8')) as { results: Record<string, unknown>[] }).results;
    for (const r of rows) doc.results.push({ ...r, source: `bench/${p.file}` });
    doc.sources[`bench/${p.file}`] = p.out.slice(ROOT.length + 1);
  }
  const text = JSON.stringify(doc, null, 2) + '\n';
  writeFileSync(latest, text);
  const dated = doc.host.date && doc.host.hostname ? join(ROOT, 'bench', 'results', `${doc.host.date.slice(0, 10)}-${doc.host.hostname.replace(/[^A-Za-z0-9._-]/g, '_')}.json`) : null;
  if (dated && existsSync(dated)) writeFileSync(dated, text);
  console.log(`\nbench: merged ${PARTS.length - 1} benchmarks' rows into ${latest}${dated && existsSync(dated) ? ` and ${dated}` : ''}`);
}
