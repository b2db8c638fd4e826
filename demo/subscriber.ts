/**
 * The TypeScript subscriber of the Quick-start demo (a process of its own, started by
 * demo/run.ts): subscribes to `book` under the given runtime directory and reads every
 * BookUpdate in place, in three phases that the publisher announces by count:
 *
 *   show     the first `show` messages: printed field by field;
 *   rate     `rate` messages sent as fast as the ring allows: checks that seq runs without
 *            gap or duplicate and measures messages per second (first to last receive);
 *   latency  `latency` messages sent one at a time: one-way latency from the publisher's
 *            `ts_ns` stamp (CLOCK_MONOTONIC, the same clock in every process) to the receive.
 *
 *   node demo/subscriber.ts <root> <market.ts> <show> <rate> <latency>
 *
 * Prints human lines, then one `RESULT {json}` line.
 */
import { node } from '@isthmus/sdk';

const [root, genPath, showS, rateS, latencyS] = process.argv.slice(2);
const show = Number(showS);
const rate = Number(rateS);
const latency = Number(latencyS);
const { BookUpdate, Side } = (await import(genPath!)) as typeof import('../schemas/generated/ts/market.ts');

const n = await node({ root: root! });
const sub = await n.subscriber('book', BookUpdate, { waitMs: 10_000 });
console.log(`TS subscriber (pid ${process.pid}) joined`);

type Book = InstanceType<typeof BookUpdate>;
/** The next message: spins on tryReceive() (zero-copy, no promise), then parks on the futex. */
async function next(): Promise<Book> {
  for (let spins = 0; ; spins++) {
    const m = sub.tryReceive();
    if (m) return m;
    if (spins > 20_000) {
      const w = await sub.receive(10_000);
      if (w) return w;
      throw new Error('TS subscriber: no message within 10 s');
    }
  }
}

for (let i = 0; i < show; i++) {
  const m = await next();
  const levels = (side: string, v: Book['bids']) => {
    const out: string[] = [];
    for (let k = 0; k < v.length; k++) {
      const lv = v.get(k);
      out.push(` ${side}[${k}]=${lv.price.mantissa}e${lv.price.exponent} x ${lv.qty}`);
    }
    return out.join('');
  };
  const trade = m.trade_id === null ? '' : ` trade_id=${m.trade_id}`;
  console.log(`received seq=${m.seq} instrument_id=${m.instrument_id} side=${m.side === Side.bid ? 'bid' : 'ask'} symbol=${m.symbol} venue=${m.venue}${levels('bids', m.bids)}${levels('asks', m.asks)}${trade} (${m.bytes().byteLength} bytes, verify OK)`);
}

// Rate: seq must run first, first+1, … with nothing lost, duplicated or reordered.
let first = -1n;
let t0 = 0n;
let bad = 0;
for (let i = 0; i < rate; i++) {
  const m = await next();
  if (i === 0) {
    first = m.seq;
    t0 = process.hrtime.bigint();
  } else if (m.seq !== first + BigInt(i)) bad++;
}
const rateNs = Number(process.hrtime.bigint() - t0);

// Latency: one-way, publisher's stamp to this receive.
const lat = new Float64Array(latency);
for (let i = 0; i < latency; i++) {
  const m = await next();
  lat[i] = Number(process.hrtime.bigint() - m.ts_ns);
}
lat.sort();
const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
const stats = sub.stats();
sub.close();
n.close();
console.log(`RESULT ${JSON.stringify({
  rate_msgs: rate,
  rate_ns: rateNs,
  msgs_per_s: rate > 1 ? ((rate - 1) * 1e9) / rateNs : 0,
  out_of_order: bad,
  latency_p50_ns: pct(0.5),
  latency_p99_ns: pct(0.99),
  received: stats.received,
  invalid: stats.invalid,
})}`);
