/**
 * Cross-process, cross-language ring tests (docs/ring.md §8): a producer of one
 * implementation and a consumer of the other, each in its own process, over a ring in a
 * /dev/shm file. TypeScript side: test/ring-conformance/ts_peer.ts (the @isthmus/native
 * addon maps the file and provides the shared futex). C side: native/build/release/isthmus_ringtool.
 * Payload convention: bytes 0..7 = u64 LE message index i, byte k ≥ 8 = (i + k) & 0xff;
 * every consumer checks every byte and each sender's index sequence.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatRing, markReady, type RingParams, regionSize } from '../packages/sdk/src/ring/index.js';
import { nativeTool, ROOT } from './ring-conformance/native.ts';
import { CI } from './ci.ts';

const PEER = join(ROOT, 'test', 'ring-conformance', 'ts_peer.ts');
const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'isthmus-cross-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** Writes a formatted, ready ring region into a new file; the creator takes no slot. */
function ringFile(p: RingParams): string {
  const path = join(dir, `ring-${n++}`);
  const sab = new SharedArrayBuffer(regionSize(p));
  formatRing(sab, 0, p, { pid: process.pid, uid: process.getuid?.() ?? 0, startTime: 0n });
  markReady(sab, 0);
  writeFileSync(path, new Uint8Array(sab));
  return path;
}

interface Done { code: number | null; out: string }
function proc(cmd: string, args: string[]): Promise<Done> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], timeout: 90_000 });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, out }));
  });
}
const ts = (...args: string[]): Promise<Done> => proc(process.execPath, [PEER, ...args]);

function addonMissing(): string | null {
  return existsSync(join(ROOT, 'packages', 'native', 'build', 'isthmus.node')) || existsSync(join(ROOT, 'packages', 'native', 'dist', 'index.js'))
    ? null
    : '@isthmus/native is not built (packages/native)';
}

/** Skips (or, with CI=true, fails) when a side is missing. */
function need(ctx: { skip: () => void }, c: boolean): string | null {
  const miss = addonMissing() ?? (c ? (() => { const t = nativeTool('isthmus_ringtool'); return 'missing' in t ? t.missing : null; })() : null);
  if (miss !== null) {
    if (CI) throw new Error(miss);
    ctx.skip();
  }
  const t = nativeTool('isthmus_ringtool');
  return 'path' in t ? t.path : null;
}

function ok(d: Done): void {
  expect(d.code, d.out).toBe(0);
}

const SPSC: RingParams = { kind: 'spsc', capacity: 65536, slots: 2, maxMessage: 16384, typeId: 0n };

describe('ring across processes', () => {
  it('TS producer → TS consumer, SPSC, 1M messages with wrap and a full ring', async (ctx) => {
    need(ctx, false);
    const path = ringFile(SPSC);
    const [c, p] = await Promise.all([ts('consume', path, '1000000'), ts('produce', path, '1000000', '--payload', '100')]);
    ok(p);
    ok(c);
    expect(JSON.parse(c.out.trim().split('\n').pop()!)).toMatchObject({ consumed: 1000000 });
  });

  it('4 TS producers → TS consumer, MPSC; TS publisher → 2 TS subscribers, broadcast', async (ctx) => {
    need(ctx, false);
    const m = ringFile({ kind: 'mpsc', capacity: 65536, slots: 5, maxMessage: 16384, typeId: 0n });
    const [c, ...ps] = await Promise.all([ts('consume', m, '80000'), ...[0, 1, 2, 3].map(() => ts('produce', m, '20000', '--payload', '72', '--producers', '4'))]);
    ok(c); // first: a stuck producer is the consequence of a consumer that stopped
    for (const p of ps) ok(p);
    expect(Object.values(JSON.parse(c.out.trim().split('\n').pop()!).senders)).toEqual([20000, 20000, 20000, 20000]);
    const b = ringFile({ kind: 'broadcast', capacity: 65536, slots: 3, maxMessage: 16384, typeId: 0n });
    const all = await Promise.all([ts('consume', b, '50000'), ts('consume', b, '50000'), ts('produce', b, '50000', '--payload', '64', '--subscribers', '2')]);
    for (const d of all) ok(d);
  });

  it('C producer → TS consumer, SPSC, 2M messages with wrap and a full ring', async (ctx) => {
    const tool = need(ctx, true)!;
    const path = ringFile(SPSC);
    const [c, p] = await Promise.all([ts('consume', path, '2000000'), proc(tool, ['produce', path, '2000000', '--payload', '100'])]);
    ok(p);
    ok(c);
    expect(JSON.parse(c.out.trim().split('\n').pop()!)).toMatchObject({ consumed: 2000000 });
  });

  it('TS producer → C consumer, SPSC, 2M messages with wrap and a full ring', async (ctx) => {
    const tool = need(ctx, true)!;
    const path = ringFile(SPSC);
    const [c, p] = await Promise.all([proc(tool, ['consume', path, '2000000']), ts('produce', path, '2000000', '--payload', '100')]);
    ok(p);
    ok(c);
  });

  it('MPSC: 4 C producers → TS consumer', async (ctx) => {
    const tool = need(ctx, true)!;
    const path = ringFile({ kind: 'mpsc', capacity: 65536, slots: 5, maxMessage: 16384, typeId: 0n });
    const consumer = ts('consume', path, '200000');
    const producers = [0, 1, 2, 3].map(() => proc(tool, ['produce', path, '50000', '--payload', '72', '--kind', 'mpsc', '--producers', '4']));
    const [c, ...ps] = await Promise.all([consumer, ...producers]);
    for (const p of ps) ok(p);
    ok(c);
    const res = JSON.parse(c.out.trim().split('\n').pop()!);
    expect(res.consumed).toBe(200000);
    expect(Object.values(res.senders)).toEqual([50000, 50000, 50000, 50000]);
  });

  it('broadcast: TS publisher → 2 C subscribers (block policy)', async (ctx) => {
    const tool = need(ctx, true)!;
    const path = ringFile({ kind: 'broadcast', capacity: 65536, slots: 3, maxMessage: 16384, typeId: 0n });
    const subs = [0, 1].map(() => proc(tool, ['consume', path, '100000', '--role', 'subscriber']));
    const pub = ts('produce', path, '100000', '--payload', '64', '--subscribers', '2');
    const all = await Promise.all([pub, ...subs]);
    for (const d of all) ok(d);
  });
});
