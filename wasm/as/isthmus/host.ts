// What a module exports so that a host (packages/sdk/src/wasm.ts) can place a channel's
// region in its linear memory: re-export these from the module's entry file,
//   export { isthmus_reserve, isthmus_release } from "../isthmus/host";

const MAX_WINDOWS = 16;
const PAGE: usize = 65536;
// Raw heap blocks behind the windows: (window offset, block address) pairs.
const windows = new StaticArray<usize>(MAX_WINDOWS * 2);

/**
 * Reserves a window of `bytes` (rounded up to 64 KiB) at a 64 KiB-aligned offset that
 * nothing else in this module will use until isthmus_release: a raw heap block with
 * one page of slack for the alignment. The host then maps the region over it (the
 * allocator's own bookkeeping lies outside the window). Returns the offset, or 0.
 */
export function isthmus_reserve(bytes: u32): usize {
  const size = (<usize>bytes + PAGE - 1) & ~(PAGE - 1);
  for (let i = 0; i < MAX_WINDOWS; i++) {
    if (unchecked(windows[2 * i]) != 0) continue;
    const block = heap.alloc(size + PAGE);
    const at = (block + PAGE - 1) & ~(PAGE - 1);
    unchecked((windows[2 * i] = at));
    unchecked((windows[2 * i + 1] = block));
    return at;
  }
  return 0;
}

/** Frees a window (after the host unmapped it: the pages are zero pages again). */
export function isthmus_release(at: usize): void {
  for (let i = 0; i < MAX_WINDOWS; i++) {
    if (unchecked(windows[2 * i]) != at) continue;
    heap.free(unchecked(windows[2 * i + 1]));
    unchecked((windows[2 * i] = 0));
    return;
  }
}
