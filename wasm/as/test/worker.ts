// Test module: an MPSC consumer (a queue worker) of market.BookUpdate, all in wasm. The
// producers are other processes; a producer that died mid-claim is recovered by §6.
import * as market from "../../../schemas/generated/assemblyscript/market";
import { Ring, MpscReader } from "../isthmus/ring";
export { isthmus_reserve, isthmus_release } from "../isthmus/host";

const ring = new Ring();
let reader: MpscReader | null = null;
const view = new market.BookUpdate();
const PRODUCERS: u32 = 8;
const next = new StaticArray<u64>(PRODUCERS);

/** 0, or the Ring.open error. Caller guarantees [base, base + size) is the mapped region. */
export function attach(base: usize, size: u32, slot: u32): i32 {
  const rc = ring.open(base, size);
  if (rc != 0) return rc;
  reader = new MpscReader(ring, slot);
  return 0;
}

let sum: u64 = 0;
let lastError: string = "";
/**
 * Receives n jobs; each must verify, carry instrument_id = its producer (< 8) and seq = that
 * producer's next number (per-producer order), and side bid. Returns n, or -(index + 1).
 */
export function run(n: u32, timeoutMs: f64): i64 {
  const r = reader!;
  for (let i: u32 = 0; i < n; i++) {
    const p = r.receiveWait(timeoutMs);
    if (p <= 0) { lastError = "receive " + p.toString() + " at " + i.toString(); return -(<i64>i + 1); }
    const e = market.BookUpdate.verify(<usize>p, r.length);
    if (e != null) { lastError = e.toString(); return -(<i64>i + 1); }
    view.wrap(<usize>p, r.length);
    const k = view.instrument_id;
    if (k >= PRODUCERS || view.seq != next[k] || view.side != market.Side.bid) {
      lastError = "job " + i.toString() + " out of order: " + view.toJSON();
      return -(<i64>i + 1);
    }
    next[k] = view.seq + 1;
    sum += view.ts_ns;
    r.release();
  }
  return n;
}
export function checksum(): u64 { return sum; }
export function recovered(): u32 { return reader!.recovered; }
export function error(): string { return lastError; }
