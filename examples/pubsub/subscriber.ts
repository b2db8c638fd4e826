// The subscriber process: joins the channel `readings` (waiting for the publisher to
// create it) and prints each Reading, read in place from the ring after verify(), until
// the publisher has left.
import * as isthmus from '@isthmus/sdk';
import { Reading, Unit } from './gen/weather.ts';

const SYMBOL: Record<Unit, string> = { [Unit.celsius]: '°C', [Unit.percent]: '%', [Unit.hectopascal]: 'hPa' };

const node = await isthmus.node();
const sub = await node.subscriber('readings', Reading, { waitMs: 10_000 });
console.log(`subscriber (pid ${process.pid}) joined channel "readings"`);

for (;;) {
  const r = await sub.receive(100); // a view, valid until the next receive; null after 100 ms
  if (r) console.log(`received seq=${r.seq} station=${r.station} ${r.value} ${SYMBOL[r.unit]}`);
  else if (!sub.publisherAlive()) break;
}
console.log(`publisher gone; received ${sub.stats().received} readings`);
node.close();
