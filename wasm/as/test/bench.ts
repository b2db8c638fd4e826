// Bench module (bench/wasm/as.bench.ts): in-place reads of a market.BookUpdate with the
// generated AS view, `iters` times, inside wasm (one host call per batch).
import * as market from "../../../schemas/generated/assemblyscript/market";

const view = new market.BookUpdate();

export function alloc(n: u32): usize {
  return heap.alloc(n);
}

/** Wraps and reads every scalar and every level field `iters` times; returns a checksum. */
export function read(p: usize, len: u32, iters: u32): u64 {
  let sum: u64 = 0;
  for (let k: u32 = 0; k < iters; k++) {
    view.wrap(p, len);
    sum += view.seq + view.ts_ns + <u64>view.instrument_id + <u64>view.side;
    const bids = view.bids;
    for (let i: u32 = 0; i < bids.length; i++) {
      const l = view.bids_at(i);
      sum += <u64>l.price.mantissa + <u64>l.price.exponent + l.qty + <u64>l.orders;
    }
    const asks = view.asks;
    for (let i: u32 = 0; i < asks.length; i++) {
      const l = view.asks_at(i);
      sum += <u64>l.price.mantissa + <u64>l.price.exponent + l.qty + <u64>l.orders;
    }
  }
  return sum;
}
