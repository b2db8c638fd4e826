/**
 * The host side shared by test/vm.test.ts and bench/vm.bench.ts: the golden message,
 * an arena file, the guest's boot and stop (docs/vm.md).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as isthmus from '@isthmus/sdk';
import { BookUpdate, Side } from '../../schemas/generated/ts/market.ts';
import { formatRing, markReady, regionSize, Ring, selfIdentity, type Reader, type RingParams, type Writer } from '../../packages/sdk/dist/ring/index.js';
import { spawn } from 'node:child_process';
import { buildGuestBinary, buildInitramfs, goldenDir, ROOT } from './initramfs.ts';
import { bootGuest, Guest, procStartTime } from './qemu.ts';

export const GOLDEN_BIN = new Uint8Array(readFileSync(join(ROOT, 'schemas/testdata/market/book_full.bin')));
export const GOLDEN_VALUE = (JSON.parse(readFileSync(join(ROOT, 'schemas/testdata/market/book_full.json'), 'utf8')) as { value: GoldenValue }).value;
export const GOLDEN_SEQ = 9007199254740993n;
/** instrument_id that tells the guest to leave its rings and exit. */
export const STOP_INSTRUMENT = 0xffffffff;
/** What the guest adds to seq when it echoes. */
export const TRANSFORM_DELTA = 1_000_000n;

interface GoldenLevel { price: { mantissa: string; exponent: number }; qty: string; orders: number }
interface GoldenValue { seq: string; ts_ns: string; instrument_id: number; side: string; symbol: string; venue: string; bids: GoldenLevel[]; asks: GoldenLevel[]; trade_id: string }

/** Fills a BookUpdate builder with book_full.json's values, in the golden's depth-first order. */
export function fillGolden(m: BookUpdate): void {
  const v = GOLDEN_VALUE;
  m.seq = BigInt(v.seq);
  m.ts_ns = BigInt(v.ts_ns);
  m.instrument_id = v.instrument_id;
  m.side = v.side === 'bid' ? Side.bid : Side.ask;
  m.set_symbol(v.symbol);
  m.set_venue(v.venue);
  for (const side of ['bids', 'asks'] as const) {
    const levels = v[side];
    const vec = side === 'bids' ? m.init_bids(levels.length) : m.init_asks(levels.length);
    levels.forEach((l, i) => {
      const lv = vec.get(i);
      lv.price.mantissa = BigInt(l.price.mantissa);
      lv.price.exponent = l.price.exponent;
      lv.qty = BigInt(l.qty);
      lv.orders = l.orders;
    });
  }
  m.trade_id = BigInt(v.trade_id);
}

/** A small BookUpdate: seq, instrument_id and a symbol (88 + 8 bytes). */
export function fillSmall(m: BookUpdate, seq: bigint, instrument: number): void {
  m.seq = seq;
  m.instrument_id = instrument;
  m.side = Side.ask;
  m.set_symbol('PING');
}

export interface Vm {
  node: isthmus.IsthmusNode;
  transport: isthmus.ArenaTransport;
  guest: Guest;
  path: string;
  /** Publisher of vm.h2g (created before the guest boots, so it finds it at once). */
  pub: isthmus.Publisher<BookUpdate>;
  /** With `raw`: the host ends of the raw SPSC rings vm.raw.ping (producer) and vm.raw.pong (consumer). */
  raw?: RawPair;
  /** Sends the stop message, waits for the guest's exit line and QEMU's exit; removes the arena file. */
  shutdown(): Promise<{ console: string; exit: number | string }>;
}

/**
 * Builds the initramfs, creates a fresh arena file of `sizeMiB`, opens the host's vm.h2g
 * publisher, and boots the guest. `beforeReady` runs once the guest attached the arena
 * (the cross-boundary atomics check hooks in there).
 */
export async function startVm(opts: { sizeMiB?: number; raw?: boolean; onHost?: boolean; beforeReady?: (vm: Omit<Vm, 'shutdown'>) => void | Promise<void>; readyTimeoutMs?: number } = {}): Promise<Vm> {
  // onHost: the same guest program as a plain host process mapping the arena file
  // (--arena-file), no VM: the protocol without the emulator.
  const initrd = opts.onHost ? '' : buildInitramfs();
  const path = `/dev/shm/isthmus-vm-${process.pid}-${Date.now()}.mem`;
  const node = await isthmus.node({ transport: 'vm', path, size: (opts.sizeMiB ?? 16) << 20, onInvalid: 'throw' });
  const transport = node.transport as isthmus.ArenaTransport;
  let guest: Guest | undefined;
  try {
    const pub = await node.publisher('vm.h2g', BookUpdate, { capacity: 64 * 1024, maxMessage: 4096, slots: 8 });
    if (opts.beforeReady) {
      // The guest waits for the host's go in the atomics check; create its region first.
      transport.create('vm.atomics', 4096, () => {});
    }
    const raw = opts.raw ? rawPair(transport) : undefined;
    guest = opts.onHost ? spawnOnHost(transport, path) : bootGuest({ transport, initrd });
    const base = { node, transport, guest, path, pub, ...(raw ? { raw } : {}) };
    if (opts.beforeReady) {
      await guest.waitFor(/guest: arena attached/, opts.readyTimeoutMs ?? 40_000);
      await opts.beforeReady(base);
    }
    await guest.waitFor(/guest: READY/, opts.readyTimeoutMs ?? 40_000);
    const g = guest;
    return {
      ...base,
      async shutdown() {
        if (g.running) {
          pub.trySend((m) => fillSmall(m, 0n, STOP_INSTRUMENT));
          await g.waitFor(/ISTHMUS-GUEST-EXIT \d+/, 10_000).catch(() => {});
        }
        const exit = await g.stop(5000);
        raw?.w.close();
        raw?.r.close();
        node.close();
        rmSync(path, { force: true });
        return { console: g.output, exit };
      },
    };
  } catch (err) {
    if (guest) await guest.stop(0);
    node.close();
    rmSync(path, { force: true });
    throw err;
  }
}

