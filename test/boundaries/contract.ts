/**
 * The peer contract of test/boundaries.test.ts, shared by the host side, the TypeScript
 * peer (test/boundaries/peer.ts) and, by value, the C guest (native/guest/isthmus_guest.c,
 * whose channel prefix is fixed at "vm"; test/vm/host.ts has the same constants).
 */
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
