/**
 * watch(): a futex word observed through the event loop (eventfd + libuv), changed by
 * another process; env teardown with pending waits and watches.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { native, node, peer, tempDir, withAddon } from './helpers.ts';

const { createFile, createMemfd, watch } = native;

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

withAddon('watch', () => {
  it('runs the callback on the event loop when another process bumps the word', async () => {
    const path = join(tmp.dir, 'watch');
    const r = createFile(path, 4096);
    const seen: number[] = [];
    let done!: () => void;
    const finished = new Promise<void>((res) => (done = res));
    const w = watch(r.buffer, 24, (v) => {
      seen.push(v);
      if (v === 100) done();
    });
    expect(await peer(path, 'bump', '100')).toEqual({ bumped: 100 });
    await Promise.race([finished, new Promise((_, rej) => setTimeout(() => rej(new Error(`saw ${seen.join(',')}`)), 5000))]);
    w.close();
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen.at(-1)).toBe(100);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
    r.close();
  });

  it('stops after close(), and close() is idempotent', async () => {
    const r = createMemfd('isthmus-watch-close', 4096);
    const words = new Int32Array(r.buffer);
    let calls = 0;
    const w = watch(r.buffer, 0, () => calls++);
    Atomics.add(words, 0, 1);
    native.futexWake(r.buffer, 0);
    const t0 = Date.now();
    while (calls === 0 && Date.now() - t0 < 5000) await new Promise((res) => setTimeout(res, 5));
    expect(calls).toBe(1);
    w.close();
    w.close();
    Atomics.add(words, 0, 1);
    native.futexWake(r.buffer, 0);
    await new Promise((res) => setTimeout(res, 100));
    expect(calls).toBe(1);
  });

  it('validates its arguments', () => {
    const b = new SharedArrayBuffer(8);
    expect(() => watch(b, 8, () => {})).toThrow(RangeError);
    expect(() => watch(b, 1, () => {})).toThrow(/byteOffset/);
    expect(() => watch(b, 0, 'no' as unknown as () => void)).toThrow(/callback must be a function/);
  });

  it('keeps the process alive unless unref()\'d', async () => {
    const exit = join(import.meta.dirname, 'fixtures', 'exit.ts');
    const unref = await node([exit, 'unref'], {}, 10_000);
    expect(unref.code).toBe(0);
    expect(unref.stdout).toBe('watching\n');
    const ref = await node([exit, 'ref'], {}, 1_000);
    expect(ref.signal).toBe('SIGKILL'); // still running when the 1 s limit killed it
    expect(ref.stdout).toBe('watching\n');
  });

  it('a worker terminated with a pending wait and watch: no crash, the mapping is released', async () => {
    const r = await node(['--expose-gc', join(import.meta.dirname, 'fixtures', 'teardown.ts')], {}, 20_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ before: 1, whileWorkerHolds: 1, after: 0, survived: true });
  });
});
