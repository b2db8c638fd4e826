/**
 * Compiles the AssemblyScript test modules (wasm/as/test/<name>.ts) into wasm/as/build/
 * with the pinned asc (node_modules/.bin/asc): threads (atomics) enabled, -O3.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BUILD = join(ROOT, 'wasm', 'as', 'build');
const ASC = join(ROOT, 'node_modules', 'assemblyscript', 'bin', 'asc.js');

/** Path of the built module; throws with asc's output when it fails or is missing. */
export function buildAs(name: string): string {
  if (!existsSync(ASC)) throw new Error(`AssemblyScript compiler not found at ${ASC}: run npm ci`);
  mkdirSync(BUILD, { recursive: true });
  const out = join(BUILD, `${name}.wasm`);
  const r = spawnSync(process.execPath, [ASC, join(ROOT, 'wasm', 'as', 'test', `${name}.ts`), '-o', out, '--enable', 'threads', '-O3', '--runtime', 'incremental'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`asc ${name}.ts failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  return out;
}
