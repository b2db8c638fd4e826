// Test module: the generated AS code against the golden vectors. The host copies a
// message into memory at alloc(n) and calls check(kind, ptr, len): verify(), then the
// JSON form read through the generated accessors (or "ERR <code> <path> <offset> <value>").
import * as market from "../../../schemas/generated/assemblyscript/market";
import * as kitchen from "../../../schemas/generated/assemblyscript/kitchen";
import * as rt from "../../../schemas/generated/assemblyscript/isthmus_layout";

export function alloc(n: u32): usize {
  return heap.alloc(n);
}

function err(e: rt.VerifyError): string {
  return "ERR " + rt.codeName(e.code) + " " + e.path + " " + e.offset.toString() + " " + e.value.toString();
}

/** kind 0 market.BookUpdate, 1 kitchen.Everything, 2 kitchen.Ping. */
export function check(kind: i32, p: usize, n: u32): string {
  if (kind == 0) {
    const e = market.BookUpdate.verify(p, n);
    return e ? err(e) : market.BookUpdate.view(p, n).toJSON();
  }
  if (kind == 1) {
    const e = kitchen.Everything.verify(p, n);
    return e ? err(e) : kitchen.Everything.view(p, n).toJSON();
  }
  const e = kitchen.Ping.verify(p, n);
  return e ? err(e) : kitchen.Ping.view(p, n).toJSON();
}
