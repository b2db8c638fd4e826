/**
 * The in-process transport: every region is a slice of one SharedArrayBuffer "arena".
 * Post `transport.arena` to a worker_thread (workerData or postMessage) and attach it
 * there with `inproc({ arena })`: both threads then see the same names and regions.
 * Waiting uses Atomics.wait / Atomics.waitAsync / Atomics.notify (inProcessNotifier).
 *
 * Arena layout (all u32 little-endian, atomics on naturally aligned words):
 *
 *   0      4        8       12      16      20
 *   +------+--------+-------+-------+-------+-------------------------------+
 *   |magic |version |bump   |size   |lock   | reserved (zero) up to 64      |
 *   +------+--------+-------+-------+-------+-------------------------------+
 *   64: directory, ENTRIES entries of 128 bytes:
 *     0 state (0 free, 1 reserved: being initialised, 2 published, 3 removed)
 *     4 offset of the region in the arena    8 size in bytes
 *    12 name length (bytes)                 16 name (UTF-8, at most 112 bytes)
 *   DATA: regions, each starting at a multiple of 4096
 *
 * `lock` is a spin lock (cas 0 → 1, store 0 to unlock) that serialises directory
 * changes; the cas and the unlocking store are sequentially consistent, so every
 * directory write made under the lock is visible to the next holder. Readers (`open`,
 * `list`) take the lock too: the directory is touched only on slow paths.
 * Regions are bump-allocated: the space of a removed region is not reused (threads may
 * still hold it), so an arena fits a bounded number of creates; size it accordingly.
 */
import { inProcessNotifier, type Notifier } from '../ring/index.js';
import { IsthmusError } from '../errors.js';
import type { Region, Transport } from '../transport.js';

const MAGIC = 0x50495349; // "ISIP"
const VERSION = 1;
const W_MAGIC = 0;
const W_VERSION = 1;
const W_BUMP = 2;
const W_SIZE = 3;
const W_LOCK = 4;
const DIR = 64;
const ENTRIES = 512;
const ENTRY = 128;
const NAME_MAX = ENTRY - 16;
const DATA = align(DIR + ENTRIES * ENTRY, 4096);

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

export interface InprocOptions {
  /** Attach to an arena created elsewhere (another worker posted `transport.arena`). */
  arena?: SharedArrayBuffer;
  /** Arena size for a new arena, in bytes (default 64 MiB). */
  size?: number;
}

export class InprocTransport implements Transport {
  readonly kind = 'inproc';
  readonly where = 'the in-process arena';
  readonly notifier: Notifier = inProcessNotifier;
  /** The arena: post it to a worker_thread and attach there with `inproc({ arena })`. */
  readonly arena: SharedArrayBuffer;
  private readonly i32: Int32Array;
  private readonly u8: Uint8Array;
  private readonly enc = new TextEncoder();
  private readonly dec = new TextDecoder();

  constructor(opts: InprocOptions = {}) {
    if (opts.arena) {
      this.arena = opts.arena;
      this.i32 = new Int32Array(this.arena);
      this.u8 = new Uint8Array(this.arena);
      if (Atomics.load(this.i32, W_MAGIC) !== MAGIC || Atomics.load(this.i32, W_VERSION) !== VERSION) {
        throw new IsthmusError('TRANSPORT', 'inproc: the SharedArrayBuffer given as arena is not an Isthmus arena (bad magic or version)');
      }
    } else {
      const size = align(opts.size ?? 64 << 20, 4096);
      if (size < DATA + 8192) throw new RangeError(`inproc: arena size ${size} is too small (at least ${DATA + 8192})`);
      this.arena = new SharedArrayBuffer(size);
      this.i32 = new Int32Array(this.arena);
      this.u8 = new Uint8Array(this.arena);
      this.i32[W_BUMP] = DATA;
      this.i32[W_SIZE] = size;
      this.i32[W_VERSION] = VERSION;
      Atomics.store(this.i32, W_MAGIC, MAGIC);
    }
  }

  private lock(): void {
    let spins = 0;
    while (Atomics.compareExchange(this.i32, W_LOCK, 0, 1) !== 0) {
      // Only directory changes hold the lock, for microseconds. Atomics.wait is not
      // allowed on a main thread, so back off by spinning.
      if (++spins > 1_000_000) throw new IsthmusError('TRANSPORT', 'inproc: arena directory lock held too long (a thread died holding it?)');
    }
  }
  private unlock(): void {
    Atomics.store(this.i32, W_LOCK, 0);
  }

