/**
 * scripts/build.mjs (the bin isthmus-build-native) without a toolchain: one paragraph saying what to install; the
 * install hook (--optional) then succeeds so `npm ci` goes on, a direct build fails.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { node } from './helpers.ts';

const SCRIPT = join(import.meta.dirname, '..', 'scripts', 'build.mjs');
const empty = mkdtempSync(join(tmpdir(), 'isthmus-nopath-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

describe('build.mjs without cmake or a compiler on PATH', () => {
  it('--optional (the install hook) explains what to install and exits 0', async () => {
    const r = await node([SCRIPT, '--optional'], { PATH: empty, CC: '', CXX: '' });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('cannot build the native addon: CMake (>= 3.16), a C++17 compiler, a C11 compiler not found');
    expect(r.stderr).toContain('apt-get install cmake g++ make');
    expect(r.stderr).toContain('npx isthmus-build-native');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a direct build fails with the same message', async () => {
    const r = await node([SCRIPT], { PATH: empty, CC: '', CXX: '' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('apt-get install cmake g++ make');
  });
});
