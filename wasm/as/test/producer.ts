// Test module: a broadcast publisher (or SPSC producer) of market.BookUpdate, all in wasm:
// each message is built in place in the loaned ring space with the generated builder.
import * as market from "../../../schemas/generated/assemblyscript/market";
import { Ring, Writer } from "../isthmus/ring";
export { isthmus_reserve, isthmus_release } from "../isthmus/host";

const ring = new Ring();
let writer: Writer | null = null;
const msg = new market.BookUpdate();

export function attach(base: usize, size: u32, slot: u32): i32 {
  const rc = ring.open(base, size);
  if (rc != 0) return rc;
  writer = new Writer(ring, slot);
  return 0;
}

/** Publishes n messages: seq i, ts_ns i * 10, symbol "SYM<i % 100>", i % 3 bids (price k, qty i), side ask. Returns n or -(i + 1). */
export function run(n: u32, timeoutMs: f64): i64 {
  const w = writer!;
  const cap: u32 = 512;
  for (let i: u32 = 0; i < n; i++) {
    const p = w.loanWait(cap, timeoutMs);
    if (p <= 0) return -(<i64>i + 1);
    msg.build(<usize>p, cap);
    msg.seq = i;
    msg.ts_ns = <u64>i * 10;
    msg.instrument_id = 7;
    msg.side = market.Side.ask;
    msg.set_symbol("SYM" + (i % 100).toString());
    msg.set_venue("WASM");
    const bids = msg.init_bids(i % 3);
    for (let k: u32 = 0; k < bids.length; k++) {
      const l = msg.bids_at(k);
      l.price.mantissa = k;
      l.price.exponent = -2;
      l.qty = i;
      l.orders = 1;
    }
    msg.init_asks(0);
    const len = msg.finish();
    if (len == 0) return -(<i64>i + 1);
    if (w.commit(len) != 0) return -(<i64>i + 1);
  }
  return n;
}
/** Dead subscribers whose slots the publisher freed (§6) while it waited. */
export function recovered(): u32 { return writer!.freed; }
