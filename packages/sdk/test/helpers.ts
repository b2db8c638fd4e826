/**
 * Test helpers: real child processes running fixture scripts with the pinned Node 24,
 * a private runtime directory per test, line-based coordination over stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '../../..');
export const FIXTURES = join(import.meta.dirname, 'fixtures');

/** Node 24 (the repository's pinned one when the running node is older). */
export const NODE = Number(process.versions.node.split('.')[0]) >= 24 ? process.execPath : join(ROOT, 'node_modules/.bin/node');

/** A fresh runtime directory on tmpfs; removed by the returned cleanup. */
export function tempRoot(): { root: string; cleanup(): void } {
  const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'isthmus-test-'));
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export interface Child {
  proc: ChildProcess;
  lines: string[];
  stderr: string[];
  /** Resolves with the first stdout line matching `pred` (seen already or later). */
  waitLine(pred: (l: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  kill(sig?: NodeJS.Signals): void;
}

const children = new Set<Child>();

/** Starts `fixtures/<script>` with `args`; its stdout lines are collected. */
export function run(script: string, args: string[], env: Record<string, string> = {}): Child {
  const proc = spawn(NODE, [join(FIXTURES, script), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const child = watch(proc, script);
  children.add(child);
  void child.exited.then(() => children.delete(child));
  return child;
}

/**
 * Collects the stdout lines (and stderr, when piped) of any child process; `label` names
 * it in errors. Also for benchmarks that spawn their own children.
 */
export function watch(proc: ChildProcess, label: string): Child {
  const lines: string[] = [];
  const stderr: string[] = [];
  const waiters: { pred: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  let buf = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (let k = waiters.length - 1; k >= 0; k--) {
        if (waiters[k]!.pred(line)) {
          waiters[k]!.resolve(line);
          waiters.splice(k, 1);
        }
      }
    }
  });
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (d: string) => stderr.push(d));
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, sig) => resolve(code ?? sig ?? -1)));
  return {
    proc,
    lines,
    stderr,
    exited,
    waitLine(pred, timeoutMs = 15_000) {
      const seen = lines.find(pred);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${label}: no matching line within ${timeoutMs} ms; stdout: ${lines.join(' | ')}; stderr: ${stderr.join('')}`)), timeoutMs);
        waiters.push({
          pred,
          resolve: (l) => {
            clearTimeout(t);
            resolve(l);
          },
        });
        void exited.then((code) => {
          clearTimeout(t);
          reject(new Error(`${label} exited (${code}) before a matching line; stdout: ${lines.join(' | ')}; stderr: ${stderr.join('')}`));
        });
      });
    },
    kill(sig = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(sig);
    },
  };
}

/** Kills every child still running (afterEach). */
export async function killAll(): Promise<void> {
  const all = [...children];
  for (const c of all) c.kill('SIGKILL');
  await Promise.all(all.map((c) => c.exited));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` until true or `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
