/**
 * Transports on their own: exclusive create, publish-after-init, open/list/remove with
 * the `expect` guard, the inproc arena shared by attaching, shm file modes and leftovers.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as isthmus from '@isthmus/sdk';
import { tempRoot } from './helpers.ts';

function exercise(t: isthmus.Transport): void {
  let seen: isthmus.Region | undefined;
  const r = t.create('a', 10_000, (reg) => {
    seen = reg;
    // Not visible before init returns.
    expect(t.open('a')).toBeNull();
    expect(t.list()).not.toContain('a');
    new Uint8Array(reg.buffer, reg.byteOffset, reg.byteLength)[5] = 42;
  });
  expect(r).not.toBeNull();
  expect(seen).toBe(r);
  expect(r!.byteOffset % 4096).toBe(0);
  expect(r!.byteLength).toBeGreaterThanOrEqual(10_000);
  // Exclusive: a second create of the name returns null without running init.
  expect(t.create('a', 4096, () => expect.unreachable())).toBeNull();
  const o = t.open('a')!;
  expect(new Uint8Array(o.buffer, o.byteOffset, 8)[5]).toBe(42);
  expect(t.list()).toEqual(['a']);
  // A failing init publishes nothing.
  expect(() =>
    t.create('b', 4096, () => {
      throw new Error('init failed');
    }),
  ).toThrow('init failed');
  expect(t.open('b')).toBeNull();
  // remove(name, expect) leaves a newer region of the same name alone.
  expect(t.remove('a')).toBe(true);
  const r2 = t.create('a', 4096, () => {})!;
  expect(t.remove('a', o)).toBe(false);
  expect(t.open('a')).not.toBeNull();
  expect(t.remove('a', r2)).toBe(true);
  expect(t.list()).toEqual([]);
}

describe('transports', () => {
  it('inproc: create/open/list/remove, and a second attachment sees the same regions', () => {
    const t = isthmus.inproc({ size: 1 << 20 });
    exercise(t);
    t.create('shared', 4096, (r) => void (new Uint8Array(r.buffer, r.byteOffset, 1)[0] = 7));
    const t2 = isthmus.inproc({ arena: t.arena });
    const o = t2.open('shared')!;
    expect(new Uint8Array(o.buffer, o.byteOffset, 1)[0]).toBe(7);
    expect(() => t.create('big', 2 << 20, () => {})).toThrow(/out of space/);
  });

  it('shm: files appear only once initialised, 0600; dead creators leave temporaries that sweep removes', async () => {
    const { root, cleanup } = tempRoot();
    try {
      const t = await isthmus.shm({ root });
      exercise(t);
      t.create('m', 4096, () => {});
      expect(statSync(join(root, 'm')).mode & 0o777).toBe(0o600);
      // A temporary left by a creator that no longer runs (pid 2^22+1 does not exist).
      const stale = join(root, '.x.4194305.0.tmp');
      writeFileSync(stale, '');
      const mine = join(root, `.y.${process.pid}.0.tmp`);
      writeFileSync(mine, '');
      expect(t.sweepTemporaries()).toBe(1);
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(mine)).toBe(true);
      expect(t.list()).toEqual(['m']);
    } finally {
      cleanup();
    }
  });
});
