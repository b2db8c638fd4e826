/**
 * Runs once before any test file: builds the C core's release tree (native/build/release:
 * isthmus_ringtool, ring_conformance, the ctest programs) so that test files running in
 * parallel find the tools built instead of racing to build the same tree. Without cmake
 * or ninja it does nothing (the tests that need the tools then skip, or fail with CI=true).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  const root = join(import.meta.dirname, '..');
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
