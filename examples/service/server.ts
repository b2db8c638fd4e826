// The server process: serves `prices`. The handler writes the reply in place in the
// client's response ring; when it throws, the client gets a RejectedError with the
// message as its reason (the server goes on). Stops on SIGTERM and prints its counters.
import * as isthmus from '@isthmus/sdk';
import { PriceReply, PriceRequest } from './gen/shop.ts';

const PRICES = new Map([['apple', 40], ['pear', 55], ['plum', 25]]);

const node = await isthmus.node();
const server = await node.serve('prices', PriceRequest, PriceReply, (req, res, ctx) => {
  const unit = PRICES.get(req.item);
  if (unit === undefined) throw new Error(`no price for "${req.item}"`);
  res.set_item(req.item);
  res.qty = req.qty;
  res.unit_cents = unit;
  res.total_cents = BigInt(unit) * BigInt(req.qty);
  console.log(`quoted ${req.qty} x ${req.item} for the client with pid ${ctx.pid}`);
});
process.once('SIGTERM', () => server.close());
console.log(`server (pid ${process.pid}) serving "prices"`);

await server.done; // settles once close() stopped the serving loop
const s = server.stats();
console.log(`stopped: ${s.received} requests, ${s.sent} replies, ${s.rejected} rejected`);
node.close();
