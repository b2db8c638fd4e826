/**
 * Liveness (docs/ring.md §5): a process killed but not yet reaped by its parent is a zombie.
 * It keeps /proc/<pid>/stat with the same start time until it is reaped, yet it runs no more
 * code: it must count as dead, or a block-policy publisher waits for it until its parent
 * gets round to wait(). The parent here is a Python process that never reaps.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as isthmus from '@isthmus/sdk';
import { isAlive, procStartTime } from '../dist/ring/index.js';
import { BookUpdate } from '../../../schemas/generated/ts/market.ts';
import { FIXTURES, NODE, tempRoot, until, watch } from './helpers.ts';

/** Runs `argv` under a Python parent that prints the child's pid and never reaps it. */
function unreaped(argv: string[]) {
  const py = 'import subprocess, sys, time\np = subprocess.Popen(sys.argv[1:])\nprint(p.pid, flush=True)\ntime.sleep(120)\n';
  const parent = spawn('python3', ['-c', py, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  return watch(parent, 'python parent');
}
const state = (pid: number) => spawnSync('sh', ['-c', `cut -d' ' -f3 /proc/${pid}/stat`], { encoding: 'utf8' }).stdout.trim();

describe('zombies are dead', () => {
  it('isAlive() is false for a killed, unreaped process with the same start time', async () => {
    const parent = unreaped(['sleep', '100']);
    try {
      const pid = Number(await parent.waitLine(() => true));
      const start = procStartTime(pid)!;
      expect(isAlive(pid, start)).toBe(true);
      process.kill(pid, 'SIGKILL');
      await until(() => state(pid) === 'Z', 5000, 'the child to become a zombie');
      expect(procStartTime(pid)).toBe(start);
      expect(isAlive(pid, start)).toBe(false);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('a block publisher whose subscriber was killed and not reaped goes on within the unblock bound', async () => {
    const { root, cleanup } = tempRoot();
    const node = await isthmus.node({ root });
    const parent = unreaped([NODE, join(FIXTURES, 'sub.ts'), root, 'z', '1000000000']);
    try {
      const pub = await node.publisher('z', BookUpdate, { capacity: 1 << 13, policy: 'block' });
      const pid = Number(await parent.waitLine(() => true));
      await until(() => pub.subscribers() === 1, 10_000, 'the subscriber to join');
      process.kill(pid, 'SIGKILL');
      await until(() => state(pid) === 'Z', 5000, 'the subscriber to become a zombie');
      // Fill the ring: the dead reader never frees it.
      let seq = 0n;
      while (pub.trySend((m) => { m.seq = ++seq; m.side = 1; }));
      const t0 = Date.now();
      await pub.sendAsync((m) => { m.seq = ++seq; m.side = 1; }, { timeoutMs: 5000 });
      const held = Date.now() - t0;
      expect(held).toBeLessThan(2500); // the ring's unblock bound is ~1 s (ring.md §6); a zombie counted alive held it until the 5 s timeout
      expect(pub.subscribers()).toBe(0);
    } finally {
      parent.kill('SIGKILL');
      node.close();
      cleanup();
    }
  }, 30_000);
});
