// The TypeScript side: publishes three Orders on the channel `orders` once a subscriber
// (the WASM module's host) has joined, and leaves when they have been read.
import * as isthmus from '@isthmus/sdk';
import { setTimeout as sleep } from 'node:timers/promises';
import { Order, Side } from './gen/orders.ts';

const orders = [
  { symbol: 'ACME', side: Side.buy, qty: 100, price_cents: 1234n },
  { symbol: 'ACME', side: Side.sell, qty: 40, price_cents: 1240n },
  { symbol: 'INITECH', side: Side.buy, qty: 7, price_cents: 98_765n },
];

const node = await isthmus.node();
const pub = await node.publisher('orders', Order);
console.log(`publisher (pid ${process.pid}) created channel "orders"`);
for (const by = Date.now() + 10_000; pub.subscribers() === 0; await sleep(10)) {
  if (Date.now() > by) throw new Error('no subscriber joined within 10 s');
}

let seq = 0n;
for (const o of orders) {
  const m = pub.loan();
  m.seq = ++seq;
  m.set_symbol(o.symbol);
  m.side = o.side;
  m.qty = o.qty;
  m.price_cents = o.price_cents;
  pub.send(m);
  console.log(`sent seq=${seq} ${o.symbol}`);
}
if (!(await pub.flush(5000))) throw new Error('the subscriber did not read everything within 5 s');
node.close();