/** Runs native/guest's binary on the host against the arena file, registered under its own identity. */
function spawnOnHost(transport: isthmus.ArenaTransport, path: string): Guest {
  const proc = spawn(buildGuestBinary(), ['--arena-file', path, '--golden', goldenDir()], { stdio: ['ignore', 'pipe', 'pipe'] });
  const guest = new Guest(proc);
  const startTime = proc.pid === undefined ? null : procStartTime(proc.pid);
  if (startTime === null) throw new Error('isthmus_guest did not start');
  transport.setGuestIdentity({ pid: proc.pid!, uid: process.getuid?.() ?? 0, startTime });
  // the host run has no /init to print the exit line
  void guest.exited.then((code) => { guest.output += `ISTHMUS-GUEST-EXIT ${code}\n`; });
  return guest;
}

export interface RawPair {
  w: Writer;
  r: Reader;
  u8: Uint8Array;
}

/** Raw SPSC rings (type id 0) for payloads of any size: the guest echoes ping into pong. */
function rawPair(t: isthmus.ArenaTransport): RawPair {
  const params: RingParams = { kind: 'spsc', capacity: 64 * 1024, slots: 4, maxMessage: 8192, typeId: 0n };
  const me = selfIdentity();
  const make = (name: string, role: 'producer' | 'consumer') => {
    let end: Writer | Reader | undefined;
    const ok = t.create(name, regionSize(params), (r) => {
      formatRing(r.buffer, r.byteOffset, params, me, BigInt(Date.now()) * 1_000_000n);
      markReady(r.buffer, r.byteOffset);
      end = Ring.open(r.buffer, r.byteOffset, r.byteLength, 0n).join(role, me, t.notifier);
    });
    if (!ok || !end) throw new Error(`${name} exists already`);
    return end;
  };
  const w = make('vm.raw.pong', 'consumer') as Reader;
  const p = make('vm.raw.ping', 'producer') as Writer;
  return { w: p, r: w, u8: new Uint8Array(t.buffer) };
}

/**
 * Host↔guest ping-pong on the raw rings with `payload`-byte messages, as bench/ipc's
 * isthmus-ts-ts does: loan, fill, commit; spin on receive. Round-trip ns, sorted.
 */
export function rawPingPong(raw: RawPair, payload: number, iters: number, warmup: number, maxMs = 30_000): Float64Array {
  const { w, r, u8 } = raw;
  const src = new Uint8Array(payload);
  const rtt = new Float64Array(iters);
  const deadline = performance.now() + maxMs;
  for (let i = 0; i < warmup + iters; i++) {
    src[0] = i & 0xff;
    const t0 = performance.now();
    let off = w.loan(payload);
    while (off < 0) {
      if (performance.now() > deadline) throw new Error(`raw ping ${i}: vm.raw.ping stayed full`);
      off = w.loan(payload);
    }
    u8.set(src, off);
    w.commit(payload);
    let q = r.receive();
    while (q < 0) {
      if (performance.now() > deadline) throw new Error(`raw ping ${i}: no echo from the guest`);
      q = r.receive();
    }
    const t1 = performance.now();
    if (r.length !== payload || u8[q] !== (i & 0xff)) throw new Error(`raw ping ${i}: echo of ${r.length} bytes starting ${u8[q]}, expected ${payload} starting ${i & 0xff}`);
    r.release();
    if (i >= warmup) rtt[i - warmup] = (t1 - t0) * 1e6;
  }
  return rtt.sort();
}

/** What one performance.now() read adds to a timed interval, in ns (median of back-to-back reads). */
export function timerCostNs(): number {
  const d = new Float64Array(20_001);
  for (let i = 0; i < d.length; i++) {
    const a = performance.now();
    d[i] = performance.now() - a;
  }
  d.sort();
  return d[d.length >> 1]! * 1e6;
}

/** Percentile of sorted numbers. */
export function percentile(sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * Host↔guest ping-pong through the SDK channels: trySend on vm.h2g, spin on
 * vm.g2h's tryReceive until the echo arrives. Returns round-trip times in ns, sorted.
 */
export function pingPong(pub: isthmus.Publisher<BookUpdate>, sub: isthmus.Subscriber<BookUpdate>, iters: number, warmup: number, maxMs = 20_000): Float64Array {
  const rtt = new Float64Array(iters);
  const deadline = performance.now() + maxMs;
  for (let i = 0; i < warmup + iters; i++) {
    const seq = BigInt(1_000 + i);
    const t0 = performance.now();
    while (!pub.trySend((m) => fillSmall(m, seq, 7))) if (performance.now() > deadline) throw new Error(`ping ${i}: vm.h2g stayed full`);
    let r = sub.tryReceive();
    while (r === null) {
      if (performance.now() > deadline) throw new Error(`ping ${i}: no echo from the guest`);
      r = sub.tryReceive();
    }
    const t1 = performance.now();
    if (r.seq !== seq + TRANSFORM_DELTA) throw new Error(`ping ${i}: echo seq ${r.seq}, expected ${seq + TRANSFORM_DELTA}`);
    if (i >= warmup) rtt[i - warmup] = (t1 - t0) * 1e6;
  }
  return rtt.sort();
}
