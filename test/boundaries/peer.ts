/**
 * The service of the boundary tests (test/boundaries.test.ts): the peer side of the
 * contract, the same as the C guest's (native/guest/isthmus_guest.c), for every boundary
 * but the VM. It calls `isthmus.node()` with no arguments: its transport comes from its
 * environment (`ISTHMUS_TRANSPORT`, docs/config.md) and nothing in this file knows which
 * one it got. test/boundaries/boundaries.ts runs this file, unchanged, as a worker thread,
 * a child process, a process in a container and a network peer; only ISTHMUS_TRANSPORT
 * differs (the test checks that this file names no transport outside its comments).
 *
 *   <p>.h2g  client publisher -> peer subscriber  (broadcast, created by the client)
 *   <p>.g2h  peer publisher   -> client subscriber (broadcast, created here)
 *   <p>.rpc  peer server (created here); client
 *
 * For each message on <p>.h2g:
 *   - instrument_id 0xffffffff: stop (close every channel end, print `peer: done: …`, exit 0);
 *   - instrument_id 0xfffffffe (hostile): publish an INVALID message on <p>.g2h (the same
 *     fields with seq + 1000000 but side = 99, not a value of enum market.Side), then the
 *     normal echo;
 *   - otherwise echo: the same fields with seq + 1000000 on <p>.g2h.
 * Each request on <p>.rpc is answered with the request's fields, seq + 1 and
 * instrument_id + 1; instrument_id 0 is rejected ("instrument 0 rejected by the peer").
 *
 * Environment: ISTHMUS_TRANSPORT (read by isthmus.node()); ISTHMUS_PEER_PREFIX, the channel
 * prefix (default "vm", the C guest's). In a worker thread with ISTHMUS_TRANSPORT=inproc:
 * it attaches to the default arena it inherits from the thread that started it.
 * Prints (stdout, or the worker's stdout) `peer: OPEN: <kind> <where>, …` once <p>.g2h and
 * <p>.rpc exist, then `peer: READY …` once it joined <p>.h2g (which the client creates).
 */
import { isMainThread } from 'node:worker_threads';
import * as isthmus from '@isthmus/sdk';
import { BookUpdate, type Side } from '../../schemas/generated/ts/market.ts';
import { BAD_SIDE, HOSTILE_INSTRUMENT, PREFIX, PUB_OPTIONS, STOP_INSTRUMENT, TRANSFORM_DELTA } from './contract.ts';

/** Copies every field of `from` into the builder `to` (the guest copies the bytes). */
function copyBook(from: BookUpdate, to: BookUpdate): void {
  to.seq = from.seq;
  to.ts_ns = from.ts_ns;
  to.instrument_id = from.instrument_id;
  to.side = from.side;
  to.set_symbol(from.symbol);
  to.set_venue(from.venue);
  for (const side of ['bids', 'asks'] as const) {
    const src = from[side];
    if (src.length === 0) continue;
    const dst = side === 'bids' ? to.init_bids(src.length) : to.init_asks(src.length);
    for (let i = 0; i < src.length; i++) {
      const a = src.get(i);
      const b = dst.get(i);
      b.price.mantissa = a.price.mantissa;
      b.price.exponent = a.price.exponent;
      b.qty = a.qty;
      b.orders = a.orders;
    }
  }
  if (from.has_trade_id) to.trade_id = from.trade_id;
}

const say = (line: string) => console.log(`peer: ${line}`);

/**
 * Spin on tryReceive for up to 200 µs after the last message (as the C guest does) while
 * spinning pays off. Where the transport moves bytes on this thread's event loop (a network
 * connector), nothing can arrive during a spin: after MISSES spins in a row that found
 * nothing the peer stops spinning, and tries once more every PROBE messages.
 */
const SPIN_MS = 0.2;
const MISSES = 8;
const PROBE = 64;

async function main(prefix: string): Promise<void> {
  const node = await isthmus.node();
  let echoed = 0;
  let served = 0;
  let hostile = 0;
  // Ours first (the client waits for them), then the client's.
  const g2h = await node.publisher(`${prefix}.g2h`, BookUpdate, PUB_OPTIONS);
  const server = await node.serve(`${prefix}.rpc`, BookUpdate, BookUpdate, (req, res) => {
    served++;
    if (req.instrument_id === 0) throw new Error('instrument 0 rejected by the peer');
    copyBook(req, res);
    res.seq = req.seq + 1n;
    res.instrument_id = req.instrument_id + 1;
  });
  say(`OPEN: ${node.transport.kind} ${node.transport.where}, pid ${process.pid}${isMainThread ? '' : ' (worker thread)'}, publishing ${prefix}.g2h, serving ${prefix}.rpc`);
  const h2g = await node.subscriber(`${prefix}.h2g`, BookUpdate, { waitMs: 60_000 });
  say(`READY: subscribed to ${prefix}.h2g`);

  let cur: BookUpdate | null = null;
  let side: number | undefined;
  const fill = (o: BookUpdate) => {
    copyBook(cur!, o);
    o.seq = cur!.seq + TRANSFORM_DELTA;
    if (side !== undefined) o.side = side as Side;
  };
  const publish = async (m: BookUpdate, s?: number) => {
    cur = m;
    side = s;
    if (!g2h.trySend(fill)) await g2h.sendAsync(fill, { timeoutMs: 10_000 });
  };

  // Then wait in receive(), which also lets the server (and any transport I/O) run.
  let handled = 0;
  let misses = 0;
  let unspun = 0;
  for (let stop = false; !stop; ) {
    let m = h2g.tryReceive();
    if (m === null && (misses < MISSES || unspun >= PROBE)) {
      unspun = 0;
      const t0 = performance.now();
      while ((m = h2g.tryReceive()) === null && performance.now() - t0 < SPIN_MS);
      misses = m === null ? misses + 1 : 0;
    }
    if (m === null) m = await h2g.receive(50);
    if (m === null) continue;
    unspun++;
    if (m.instrument_id === STOP_INSTRUMENT) {
      stop = true;
    } else {
      if (m.instrument_id === HOSTILE_INSTRUMENT) {
        await publish(m, BAD_SIDE);
        hostile++;
      }
      await publish(m);
      echoed++;
    }
    h2g.release();
    // Let the server and the transport breathe during a long burst.
    if (++handled % 256 === 0) await new Promise((r) => setImmediate(r));
  }
  server.close();
  node.close();
  say(`done: ${echoed} echoed, ${served} requests served, ${hostile} hostile`);
}

await main(process.env.ISTHMUS_PEER_PREFIX || PREFIX);
// (In a worker thread this ends the thread.)
process.exit(0);
