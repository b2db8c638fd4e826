/**
 * Regions: every kind maps real shared memory as a SharedArrayBuffer; memfd seals hold;
 * files are created 0600 with O_EXCL; another process mapping the same file sees Atomics.
 */
import { closeSync, existsSync, ftruncateSync, openSync, readSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { native, peer, tempDir, withAddon } from './helpers.ts';

const { createFile, createMemfd, createShm, openFd, openFile, openShm, procStartTime, seals } = native;

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

/** The error `fn` throws (fails the test when it does not throw). */
function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

withAddon('regions', () => {
  it('is a real SharedArrayBuffer over the mapping', () => {
    const r = createMemfd('isthmus-test', 8192);
    expect(r.buffer instanceof SharedArrayBuffer).toBe(true);
    expect(Object.prototype.toString.call(r.buffer)).toBe('[object SharedArrayBuffer]');
    expect(r.buffer.byteLength).toBe(8192);
    expect(r).toMatchObject({ size: 8192, kind: 'memfd', path: null });
    // The bytes are the memfd's pages: a write through the buffer reads back through the fd.
    const bytes = new Uint8Array(r.buffer);
    bytes.set([0x49, 0x53, 0x54, 0x48], 4096);
    const out = Buffer.alloc(4);
    expect(readSync(r.fd, out, 0, 4, 4096)).toBe(4);
    expect([...out]).toEqual([0x49, 0x53, 0x54, 0x48]);
    // ... and a write through the fd is seen in the buffer.
    writeSync(r.fd, Buffer.from([7]), 0, 1, 100);
    expect(bytes[100]).toBe(7);
    // Atomics work on it (they throw on a non-shared Int32Array for wait; here they run).
    const words = new Int32Array(r.buffer);
    expect(Atomics.add(words, 0, 5)).toBe(0);
    expect(Atomics.compareExchange(words, 0, 5, 9)).toBe(5);
    expect(Atomics.wait(words, 1, 1, 0)).toBe('not-equal');
    r.close();
  });

  it('seals a memfd against shrink, grow and further seals; ftruncate fails with EPERM', () => {
    const r = createMemfd('isthmus-sealed', 4096);
    expect(seals(r)).toEqual({ shrink: true, grow: true, seal: true, write: false });
    expect(thrown(() => ftruncateSync(r.fd, 8192)).code).toBe('EPERM');
    expect(thrown(() => ftruncateSync(r.fd, 1024)).code).toBe('EPERM');
    expect(statSync(`/proc/self/fd/${r.fd}`).size).toBe(4096);
    r.close();
  });

  it('creates files 0600 with O_EXCL, and maps them in another process', async () => {
    const path = join(tmp.dir, 'region-a');
    const r = createFile(path, 4096);
    expect(r).toMatchObject({ kind: 'file', path, size: 4096 });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(path).size).toBe(4096);

    const e = thrown(() => createFile(path, 4096));
    expect(e.code).toBe('EEXIST');
    expect(e.message).toContain(path);

    // Written in a child process, seen here.
    const words = new Int32Array(r.buffer);
    expect(await peer(path, 'store', '123456')).toEqual({ stored: 123456 });
    expect(Atomics.load(words, 1)).toBe(123456);

    // openFile maps the same pages.
    const again = openFile(path);
    expect(again.size).toBe(4096);
    Atomics.store(new Int32Array(again.buffer), 7, -3);
    expect(Atomics.load(words, 7)).toBe(-3);
    r.close();
    again.close();

    const mode = join(tmp.dir, 'region-b');
    createFile(mode, 4096, 0o640).close();
    expect(statSync(mode).mode & 0o777).toBe(0o640);
  });

  it('cross-process Atomics are atomic: two processes add concurrently, no update is lost', async () => {
    const path = join(tmp.dir, 'region-atomics');
    const r = createFile(path, 4096);
    const words = new Int32Array(r.buffer);
    const n = 200_000;
    const child = peer(path, 'atomics', String(n));
    while (Atomics.load(words, 5) === 0) await native.futexWaitAsync(r.buffer, 20, 0, 1000);
    Atomics.store(words, 3, 1);
    native.futexWake(r.buffer, 12);
    for (let i = 0; i < n; i++) Atomics.add(words, 2, 1);
    expect(await child).toEqual({ done: true });
    expect(Atomics.load(words, 2)).toBe(2 * n);
    r.close();
  });

  it('creates and opens POSIX shm objects', () => {
    const name = `/isthmus-test-${process.pid}`;
    const r = createShm(name, 4096);
    try {
      expect(r).toMatchObject({ kind: 'shm', path: name, size: 4096 });
      expect(statSync(`/dev/shm${name}`).mode & 0o777).toBe(0o600);
      expect(thrown(() => createShm(name, 4096)).code).toBe('EEXIST');
      const o = openShm(name);
      Atomics.store(new Uint32Array(o.buffer), 10, 0xdeadbeef);
      expect(Atomics.load(new Uint32Array(r.buffer), 10)).toBe(0xdeadbeef);
      o.close();
    } finally {
      unlinkSync(`/dev/shm${name}`);
      r.close();
    }
    const e = thrown(() => openShm(name));
    expect(e.code).toBe('ENOENT');
    expect(e.message).toContain(name);
  });

  it('maps a received fd (a dup: the caller keeps its own)', () => {
    const m = createMemfd('isthmus-fd', 4096);
    const r = openFd(m.fd);
    expect(r.kind).toBe('fd');
    expect(r.fd).not.toBe(m.fd);
    expect(r.size).toBe(4096);
    expect(seals(r).grow).toBe(true);
    new Uint8Array(m.buffer)[9] = 42;
    expect(new Uint8Array(r.buffer)[9]).toBe(42);
    r.close();
    // m.fd is still open and usable.
    expect(statSync(`/proc/self/fd/${m.fd}`).size).toBe(4096);
    const closed = m.fd;
    m.close();
    const bad = thrown(() => openFd(closed));
    expect(bad.code).toBe('EBADF');
  });

  it('close() closes the fd only; the buffer stays valid until collected', () => {
    const r = createMemfd('isthmus-close', 4096);
    const fd = r.fd;
    r.close();
    expect(r.fd).toBe(-1);
    expect(existsSync(`/proc/self/fd/${fd}`)).toBe(false);
    r.close(); // idempotent
    const words = new Int32Array(r.buffer);
    Atomics.store(words, 0, 77);
    expect(Atomics.load(words, 0)).toBe(77);
    expect(() => seals(r)).toThrow(/closed/);
  });

  it('maps the whole of an existing file', () => {
    const path = join(tmp.dir, 'existing');
    const fd = openSync(path, 'w', 0o600);
    writeSync(fd, Buffer.alloc(12288, 1));
    closeSync(fd);
    const r = openFile(path);
    expect(r.size).toBe(12288);
    expect(new Uint8Array(r.buffer)[12287]).toBe(1);
    r.close();
    expect(thrown(() => openFile(join(tmp.dir, 'absent'))).code).toBe('ENOENT');
  });

  it('validates its arguments, naming them', () => {
    expect(() => createMemfd('x', 0)).toThrow(RangeError);
    expect(() => createMemfd('x', 0)).toThrow(/size/);
    expect(() => createMemfd('x', -1)).toThrow(RangeError);
    expect(() => createMemfd('x', 1.5)).toThrow(TypeError);
    expect(() => createMemfd('x', Number.NaN)).toThrow(/size/);
    expect(() => createMemfd(7 as unknown as string, 4096)).toThrow(/name must be a string/);
    expect(() => createFile('', 4096)).toThrow(/path must not be empty/);
    expect(() => createFile(join(tmp.dir, 'm'), 4096, 0o70000)).toThrow(/mode/);
    expect(() => openFd(-1)).toThrow(/fd/);
  });

  it('reads process start times (docs/ring.md §5)', async () => {
    const stat = (await import('node:fs')).readFileSync('/proc/self/stat', 'utf8');
    const field22 = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3];
    expect(procStartTime(process.pid)).toBe(BigInt(field22!));
    expect(procStartTime(0x3ffffff0)).toBeNull();
    expect(() => procStartTime(0)).toThrow(/pid/);
  });
});
