/**
 * The host side shared by test/vm.test.ts and bench/vm.bench.ts: the golden message,
 * an arena file, the guest's boot and stop (docs/vm.md).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as isthmus from '@isthmus/sdk';
import { BookUpdate, Side } from '../../schemas/generated/ts/market.ts';
import { buildInitramfs, ROOT } from './initramfs.ts';
import { bootGuest, type Guest } from './qemu.ts';

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
  /** Sends the stop message, waits for the guest's exit line and QEMU's exit; removes the arena file. */
  shutdown(): Promise<{ console: string; exit: number | string }>;
}

/**
 * Builds the initramfs, creates a fresh arena file of `sizeMiB`, opens the host's vm.h2g
 * publisher, and boots the guest. `beforeReady` runs once the guest attached the arena
 * (the cross-boundary atomics check hooks in there).
 */
export async function startVm(opts: { sizeMiB?: number; beforeReady?: (vm: Omit<Vm, 'shutdown'>) => void | Promise<void>; readyTimeoutMs?: number } = {}): Promise<Vm> {
  const initrd = buildInitramfs();
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
    guest = bootGuest({ transport, initrd });
    const base = { node, transport, guest, path, pub };
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
