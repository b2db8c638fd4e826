/**
 * Hosting a WebAssembly module (e.g. AssemblyScript with wasm/as/isthmus/ring.ts) on an
 * Isthmus shm channel, zero-copy (docs/wasm.md, "Hosting").
 *
 *   const host = new WasmHost();
 *   const { instance } = await WebAssembly.instantiate(bytes, host.imports);
 *   host.bind(instance.exports);
 *   const ch = await host.attach(channelPath(root, 'book', 'pub'), 'subscriber');
 *   instance.exports.attach(ch.offset, ch.size, ch.slot);   // the module takes it from there
 *
 * attach() opens the region file, validates the ring header and joins the role here (slot
 * table, identity and liveness need /proc, which a module can not read), asks the module
 * for a 64 KiB-aligned window (`isthmus_reserve`), and maps the region over it
 * (@isthmus/native mapIntoMemory). The module then reads and writes the ring itself with
 * wasm atomics; the `isthmus.futex_wait/futex_wake` imports turn its linear-memory
 * addresses back into the region's shared futex words, and `isthmus.slot_alive` judges
 * the participant of a slot (an MPSC consumer's §6 recovery). close() leaves the slot, unmaps
 * (zero pages come back), gives the window back (`isthmus_release`) and closes the file.
 */
import { join } from 'node:path';
import { IsthmusError } from './errors.js';
import { loadNative } from './native.js';
import { isAlive, Ring, selfIdentity, type Reader, type Writer } from './ring/index.js';
import { regionNames } from './transport.js';

/** The exports a hosted module must have. */
export interface WasmModuleExports {
  readonly memory: { readonly buffer: ArrayBuffer | SharedArrayBuffer; grow(pages: number): number };
  isthmus_reserve(bytes: number): number;
  isthmus_release?(offset: number): void;
}

interface MappingApi {
  mapIntoMemory(memory: WasmModuleExports['memory'], offset: number, region: unknown): { window: number; close(): void };
  openFile(path: string): { buffer: SharedArrayBuffer; size: number; fd: number; close(): void };
  futexWait(buf: SharedArrayBuffer, off: number, expected: number, ms: number): string;
  futexWake(buf: SharedArrayBuffer, off: number, count?: number): number;
}

/** A channel region mapped into the module. */
export interface WasmChannel {
  /** Linear-memory address of the region's first byte (a multiple of 65536). */
  readonly offset: number;
  /** Region bytes. */
  readonly size: number;
  /** The participant slot joined for the module (1-based). */
  readonly slot: number;
  readonly role: 'publisher' | 'subscriber' | 'producer' | 'consumer';
  close(): void;
}

/** The region file of a channel under an shm transport root: `<root>/<name>~pub` etc. */
export function channelPath(root: string, name: string, kind: 'pub' | 'req' | 'dead' = 'pub'): string {
  return join(root, regionNames[kind](name));
}

const PAGE = 65536;

export class WasmHost {
  /** Pass to WebAssembly.instantiate. */
  readonly imports: { isthmus: Record<string, (...a: number[]) => number>; env: { abort(msg: number, file: number, line: number, col: number): never } };
  private exports: WasmModuleExports | null = null;
  private api: MappingApi | null = null;
  private readonly channels: { offset: number; window: number; buffer: SharedArrayBuffer }[] = [];

  constructor() {
    const find = (addr: number) => {
      for (const c of this.channels) if (addr >= c.offset && addr + 4 <= c.offset + c.window) return c;
      throw new RangeError(`wasm host: futex address ${addr} is not inside a mapped channel region`);
    };
    this.imports = {
      isthmus: {
        futex_wait: (addr: number, expected: number, ms: number): number => {
          const c = find(addr);
          const r = this.api!.futexWait(c.buffer, addr - c.offset, expected | 0, ms);
          return r === 'ok' ? 0 : r === 'not-equal' ? 1 : 2;
        },
        futex_wake: (addr: number, count: number): number => {
          const c = find(addr);
          return this.api!.futexWake(c.buffer, addr - c.offset, count >>> 0);
        },
        now_ms: (): number => performance.now(),
        // The slot at `addr` (docs/ring.md §2): pid at +8, start_time at +16; 1 alive, 0 dead.
        slot_alive: (addr: number): number => {
          const c = find(addr);
          const dv = new DataView(c.buffer, addr - c.offset, 24);
          return isAlive(dv.getUint32(8, true), dv.getBigUint64(16, true)) ? 1 : 0;
        },
      },
      env: {
        abort: (_msg: number, _file: number, line: number, col: number): never => {
          throw new Error(`wasm module aborted at ${line}:${col}`);
        },
      },
    };
  }

  /** Binds the instance's exports (its memory and isthmus_reserve). */
  bind(exports: WasmModuleExports): void {
    if (typeof exports.isthmus_reserve !== 'function' || !exports.memory)
      throw new TypeError('wasm host: the module must export memory and isthmus_reserve (re-export wasm/as/isthmus/host.ts)');
    this.exports = exports;
  }

  /**
   * Maps the ring region at `path` into the module and joins `role` for it. The module
   * must be told (offset, size, slot) and must stop touching the region before close().
   */
  async attach(path: string, role: WasmChannel['role'], expectTypeId?: bigint): Promise<WasmChannel> {
    const ex = this.exports;
    if (!ex) throw new Error('wasm host: bind(instance.exports) first');
    const api = (this.api ??= (await loadNative()) as unknown as MappingApi);
    const region = api.openFile(path);
    let endpoint: Reader | Writer | undefined;
    let mapping: { window: number; close(): void } | undefined;
    let offset = 0;
    try {
      const ring = Ring.open(region.buffer, 0, region.size, expectTypeId);
      endpoint = ring.join(role, selfIdentity());
      const window = Math.ceil(region.size / PAGE) * PAGE;
      offset = ex.isthmus_reserve(window) >>> 0;
      if (offset === 0 || offset % PAGE !== 0) throw new IsthmusError('TRANSPORT', `wasm host: the module could not reserve a ${window}-byte window (isthmus_reserve gave ${offset})`);
      mapping = api.mapIntoMemory(ex.memory, offset, region);
    } catch (e) {
      endpoint?.close();
      if (offset !== 0) ex.isthmus_release?.(offset);
      region.close();
      throw e;
    }
    const entry = { offset, window: mapping.window, buffer: region.buffer };
    this.channels.push(entry);
    let closed = false;
    const ep = endpoint;
    const m = mapping;
    return {
      offset,
      size: region.size,
      slot: ep.slot,
      role,
      close: () => {
        if (closed) return;
        closed = true;
        ep.close();
        m.close();
        this.channels.splice(this.channels.indexOf(entry), 1);
        ex.isthmus_release?.(offset);
        region.close();
      },
    };
  }
}
