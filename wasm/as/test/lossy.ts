// Test module: an overwrite-policy subscriber of market.BookUpdate, all in wasm. It stalls
// once (so that the publisher laps it), then reads until the message with seq n - 1.
import * as market from "../../../schemas/generated/assemblyscript/market";
import { Ring, OverwriteReader } from "../isthmus/ring";
export { isthmus_reserve, isthmus_release } from "../isthmus/host";

@external("isthmus", "now_ms") declare function now_ms(): f64;

const ring = new Ring();
let reader: OverwriteReader | null = null;
const view = new market.BookUpdate();

export function attach(base: usize, size: u32, slot: u32): i32 {
  const rc = ring.open(base, size);
  if (rc != 0) return rc;
  reader = new OverwriteReader(ring, slot);
  return 0;
}

let lastError: string = "";
let tail: u32 = 0;
/**
 * Waits for the first message, stalls 300 ms, then reads up to seq n - 1. Every message
 * delivered must verify and carry ts_ns = 3 × seq and symbol "SYM<seq % 100>"; seqs only
 * grow, and the gaps account for every missing one. Returns how many were delivered, or
 * -(count + 1) on the first bad one. tailCount() counts those with seq ≥ n - 50.
 */
export function run(n: u32, timeoutMs: f64): i64 {
  const r = reader!;
  while (!r.hasData()) { const t = now_ms(); while (now_ms() - t < 1) {} }
  const until = now_ms() + 300;
  while (now_ms() < until) {}
  let got: u32 = 0;
  let prev: i64 = -1;
  for (;;) {
    const p = r.receiveWait(timeoutMs);
    if (p <= 0) { lastError = "receive " + p.toString() + " after " + got.toString(); return -(<i64>got + 1); }
    const e = market.BookUpdate.verify(<usize>p, r.length);
    if (e != null) { lastError = e.toString(); return -(<i64>got + 1); }
    view.wrap(<usize>p, r.length);
    const seq = <i64>view.seq;
    if (seq <= prev || <i64>r.gap != seq - prev - 1 || view.ts_ns != <u64>seq * 3 || view.symbol != "SYM" + (seq % 100).toString()) {
      lastError = "message after " + prev.toString() + " (gap " + r.gap.toString() + "): " + view.toJSON();
      return -(<i64>got + 1);
    }
    prev = seq;
    got++;
    if (seq >= <i64>n - 50) tail++;
    r.release();
    if (seq == <i64>n - 1) return got;
  }
  return 0;
}
export function lost(): u32 { return reader!.lost; }
export function tailCount(): u32 { return tail; }
export function error(): string { return lastError; }
