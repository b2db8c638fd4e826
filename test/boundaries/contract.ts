/**
 * The peer contract of test/boundaries.test.ts, shared by the client program
 * (test/boundaries/client.ts), the TypeScript peer (test/boundaries/peer.ts), the bench
 * and, by value, the C guest (native/guest/isthmus_guest.c, whose channel prefix is fixed
 * at "vm"; test/vm/host.ts has the same constants).
 */
import type { Publisher, Subscriber } from '@isthmus/sdk';
import { Side, type BookUpdate } from '../../schemas/generated/ts/market.ts';

/** instrument_id that tells the peer to leave its channels and exit. */
export const STOP_INSTRUMENT = 0xffffffff;
/** instrument_id that makes the peer publish an invalid message (side = BAD_SIDE) before the echo. */
export const HOSTILE_INSTRUMENT = 0xfffffffe;
/** What the peer adds to seq when it echoes. */
export const TRANSFORM_DELTA = 1_000_000n;
/** Not a value of enum market.Side (bid = 1, ask = 2). */
export const BAD_SIDE = 99;
/** The channel prefix: the C guest's is compiled in, so every boundary uses it. */
export const PREFIX = 'vm';
/** Ring parameters of <p>.h2g and <p>.g2h (those of the C guest and test/vm/host.ts). */
export const PUB_OPTIONS = { capacity: 64 * 1024, maxMessage: 4096, slots: 8 } as const;

/** A small BookUpdate (96 bytes): seq, instrument_id, side ask, symbol PING. */
export function fillSmall(m: BookUpdate, seq: bigint, instrument: number): void {
  m.seq = seq;
  m.instrument_id = instrument;
  m.side = Side.ask;
  m.set_symbol('PING');
}

/** Marks the messages of the join handshake. */
const SYNC_BASE = 1n << 40n;

/**
 * Waits until both joins reached the other side: the peer's subscriber on `pub`'s channel
 * (`pub.subscribers()`), and ours on the echo channel at the peer's publisher (on shared
 * memory that is at once; over a network connection one roles scan later, and until then
 * the peer's echoes go nowhere). Pings until one echo comes back, then sends a fence and
 * drops echoes up to the fence's: afterwards `sub` holds nothing and every message sent is
 * echoed. (Used by the client program, test/boundaries/client.ts, and the bench.)
 */
export async function handshake(pub: Publisher<BookUpdate>, sub: Subscriber<BookUpdate>, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  const late = (what: string) => {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what} within ${timeoutMs} ms`);
  };
  const send = (seq: bigint) => pub.sendAsync((m) => fillSmall(m, seq, 7), { timeoutMs });
  while (pub.subscribers() === 0) {
    late(`${pub.name}: no subscriber`);
    await new Promise((r) => setTimeout(r, 5));
  }
  for (let k = 0n; ; k++) {
    late(`${sub.name}: no echo of the handshake`);
    await send(SYNC_BASE + k);
    if ((await sub.receive(20)) !== null) break;
  }
  const fence = SYNC_BASE * 2n;
  await send(fence);
  for (;;) {
    const m = await sub.receive(timeoutMs);
    if (m === null) throw new Error(`${sub.name}: no echo of the handshake's fence within ${timeoutMs} ms`);
    if (m.seq < SYNC_BASE + TRANSFORM_DELTA) throw new Error(`${sub.name}: unexpected seq ${m.seq} during the handshake`);
    if (m.seq === fence + TRANSFORM_DELTA) return;
  }
}
