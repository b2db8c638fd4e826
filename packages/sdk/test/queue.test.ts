/**
 * The work queue with competing consumers: 4 producer processes, 2 worker processes;
 * every job is handled by exactly one worker. Then a worker dies with jobs queued and a
 * surviving worker adopts them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as isthmus from '@isthmus/sdk';
import { BookUpdate } from '../../../schemas/generated/ts/market.ts';
import { killAll, run, tempRoot, until } from './helpers.ts';

afterEach(killAll);

const jobsOf = (lines: string[]) => lines.filter((l) => l.startsWith('job ')).map((l) => Number(l.slice(4)));

describe('queue', () => {
  it('4 producer processes, 2 worker processes: each job handled exactly once', async () => {
    const { root, cleanup } = tempRoot();
    try {
      const workers = [run('worker.ts', [root, 'jobs']), run('worker.ts', [root, 'jobs'])];
      const ready = await Promise.all(workers.map((w) => w.waitLine((l) => l.startsWith('ready '))));
      expect(ready.map((l) => Number(l.slice(6))).sort()).toEqual([0, 1]);
      const producers = [0, 1, 2, 3].map((id) => run('producer.ts', [root, 'jobs', String(id + 1), '500']));
      const done = await Promise.all(producers.map((p) => p.waitLine((l) => l.startsWith('{')).then((l) => JSON.parse(l))));
      for (const d of done) {
        expect(d.done).toBe(500);
        expect(d.workers).toBe(2);
        expect(d.stats.sent).toBe(500);
      }
      await until(() => jobsOf(workers[0]!.lines).length + jobsOf(workers[1]!.lines).length >= 2000, 15_000, '2000 jobs handled');
      const a = jobsOf(workers[0]!.lines);
      const b = jobsOf(workers[1]!.lines);
      const all = [...a, ...b];
      expect(all.length).toBe(2000);
      expect(new Set(all).size).toBe(2000);
      const expected = new Set<number>();
      for (let p = 1; p <= 4; p++) for (let i = 0; i < 500; i++) expected.add(p * 100000 + i);
      expect(new Set(all)).toEqual(expected);
      // Round-robin spreads the work.
      expect(a.length).toBeGreaterThan(400);
      expect(b.length).toBeGreaterThan(400);
    } finally {
      cleanup();
    }
  });

  it('a worker killed with jobs queued: a live worker adopts its ring and handles them', async () => {
    const { root, cleanup } = tempRoot();
    const node = await isthmus.node({ root });
    try {
      // Worker 0 is slow (200 ms per job) and will be killed; worker 1 is fast.
      const slow = run('worker.ts', [root, 'work', '200']);
      await slow.waitLine((l) => l === 'ready 0');
      const fast = run('worker.ts', [root, 'work']);
      await fast.waitLine((l) => l === 'ready 1');
      const p = await node.queue('work', BookUpdate).producer();
      expect(p.workers).toBe(2);
      for (let i = 0; i < 40; i++) await p.sendAsync((m) => { m.side = 1; m.instrument_id = i; });
      await new Promise((r) => setTimeout(r, 100));
      slow.kill('SIGKILL');
      await slow.exited;
      const handledBySlow = jobsOf(slow.lines);
      // The fast worker handles the rest, including what was queued for the dead one
      // (the job the slow worker was in the middle of may be handled twice).
      await until(() => new Set([...handledBySlow, ...jobsOf(fast.lines)]).size === 40, 10_000, 'all 40 jobs handled');
      expect(handledBySlow.length).toBeLessThan(20);
      const dup = jobsOf(fast.lines).filter((j) => handledBySlow.includes(j));
      expect(dup.length).toBeLessThanOrEqual(1);
      // New jobs go to the live worker only.
      for (let i = 100; i < 110; i++) await p.sendAsync((m) => { m.side = 1; m.instrument_id = i; }, { timeoutMs: 2000 });
      await until(() => jobsOf(fast.lines).filter((j) => j >= 100).length === 10, 5000, 'new jobs on the live worker');
      expect(p.workers).toBe(1);
      fast.kill('SIGTERM');
      const summary = JSON.parse(await fast.waitLine((l) => l.startsWith('{')));
      expect(summary.adopted).toBeLessThanOrEqual(1);
    } finally {
      node.close();
      cleanup();
    }
  });
});
