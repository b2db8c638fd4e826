/**
 * Runs once before any test file: builds the C core's release tree (native/build/release:
 * isthmus_ringtool, ring_conformance, the ctest programs) so that test files running in
 * parallel find the tools built instead of racing to build the same tree. Without cmake
 * or ninja it does nothing (the tests that need the tools then skip, or fail with CI=true).
 * It also builds the wasmtime host (wasm/wasmtime, cargo) into .cache/cargo/wasmtime, which
 * test/wasm-as.test.ts runs; without cargo it does nothing.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  const root = join(import.meta.dirname, '..');
  buildWasmtimeHost(root);
  const build = join(root, 'native', 'build', 'release');
  if (['cmake', 'ninja'].some((t) => spawnSync(t, ['--version'], { stdio: 'ignore' }).error)) return;
  for (const [cmd, args] of [
    ['cmake', ['-S', join(root, 'native'), '-B', build, '-G', 'Ninja', '-DCMAKE_BUILD_TYPE=Release']],
    ['ninja', ['-j2', '-C', build]],
  ] as const) {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`global setup: ${cmd} ${args.join(' ')} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  }
}

/** cargo build --release of wasm/wasmtime (a no-op when up to date; minutes when cold). */
function buildWasmtimeHost(root: string): void {
  if (spawnSync('cargo', ['--version'], { stdio: 'ignore' }).error) return;
  const r = spawnSync('cargo', ['build', '--release', '--quiet', '--manifest-path', join(root, 'wasm', 'wasmtime', 'Cargo.toml')], {
    encoding: 'utf8',
    env: { ...process.env, CARGO_TARGET_DIR: join(root, '.cache', 'cargo', 'wasmtime') },
  });
  if (r.status !== 0) throw new Error(`global setup: cargo build of wasm/wasmtime failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
}
