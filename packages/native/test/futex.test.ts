/**
 * Futex wait/wake across real processes, and async waits that leave the event loop (and
 * the libuv thread pool) free.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { native, peer, tempDir, withAddon } from './helpers.ts';

const { createFile, createMemfd, futexWait, futexWaitAsync, futexWake } = native;

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

/** Resolves when the peer process says it is about to wait (word 5). */
async function peerReady(buf: SharedArrayBuffer): Promise<void> {
  const words = new Int32Array(buf);
  const t0 = Date.now();
  while (Atomics.load(words, 5) === 0) {
    if (Date.now() - t0 > 10_000) throw new Error('the peer never got ready');
    await futexWaitAsync(buf, 20, 0, 1000);
  }
}

/** Wakes word 0 until a waiter was really woken (the peer may not be asleep yet). */
async function wakeOne(buf: SharedArrayBuffer): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const n = futexWake(buf, 0, 1);
    if (n > 0 || Date.now() - t0 > 10_000) return n;
    await new Promise((r) => setTimeout(r, 2));
  }
}

withAddon('futex', () => {
  it('a waiting child process is woken by futexWake in this one (sync wait)', async () => {
    const path = join(tmp.dir, 'wake-sync');
    const r = createFile(path, 4096);
    const child = peer(path, 'wait', '10000');
    await peerReady(r.buffer);
    expect(await wakeOne(r.buffer)).toBe(1);
    const out = await child;
    expect(out.outcome).toBe('ok');
    expect(out.ms).toBeLessThan(10_000);
    r.close();
  });

  it('a child waiting with futexWaitAsync is woken, and its timers ran meanwhile', async () => {
    const path = join(tmp.dir, 'wake-async');
    const r = createFile(path, 4096);
    const child = peer(path, 'wait-async', '10000');
    await peerReady(r.buffer);
    await new Promise((res) => setTimeout(res, 200));
    expect(await wakeOne(r.buffer)).toBe(1);
    const out = await child;
    expect(out.outcome).toBe('ok');
    expect(out.ticks).toBeGreaterThan(5);
    r.close();
  });

  it('a wait nobody wakes times out (child process)', async () => {
    const path = join(tmp.dir, 'timeout');
    const r = createFile(path, 4096);
    const out = await peer(path, 'wait', '200');
    expect(out.outcome).toBe('timed-out');
    expect(out.ms).toBeGreaterThanOrEqual(190);
    expect(out.ms).toBeLessThan(5000);
    r.close();
  });

  it('futexWaitAsync here is woken by futexWake in a child process', async () => {
    const path = join(tmp.dir, 'wake-from-child');
    const r = createFile(path, 4096);
    const waiting = futexWaitAsync(r.buffer, 16, 0, 10_000);
    const out = await peer(path, 'wake');
    expect(out.woken).toBe(1);
    expect(await waiting).toBe('ok');
    r.close();
  });

  it('8 pending async waits block neither the event loop nor the thread pool', async () => {
    const r = createMemfd('isthmus-async', 4096);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const waits = Array.from({ length: 8 }, (_, i) => futexWaitAsync(r.buffer, 4 * i, 0, 10_000));
    // fs work needs the libuv pool (4 threads): it must finish while the 8 waits are pending.
    const t0 = performance.now();
    await readFile(import.meta.filename);
    expect(performance.now() - t0).toBeLessThan(1000);
    await new Promise((res) => setTimeout(res, 300));
    expect(ticks).toBeGreaterThanOrEqual(10);
    // Each wait is still pending, and each is woken by its own word.
    let woken = 0;
    const t1 = Date.now();
    while (woken < 8 && Date.now() - t1 < 5000) {
      for (let i = 0; i < 8; i++) woken += futexWake(r.buffer, 4 * i);
      if (woken < 8) await new Promise((res) => setTimeout(res, 5));
    }
    expect(woken).toBe(8);
    expect(await Promise.all(waits)).toEqual(Array(8).fill('ok'));
    clearInterval(timer);
    r.close();
  });

  it('returns not-equal and timed-out', async () => {
    const r = createMemfd('isthmus-outcomes', 4096);
    new Int32Array(r.buffer)[1] = 5;
    expect(futexWait(r.buffer, 4, 4, 1000)).toBe('not-equal');
    expect(await futexWaitAsync(r.buffer, 4, 4, 1000)).toBe('not-equal');
    let t0 = performance.now();
    expect(futexWait(r.buffer, 4, 5, 50)).toBe('timed-out');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    t0 = performance.now();
    expect(await futexWaitAsync(r.buffer, 4, 5, 50)).toBe('timed-out');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    expect(futexWait(r.buffer, 4, 5, 0)).toBe('timed-out');
    // expected as the Uint32Array reading of a negative word.
    new Int32Array(r.buffer)[2] = -1;
    expect(futexWait(r.buffer, 8, 0xffffffff, 1)).toBe('timed-out');
    expect(futexWait(r.buffer, 8, -1, 1)).toBe('timed-out');
    expect(futexWake(r.buffer, 8)).toBe(0);
    r.close();
  });

  it('works on an ordinary (non-mapped) SharedArrayBuffer too', async () => {
    const sab = new SharedArrayBuffer(64);
    const waiting = futexWaitAsync(sab, 8, 0, 10_000);
    let n = 0;
    const t0 = Date.now();
    while (n === 0 && Date.now() - t0 < 5000) {
      n = futexWake(sab, 8);
      if (n === 0) await new Promise((res) => setTimeout(res, 2));
    }
    expect(n).toBe(1);
    expect(await waiting).toBe('ok');
  });

  it('validates arguments: timeouts, offsets, buffers, counts', () => {
    const r = createMemfd('isthmus-args', 4096);
    const b = r.buffer;
    for (const t of [-1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => futexWait(b, 0, 0, t)).toThrow(TypeError);
      expect(() => futexWait(b, 0, 0, t)).toThrow(/timeoutMs/);
      expect(() => futexWaitAsync(b, 0, 0, t)).toThrow(TypeError);
    }
    expect(() => futexWait(b, 0, 0, undefined as unknown as number)).toThrow(/timeoutMs/);
    expect(() => futexWait(b, 2, 0, 1)).toThrow(RangeError);
    expect(() => futexWait(b, 2, 0, 1)).toThrow(/byteOffset/);
    expect(() => futexWait(b, 4096, 0, 1)).toThrow(RangeError);
    expect(() => futexWait(b, -4, 0, 1)).toThrow(/byteOffset/);
    expect(() => futexWait(b, 0.5, 0, 1)).toThrow(TypeError);
    expect(() => futexWake(b, 4096)).toThrow(/byteOffset/);
    expect(() => futexWait(new ArrayBuffer(8) as unknown as SharedArrayBuffer, 0, 0, 1)).toThrow(/SharedArrayBuffer/);
    expect(() => futexWait(b, 0, 2 ** 32, 1)).toThrow(/expected/);
    expect(() => futexWake(b, 0, -1)).toThrow(/count/);
    expect(futexWake(b, 4092, 1)).toBe(0);
    expect(futexWake(b, 0, Number.POSITIVE_INFINITY)).toBe(0);
    r.close();
  });
});
