/**
 * Shared set-up of the @isthmus/native tests: the package under test (its dist/, as a
 * user imports it), whether the addon is there, and a child Node process runner.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import * as native from '../dist/index.js';
import { CI } from '../../../test/ci.ts';

export { native };
export const PKG = join(import.meta.dirname, '..');
export const PEER = join(import.meta.dirname, 'fixtures', 'peer.ts');
export { CI };

if (!existsSync(join(PKG, 'dist', 'index.js'))) throw new Error('packages/native/dist is missing: run `npm run build` first');

const error = native.loadError();
if (error !== null && !CI) console.warn(`skipping the @isthmus/native tests: ${error.message}`);

/**
 * describe() when the addon loads; without it the suite is skipped, except with CI=true,
 * where it fails with the loader's message (what to install, how to build).
 */
export const withAddon = (name: string, body: () => void) => {
  if (error === null) return describe(name, body);
  if (!CI) return describe.skip(name, body);
  return describe(name, () => {
    body();
    throw error;
  });
};

/** A fresh temporary folder; removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-native-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface PeerResult { code: number | null; signal: string | null; stdout: string; stderr: string }

/** Runs the Node 24 child `args` (a script and its arguments) to completion. */
export function node(args: string[], env?: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<PeerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs the peer fixture and parses its JSON line; fails on any non-zero exit. */
export async function peer(path: string, step: string, arg = ''): Promise<Record<string, unknown>> {
  const r = await node([PEER, path, step, arg]);
  if (r.code !== 0) throw new Error(`peer ${step} exited ${r.code ?? r.signal}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as Record<string, unknown>;
}
