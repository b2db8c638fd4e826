/**
 * TypeScript peer for the cross-process ring tests; its CLI mirrors isthmus_ringtool:
 *
 *   ts_peer.ts produce <path> <count> [--payload N] [--kind K] [--subscribers N] [--producers N]
 *   ts_peer.ts consume <path> <count> [--role consumer|subscriber]
 *   add  --create --capacity C --slots S --kind spsc|mpsc|broadcast [--policy P]  to create <path>
 *
 * The region is a file mapped through @isthmus/native; waits use the addon's shared futex.
 * Payload convention: bytes 0..7 = u64 LE message index i, byte k ≥ 8 = (i + k) & 0xff.
 * `consume` checks every byte, and that each sender's indices run 0, 1, 2, … (count is the
 * total over all senders). It prints one JSON line and exits 0, or 1 on a mismatch.
 */
import { existsSync } from 'node:fs';
import * as native from '@isthmus/native';
import type { Notifier, RingKind, RingParams } from '../../packages/sdk/src/ring/index.ts';
import { ring as R } from './load-ring.ts';

const argv = process.argv.slice(2);
const [mode, path, countArg] = argv;
function opt(name: string, dflt?: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
}
if ((mode !== 'produce' && mode !== 'consume') || !path || !countArg) {
  console.error('usage: ts_peer.ts produce|consume <path> <count> [--payload N] [--kind K] [--role R] [--subscribers N] [--create --capacity C --slots S]');
  process.exit(2);
}
const count = Number(countArg);
const notifier: Notifier = { wait: native.futexWait, waitAsync: native.futexWaitAsync, wake: native.futexWake };

function region(): SharedArrayBuffer {
  if (argv.includes('--create')) {
    const kind = (opt('kind', 'spsc') as RingKind);
    const p: RingParams = {
      kind,
      capacity: Number(opt('capacity', '65536')),
      slots: Number(opt('slots', '4')),
      maxMessage: Number(opt('max-message', String(Number(opt('capacity', '65536')) / 4))),
      typeId: 0n,
      policy: opt('policy', 'block') as 'block' | 'overwrite',
    };
    const reg = native.createFile(path!, R.regionSize(p));
    R.formatRing(reg.buffer, 0, p, R.selfIdentity());
    R.markReady(reg.buffer, 0);
    return reg.buffer;
  }
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (existsSync(path!)) {
      const reg = native.openFile(path!);
      if (new DataView(reg.buffer).getUint32(12, true) === 1) return reg.buffer;
    }
    if (Date.now() > deadline) throw new Error(`${path}: no ready ring after 10 s`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
}

const sab = region();
const ring = R.Ring.open(sab, 0, sab.byteLength);
const id = R.selfIdentity();
const u8 = new Uint8Array(sab);
const dv = new DataView(sab);

/** The shared cursors, the record at head and the MPSC intents: what a stuck peer reports. */
function ringState(): string {
  const u32 = new Uint32Array(sab);
  const head = u32[192 >> 2]!;
  const tail = u32[128 >> 2]!;
  const data = Number(dv.getBigUint64(72, true));
  const cap = u32[64 >> 2]!;
  const at = data + (head & (cap - 1));
  const slots = Array.from({ length: u32[44 >> 2]! }, (_, k) => {
    const o = 384 + 64 * k;
    return { state: u32[o >> 2], role: u32[(o + 4) >> 2], pid: u32[(o + 8) >> 2], intent_pos: u32[(o + 24) >> 2], intent_len: u32[(o + 28) >> 2] };
  }).filter((x) => x.state !== 0);
  return JSON.stringify({ head, tail, head_len_state: u32[at >> 2], head_pos: u32[(at + 4) >> 2], data_sleepers: u32[260 >> 2], space_sleepers: u32[268 >> 2], slots });
}

if (mode === 'produce') {
  const payload = Number(opt('payload', '64'));
  const w = ring.join(ring.kind === 'broadcast' ? 'publisher' : 'producer', id, notifier);
  // --subscribers N / --producers N: start only when that many have joined, so that no
  // producer finishes and frees its slot (which a late one would then reuse: the consumer
  // keys its order check by slot) before every peer is in.
  const subs = Number(opt('subscribers', '0'));
  const prods = Number(opt('producers', '0'));
  const deadline = Date.now() + 10_000;
  const joined = (role: string) => ring.participants().filter((p) => p.role === role).length;
  while (joined('subscriber') < subs || joined('producer') < prods) {
    if (Date.now() > deadline) throw new Error(`only ${ring.participants().length} participants after 10 s (want ${subs} subscribers, ${prods} producers)`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  }
  for (let i = 0; i < count; i++) {
    let off = w.loan(payload);
    while (off < 0) {
      if (w.waitSpace(payload, 10_000, notifier) === 'timed-out') throw new Error(`no space for 10 s at message ${i}: ${ringState()}`);
      off = w.loan(payload);
    }
    dv.setBigUint64(off, BigInt(i), true);
    for (let k = 8; k < payload; k++) u8[off + k] = (i + k) & 0xff;
    w.commit(payload);
  }
  console.log(JSON.stringify({ produced: count, slot: w.slot }));
  w.close();
} else {
  const role = (opt('role') ?? (ring.kind === 'broadcast' ? 'subscriber' : 'consumer')) as 'consumer' | 'subscriber';
  const r = ring.join(role, id, notifier);
  const next = new Map<number, number>();
  let got = 0;
  let bad = '';
  while (got < count && !bad) {
    const off = r.receive();
    if (off < 0) {
      if (r.waitData(10_000, notifier) === 'timed-out') {
        bad = `no data for 10 s after ${got} messages`;
      }
      continue;
    }
    const src = r.inShared ? u8 : new Uint8Array(r.copyBuffer!);
    const sdv = r.inShared ? dv : new DataView(r.copyBuffer!);
    const i = Number(sdv.getBigUint64(off, true));
    const key = ring.kind === 'mpsc' ? r.sender : 0;
    const want = next.get(key) ?? 0;
    if (i !== want) bad = `sender ${r.sender}: message index ${i}, expected ${want}`;
    for (let k = 8; k < r.length; k++)
      if (src[off + k] !== ((i + k) & 0xff)) {
        bad = `message ${i}: byte ${k} is ${src[off + k]}, expected ${(i + k) & 0xff}`;
        break;
      }
    next.set(key, i + 1);
    got++;
    r.release();
  }
  console.log(JSON.stringify({ consumed: got, senders: Object.fromEntries(next), error: bad || undefined }));
  r.close();
  process.exit(bad ? 1 : 0);
}
