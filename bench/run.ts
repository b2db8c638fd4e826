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
 *      bench/results/tmp/codec-quick.json with --quick).
 *
 * Arguments are passed to every benchmark (`--quick`); `--only ipc|ring|codec` runs one.
 * Exits non-zero when any part fails. See bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
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
if (!only || only === 'ring') step('ring hot paths (bench/ring.bench.ts)', process.execPath, [join(ROOT, 'bench', 'ring.bench.ts'), ...pass]);
if (!only || only === 'codec') step('codec (bench/codec.bench.ts)', process.execPath, [join(ROOT, 'bench', 'codec.bench.ts'), ...pass]);
