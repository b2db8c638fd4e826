/**
 * The TypeScript peer of the boundary tests (test/boundaries.test.ts): the same contract
 * as the C guest (native/guest/isthmus_guest.c), for every boundary but the VM. Its only
 * configuration is a transport spec; the code below never looks at which one it got.
 *
 *   <p>.h2g  host publisher  -> peer subscriber  (broadcast, created by the host)
 *   <p>.g2h  peer publisher  -> host subscriber  (broadcast, created here)
 *   <p>.rpc  peer server (created here); host clients
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
 * How it is started (the spec is the NodeOptions it passes to isthmus.node(), as JSON):
 *   worker thread  workerData { spec: { arena: SharedArrayBuffer }, prefix? }   → isthmus.inproc({ arena })
 *   child process  peer.ts '<spec json>' [prefix]   or  $ISTHMUS_PEER_SPEC / $ISTHMUS_PEER_PREFIX
 *                  {"root":"/dev/shm/…"}                         shm
 *                  {"transport":"agent","socket":"/run/…/agent.sock"}   agent (inside a container)
 *                  {"transport":"tcp://127.0.0.1:7300"}           tcp
 * Prints (stdout, or the worker's stdout) `peer: OPEN …` once <p>.g2h and <p>.rpc exist, then
 * `peer: READY …` once it joined <p>.h2g (which the host creates).
 */
import { isMainThread, workerData } from 'node:worker_threads';
import * as isthmus from '@isthmus/sdk';
import { BookUpdate, type Side } from '../../schemas/generated/ts/market.ts';
import { BAD_SIDE, HOSTILE_INSTRUMENT, PREFIX, PUB_OPTIONS, STOP_INSTRUMENT, TRANSFORM_DELTA } from './contract.ts';

export interface PeerSpec {
  transport?: 'shm' | 'agent' | `tcp://${string}` | `unix://${string}`;
  root?: string;
  socket?: string;
  /** Worker threads only: the parent's inproc arena. */
  arena?: SharedArrayBuffer;
}

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

export async function runPeer(spec: PeerSpec, prefix = PREFIX): Promise<void> {
  const { arena, ...opts } = spec;
  const node = await isthmus.node(arena ? { transport: isthmus.inproc({ arena }) } : (opts as isthmus.NodeOptions));
  // A network connector moves records on this thread's event loop: never spin there.
  const spin = !['tcp', 'unix'].includes(node.transport.kind);
  let echoed = 0;
  let served = 0;
  let hostile = 0;
  // Ours first (the host waits for them), then the host's.
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

  // Spin on tryReceive for up to 200 µs after the last message (as the C guest does), then
  // wait in receive(), which also lets the server (and any transport I/O) run.
  let handled = 0;
  for (let stop = false; !stop; ) {
    let m = h2g.tryReceive();
    if (m === null && spin) {
      const t0 = performance.now();
      while ((m = h2g.tryReceive()) === null && performance.now() - t0 < 0.2);
    }
    if (m === null) m = await h2g.receive(50);
    if (m === null) continue;
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

if (isMainThread) {
  if (import.meta.filename === process.argv[1]) {
    const spec = JSON.parse(process.argv[2] ?? process.env.ISTHMUS_PEER_SPEC ?? '{}') as PeerSpec;
    await runPeer(spec, process.argv[3] ?? process.env.ISTHMUS_PEER_PREFIX ?? PREFIX);
    process.exit(0);
  }
} else {
  const d = workerData as { spec: PeerSpec; prefix?: string };
  await runPeer(d.spec, d.prefix);
}
