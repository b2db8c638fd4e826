/**
 * Locates the C side of the ring tests (native/build/release), building it with CMake and
 * Ninja when the sources are there and the binaries are not.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BUILD = join(ROOT, 'native', 'build', 'release');

function find(name: string): string | null {
  for (const p of [join(BUILD, name), join(BUILD, 'tools', name), join(BUILD, 'bin', name)]) if (existsSync(p)) return p;
  return null;
}

let built = false;

/** Path of a C tool, or a reason why it is not available. */
export function nativeTool(name: string): { path: string } | { missing: string } {
  let p = find(name);
  if (p === null && !built && existsSync(join(ROOT, 'native', 'CMakeLists.txt'))) {
    built = true;
    const cfg = spawnSync('cmake', ['-S', 'native', '-B', 'native/build/release', '-G', 'Ninja', '-DCMAKE_BUILD_TYPE=Release'], { cwd: ROOT, encoding: 'utf8' });
    if (cfg.status === 0) spawnSync('ninja', ['-j2', '-C', 'native/build/release'], { cwd: ROOT, encoding: 'utf8' });
    p = find(name);
  }
  return p === null ? { missing: `${name} not found in ${BUILD} (build: cmake -S native -B native/build/release -G Ninja && ninja -C native/build/release)` } : { path: p };
}
