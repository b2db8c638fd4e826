// AssemblyScript peer of the IPC benchmark (isthmus-ts-as): the echo side of ping-pong and
// a throughput producer, all in wasm over rings the host (bench/ipc/peer.ts, WasmHost)
// mapped into this module's memory. Build:
//   node node_modules/assemblyscript/bin/asc.js bench/peers/as/echo.ts -o bench/peers/as/build/echo.wasm \
//     --enable threads -O3 --runtime incremental
// (bench/ipc/run.ts builds it when missing or older than this file or the AS ring library.)
import { Ring, Reader, Writer } from "../../../wasm/as/isthmus/ring";
export { isthmus_reserve, isthmus_release } from "../../../wasm/as/isthmus/host";

const inRing = new Ring();
const outRing = new Ring();
let reader: Reader | null = null;
let writer: Writer | null = null;

/** Ring `which` (0: the one this module reads, 1: the one it writes) at [base, base + size). */
export function attach(which: u32, base: usize, size: u32, slot: u32): i32 {
  const ring = which == 0 ? inRing : outRing;
  const rc = ring.open(base, size);
  if (rc != 0) return rc;
  if (which == 0) reader = new Reader(ring, slot);
  else writer = new Writer(ring, slot);
  return 0;
}

/** Echoes n messages: busy-polls receive, loans a reply of the same length, memory.copy, commit, release. Returns n, or < 0 on an error. */
export function pong(n: u32): i64 {
  const r = reader!;
  const w = writer!;
  for (let i: u32 = 0; i < n; i++) {
    let p = r.receive();
    while (p == 0) p = r.receive();
    if (p < 0) return p;
    const len = r.length;
    let q = w.loan(len);
    while (q == 0) q = w.loan(len);
    if (q < 0) return q;
    memory.copy(<usize>q, <usize>p, len);
    const rc = w.commit(len);
    if (rc != 0) return rc;
    r.release();
  }
  return n;
}

/** Produces n messages of len bytes copied from src (bytes 0..7 overwritten with the index). */
export function produce(n: u32, src: usize, len: u32): i64 {
  const w = writer!;
  for (let i: u32 = 0; i < n; i++) {
    let q = w.loan(len);
    while (q == 0) q = w.loan(len);
    if (q < 0) return q;
    memory.copy(<usize>q, src, len);
    store<u64>(<usize>q, <u64>i);
    const rc = w.commit(len);
    if (rc != 0) return rc;
  }
  return n;
}

export function alloc(n: u32): usize {
  return heap.alloc(n);
}
