// Test module: a broadcast subscriber (or SPSC consumer) of market.BookUpdate, all in wasm.
// The host maps the region and calls attach(); run() receives, verifies and checks messages.
import * as market from "../../../schemas/generated/assemblyscript/market";
import { Ring, Reader } from "../isthmus/ring";
export { isthmus_reserve, isthmus_release } from "../isthmus/host";

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

let sum: u64 = 0;
let lastError: string = "";
/** Receives n messages; each must verify and carry seq = i, symbol "SYM<i % 100>", i % 3 bids with qty = i. Returns how many passed, or -(index + 1) on the first bad one. */
export function run(n: u32, timeoutMs: f64): i64 {
  const r = reader!;
  for (let i: u32 = 0; i < n; i++) {
    const p = r.receiveWait(timeoutMs);
    if (p <= 0) { lastError = "receive " + p.toString() + " at " + i.toString(); return -(<i64>i + 1); }
    const e = market.BookUpdate.verify(<usize>p, r.length);
    if (e != null) { lastError = e.toString(); return -(<i64>i + 1); }
    view.wrap(<usize>p, r.length);
    if (view.seq != <u64>i || view.symbol != "SYM" + (i % 100).toString() || view.bids.length != i % 3 || view.side != market.Side.ask) {
      lastError = "values at " + i.toString() + ": " + view.toJSON();
      return -(<i64>i + 1);
    }
    for (let k: u32 = 0; k < view.bids.length; k++) {
      if (view.bids_at(k).qty != <u64>i || view.bids_at(k).price.mantissa != <i64>k) { lastError = "level at " + i.toString(); return -(<i64>i + 1); }
    }
    sum += view.ts_ns;
    r.release();
  }
  return n;
}
export function checksum(): u64 { return sum; }
export function error(): string { return lastError; }
