// The WASM participant of the Quick-start demo (demo/run.ts): a broadcast subscriber of
// market.BookUpdate that runs the ring protocol and reads each message in place, inside
// the module. The host (demo/wasm-subscriber.ts) maps the channel's region into this
// module's memory (no copy), joins a subscriber slot for it and calls attach(); run(n)
// then receives, verifies and prints n messages by itself.
import * as market from "../../../schemas/generated/assemblyscript/market";
import { Ring, Reader } from "../isthmus/ring";
export { isthmus_reserve, isthmus_release } from "../isthmus/host";

/** Host import: prints `len` bytes of UTF-8 text at `ptr` as one line. */
@external("demo", "print")
declare function print(ptr: usize, len: u32): void;

function say(s: string): void {
  const b = String.UTF8.encode(s);
  print(changetype<usize>(b), <u32>b.byteLength);
}

const ring = new Ring();
let reader: Reader | null = null;
const view = new market.BookUpdate();

/** 0, or the Ring.open error. Caller guarantees [base, base + size) is the mapped region. */
export function attach(base: usize, size: u32, slot: u32): i32 {
  const rc = ring.open(base, size);
  if (rc != 0) return rc;
  reader = new Reader(ring, slot);
  return 0;
}

function level(name: string, i: u32, lv: market.Level): string {
  return " " + name + "[" + i.toString() + "]=" + lv.price.mantissa.toString() + "e" + lv.price.exponent.toString() + " x " + lv.qty.toString();
}

/** Receives, verifies and prints n messages; returns how many, or -(i + 1) when message i failed. */
export function run(n: u32, timeoutMs: f64): i32 {
  const r = reader!;
  for (let i: u32 = 0; i < n; i++) {
    const p = r.receiveWait(timeoutMs);
    if (p <= 0) {
      say("no message within " + timeoutMs.toString() + " ms");
      return -(<i32>i + 1);
    }
    const e = market.BookUpdate.verify(<usize>p, r.length);
    if (e != null) {
      say("rejected: " + e.toString());
    } else {
      view.wrap(<usize>p, r.length);
      let line = "received seq=" + view.seq.toString() + " instrument_id=" + view.instrument_id.toString() +
        " side=" + (view.side == market.Side.bid ? "bid" : "ask") + " symbol=" + view.symbol + " venue=" + view.venue;
      for (let k: u32 = 0; k < view.bids.length; k++) line += level("bids", k, view.bids_at(k));
      for (let k: u32 = 0; k < view.asks.length; k++) line += level("asks", k, view.asks_at(k));
      if (view.has_trade_id) line += " trade_id=" + view.trade_id.toString();
      say(line + " (" + r.length.toString() + " bytes, verify OK)");
    }
    r.release();
  }
  return <i32>n;
}
