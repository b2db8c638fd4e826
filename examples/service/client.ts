// The client process: three calls to `prices`. Each call resolves with a verified view
// of the reply, or rejects with a typed IsthmusError: here RejectedError, because the
// server's handler threw for an item it has no price for.
import * as isthmus from '@isthmus/sdk';
import { PriceReply, PriceRequest } from './gen/shop.ts';

const node = await isthmus.node();
const client = await node.client('prices', PriceRequest, PriceReply, { waitMs: 10_000 });
console.log(`client (pid ${process.pid}) connected to "prices"`);

for (const [item, qty] of [['apple', 3], ['plum', 12], ['durian', 1]] as const) {
  try {
    const r = await client.call((q) => {
      q.set_item(item);
      q.qty = qty;
    }, { timeoutMs: 5000 });
    console.log(`${r.qty} x ${r.item} at ${r.unit_cents} cents = ${r.total_cents} cents`);
  } catch (e) {
    if (!(e instanceof isthmus.RejectedError)) throw e; // TimeoutError, PeerDeadError, …
    console.log(`${qty} x ${item}: ${e.name} ${e.code}: ${e.reason}`);
  }
}
node.close();
