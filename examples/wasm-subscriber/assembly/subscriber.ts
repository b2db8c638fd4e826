// The WASM side (AssemblyScript, compiled to gen/subscriber.wasm by `npm start`): a
// broadcast subscriber of orders.Order that runs the ring protocol itself, with the AS
// ring runtime of the Isthmus repository (wasm/as/isthmus/), and reads every message in
// place, in this module's own memory: the host (host.ts) maps the channel's region into
// it, joins a subscriber slot and calls attach(); run(n) receives, verifies and prints.
import * as orders from "../gen/as/orders";
import { Reader, Ring } from "../../../wasm/as/isthmus/ring";
export { isthmus_reserve, isthmus_release } from "../../../wasm/as/isthmus/host";

/** Host import: prints `len` bytes of UTF-8 text at `ptr` as one line. */
@external("example", "print")
declare function print(ptr: usize, len: u32): void;

function say(s: string): void {
  const b = String.UTF8.encode(s);
  print(changetype<usize>(b), <u32>b.byteLength);
}

const ring = new Ring();
let reader: Reader | null = null;
const order = new orders.Order();

/** 0, or the Ring.open error. The host guarantees [base, base + size) is the mapped region. */
export function attach(base: usize, size: u32, slot: u32): i32 {
  const rc = ring.open(base, size);
  if (rc != 0) return rc;
  reader = new Reader(ring, slot);
  return 0;
}

/** Receives, verifies and prints n Orders; returns n, or -(i + 1) when message i did not come. */
export function run(n: u32, timeoutMs: f64): i32 {
  const r = reader!;
  for (let i: u32 = 0; i < n; i++) {
    const p = r.receiveWait(timeoutMs); // the payload's address in this module's memory
    if (p <= 0) {
      say("no message within " + timeoutMs.toString() + " ms");
      return -(<i32>i + 1);
    }
    const e = orders.Order.verify(<usize>p, r.length);
    if (e != null) {
      say("rejected: " + e.toString());
    } else {
      order.wrap(<usize>p, r.length); // a view: nothing is copied
      const side = orders.Side._name(order.side)!;
      say("received seq=" + order.seq.toString() + " " + side + " " + order.qty.toString() + " " + order.symbol +
        " at " + order.price_cents.toString() + " cents (" + r.length.toString() + " bytes, verify OK)");
    }
    r.release();
  }
  return <i32>n;
}