  private entryWord(e: number, w: number): number {
    return (DIR + e * ENTRY) / 4 + w;
  }

  private nameOf(e: number): string {
    const base = DIR + e * ENTRY;
    const len = this.i32[this.entryWord(e, 3)]!;
    return this.dec.decode(this.u8.slice(base + 16, base + 16 + len));
  }

  /** Index of the published (or reserved) entry called `name`, or -1. Lock held. */
  private find(name: string, states: number[]): number {
    for (let e = 0; e < ENTRIES; e++) {
      const s = Atomics.load(this.i32, this.entryWord(e, 0));
      if (states.includes(s) && this.nameOf(e) === name) return e;
    }
    return -1;
  }

  private region(e: number, name: string): Region {
    const offset = this.i32[this.entryWord(e, 1)]!;
    const size = this.i32[this.entryWord(e, 2)]!;
    return { name, buffer: this.arena, byteOffset: offset, byteLength: size, close() {} };
  }

  create(name: string, size: number, init: (region: Region) => void): Region | null {
    const bytes = this.enc.encode(name);
    if (bytes.length > NAME_MAX) throw new RangeError(`inproc: region name ${name} longer than ${NAME_MAX} bytes`);
    const need = align(size, 4096);
    let e = -1;
    this.lock();
    try {
      if (this.find(name, [1, 2]) >= 0) return null;
      // A free or removed entry, and fresh space: the space of a removed region is never
      // reused, because threads that still have it open may go on using it.
      for (let i = 0; i < ENTRIES && e < 0; i++) {
        const st = this.i32[this.entryWord(i, 0)];
        if (st === 0 || st === 3) e = i;
      }
      if (e < 0) throw new IsthmusError('TRANSPORT', `inproc: arena directory full (${ENTRIES} regions)`);
      const at = this.i32[W_BUMP]!;
      if (at + need > this.i32[W_SIZE]!) throw new IsthmusError('TRANSPORT', `inproc: arena out of space: region ${name} needs ${need} bytes, ${this.i32[W_SIZE]! - at} left (create the arena with a larger size)`);
      this.i32[W_BUMP] = at + need;
      this.i32[this.entryWord(e, 1)] = at;
      this.i32[this.entryWord(e, 2)] = need;
      const base = DIR + e * ENTRY;
      this.u8.fill(0, base + 16, base + ENTRY);
      this.u8.set(bytes, base + 16);
      this.i32[this.entryWord(e, 3)] = bytes.length;
      Atomics.store(this.i32, this.entryWord(e, 0), 1);
    } finally {
      this.unlock();
    }
    const off = this.i32[this.entryWord(e, 1)]!;
    const r: Region = { name, buffer: this.arena, byteOffset: off, byteLength: size, close() {} };
    try {
      init(r); // fresh space reads as zero, as the ring protocol requires

    } catch (err) {
      Atomics.store(this.i32, this.entryWord(e, 0), 3);
      throw err;
    }
    Atomics.store(this.i32, this.entryWord(e, 0), 2);
    return r;
  }

  open(name: string): Region | null {
    this.lock();
    try {
      const e = this.find(name, [2]);
      return e < 0 ? null : this.region(e, name);
    } finally {
      this.unlock();
    }
  }

  list(): string[] {
    const out: string[] = [];
    this.lock();
    try {
      for (let e = 0; e < ENTRIES; e++) if (Atomics.load(this.i32, this.entryWord(e, 0)) === 2) out.push(this.nameOf(e));
    } finally {
      this.unlock();
    }
    return out;
  }

  remove(name: string, expect?: Region): boolean {
    this.lock();
    try {
      const e = this.find(name, [2]);
      if (e < 0) return false;
      if (expect && (expect.buffer !== this.arena || expect.byteOffset !== this.i32[this.entryWord(e, 1)])) return false;
      Atomics.store(this.i32, this.entryWord(e, 0), 3);
      return true;
    } finally {
      this.unlock();
    }
  }

  close(): void {}
}

/** An in-process transport (threads of one process). */
export function inproc(opts: InprocOptions = {}): InprocTransport {
  return new InprocTransport(opts);
}
