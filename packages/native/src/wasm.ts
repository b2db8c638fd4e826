/**
 * Regions mapped into a WasmMemory, zero-copy (docs/wasm.md, "Hosting").
 *
 * `mapIntoMemory(memory, offset, region)` replaces the memory's pages
 * [offset, offset + window) with a MAP_SHARED mapping of the region's file, so a wasm
 * module reads and writes the channel at linear-memory addresses, with real atomics that
 * other processes see. `window` is the region size rounded up to 64 KiB; the part past
 * the region's last page is fresh zero pages.
 *
 * Guards (each an Error whose message carries the bad values):
 *   - `offset` must be a multiple of 65536 and the window must lie inside the memory's
 *     *current* size (grow first; mapping beyond it is refused, RangeError);
 *   - windows in one memory must not overlap (Error, code 'ISTHMUS_WASM_OVERLAP');
 *   - the region must still have its fd (mapping a closed region is refused); closing the
 *     region afterwards is safe: the mapping holds the file, not the fd;
 *   - memory.grow() after mapping keeps the mapping (V8 grows wasm memories in place);
 *   - shared memories (`new WebAssembly.Memory({ shared: true, ... })`) are supported:
 *     every agent that shares the memory sees the mapping (it is one address range);
 *   - `close()` puts private zero pages back over the window; a second close is a no-op.
 *
 * What the caller must guarantee: nothing in the module uses [offset, offset + window)
 * for anything else while it is mapped (reserve it, e.g. with the AS runtime's
 * `isthmus_reserve`, wasm/as/isthmus/host.ts), and the region's file is not truncated
 * below the mapped size while mapped (reads past a file's end fault).
 */
import { native } from './loader.js';
import type { Region } from './region.js';

/**
 * The part of WebAssembly.Memory used here (the package's TS lib has no WebAssembly
 * types); the addon checks the real brand.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
const MemoryCtor = (globalThis as unknown as { WebAssembly: { Memory: abstract new (...a: never[]) => WasmMemory } }).WebAssembly.Memory;

/** One wasm page. */
export const WASM_PAGE = 65536;

interface WasmBinding {
  wasmMap(memory: WasmMemory, offset: number, fd: number, size: number): { window: number; mapped: number; shared: boolean };
  wasmUnmap(memory: WasmMemory, offset: number, window: number): void;
  wasmBase(memory: WasmMemory): bigint;
}

function binding(): WasmBinding {
  return native() as unknown as WasmBinding;
}

/** A region mapped into a memory. */
export interface MemoryMapping {
  readonly memory: WasmMemory;
  /** Byte offset of the window in the memory (a multiple of 65536). */
  readonly offset: number;
  /** Bytes of the region mapped (its size). */
  readonly size: number;
  /** Bytes of the window: size rounded up to 65536. */
  readonly window: number;
  /** Whether the memory is a shared one. */
  readonly shared: boolean;
  /** Whether close() has run. */
  readonly closed: boolean;
  /** Unmaps: the window reads as zeros again. Idempotent. */
  close(): void;
}

const live = new WeakMap<WasmMemory, Set<MemoryMapping>>();

/** Rounds n up to a multiple of 65536. */
export function roundToPage(n: number): number {
  return Math.ceil(n / WASM_PAGE) * WASM_PAGE;
}

/** The windows mapped into `memory` now. */
export function mappingsOf(memory: WasmMemory): MemoryMapping[] {
  return [...(live.get(memory) ?? [])];
}

/** Maps `region` (all of it) at `offset` in `memory`. See the module comment for the guards. */
export function mapIntoMemory(memory: WasmMemory, offset: number, region: Region): MemoryMapping {
  if (!(memory instanceof MemoryCtor)) throw new TypeError(`mapIntoMemory: memory must be a WasmMemory, got ${Object.prototype.toString.call(memory)}`);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset % WASM_PAGE !== 0)
    throw new RangeError(`mapIntoMemory: offset must be a non-negative multiple of 65536, got ${offset}`);
  if (region.fd < 0) throw new Error(`mapIntoMemory: the region is closed (fd ${region.fd}); map it before closing it`);
  const size = region.size;
  const window = roundToPage(size);
  const length = memory.buffer.byteLength;
  if (offset + window > length)
    throw new RangeError(`mapIntoMemory: window [${offset}, ${offset + window}) (region of ${size} bytes rounded up to 64 KiB) lies beyond the memory's current ${length} bytes; grow the memory first`);
  const set = live.get(memory) ?? new Set<MemoryMapping>();
  for (const m of set) {
    if (offset < m.offset + m.window && m.offset < offset + window) {
      const e = new Error(`mapIntoMemory: window [${offset}, ${offset + window}) overlaps the mapped window [${m.offset}, ${m.offset + m.window})`);
      (e as Error & { code: string }).code = 'ISTHMUS_WASM_OVERLAP';
      throw e;
    }
  }
  const r = binding().wasmMap(memory, offset, region.fd, size);
  let closed = false;
  const mapping: MemoryMapping = {
    memory,
    offset,
    size,
    window: r.window,
    shared: r.shared,
    get closed() {
      return closed;
    },
    close(): void {
      if (closed) return;
      closed = true;
      binding().wasmUnmap(memory, offset, r.window);
      set.delete(mapping);
    },
  };
  set.add(mapping);
  live.set(memory, set);
  return mapping;
}

/** The address of the memory's first byte in this process (diagnostics: it must not move). */
export function memoryBase(memory: WasmMemory): bigint {
  return binding().wasmBase(memory);
}
