/**
 * Multi-threaded stress of the rings over a plain SharedArrayBuffer with the in-process
 * notifier: real concurrency between worker threads, every byte of every payload checked.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { formatRing, markReady, type RingParams, regionSize } from '../src/ring/index.js';

const WORKER = new URL('./ring.stress.worker.ts', import.meta.url);

function region(p: RingParams): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(regionSize(p));
  formatRing(sab, 0, p, { pid: process.pid, uid: 0, startTime: 0n }, 0n);
  markReady(sab, 0);
  return sab;
}

interface Result { got: number; gaps: number; lost: number; errors: number; last: number; sent?: number; ready?: boolean }

function run(job: Record<string, unknown>): { done: Promise<Result>; ready: Promise<void> } {
  const w = new Worker(WORKER, { workerData: job });
  let readyRes!: () => void;
  const ready = new Promise<void>((r) => (readyRes = r));
  const done = new Promise<Result>((resolve, reject) => {
    w.on('message', (m: Result) => (m.ready ? readyRes() : resolve(m)));
    w.on('error', reject);
    w.on('exit', (c) => (c !== 0 ? reject(new Error(`worker exit ${c}`)) : readyRes()));
  });
  return { done, ready };
}

describe('ring stress (worker_threads)', () => {
  it('SPSC: 1M messages, sequence and pattern checked', async () => {
    const sab = region({ kind: 'spsc', capacity: 65536, slots: 2, maxMessage: 1024, typeId: 0n });
    const c = run({ sab, role: 'consumer', count: 1_000_000 });
    await c.ready;
    const p = run({ sab, role: 'producer', count: 1_000_000 });
    const [res] = await Promise.all([c.done, p.done]);
    expect(res).toMatchObject({ got: 1_000_000, errors: 0, gaps: 0, last: 999_999 });
  });

  it('MPSC: 4 producer workers, per-sender order and pattern checked', async () => {
    const sab = region({ kind: 'mpsc', capacity: 65536, slots: 5, maxMessage: 1024, typeId: 0n });
    const c = run({ sab, role: 'consumer', count: 100_000, producers: 4 });
    await c.ready;
    const ps = [0, 1, 2, 3].map(() => run({ sab, role: 'producer', count: 100_000 }).done);
    const [res] = await Promise.all([c.done, ...ps]);
    expect(res).toMatchObject({ got: 400_000, errors: 0 });
  });

  it('broadcast block: 3 subscribers each get every message in order', async () => {
    const sab = region({ kind: 'broadcast', capacity: 65536, slots: 4, maxMessage: 1024, typeId: 0n });
    const subs = [0, 1, 2].map(() => run({ sab, role: 'subscriber', count: 100_000 }));
    await Promise.all(subs.map((s) => s.ready));
    const p = run({ sab, role: 'publisher', count: 100_000 });
    const res = await Promise.all([...subs.map((s) => s.done), p.done]);
    for (const r of res.slice(0, 3)) expect(r).toMatchObject({ got: 100_000, errors: 0, gaps: 0 });
  });

  it('broadcast overwrite: 3 subscribers never see torn data; gaps account for every lost message', async () => {
    const sab = region({ kind: 'broadcast', policy: 'overwrite', capacity: 16384, slots: 4, maxMessage: 1024, typeId: 0n });
    const count = 200_000;
    const subs = [0, 1, 2].map(() => run({ sab, role: 'subscriber', count, overwrite: true }));
    await Promise.all(subs.map((s) => s.ready));
    const p = run({ sab, role: 'publisher', count });
    const res = await Promise.all([...subs.map((s) => s.done), p.done]);
    for (const r of res.slice(0, 3)) {
      expect(r.errors).toBe(0);
      expect(r.last).toBe(count - 1);
      expect(r.got + r.lost).toBe(count);
      expect(r.got).toBeGreaterThan(0);
    }
  });
});
