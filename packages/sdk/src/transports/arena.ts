/**
 * Arenas: many regions in one shared buffer (docs/ring.md §9 is the contract; the C side
 * is native/src/arena.c). A directory at the start of the arena maps region names to
 * (offset, size); regions are bump-allocated after it. Two transports use this layout:
 *
 *   - `inproc` (transports/inproc.ts): the arena is a SharedArrayBuffer shared by the
 *     threads of one process;
 *   - `arena` / `'vm'` (this file): the arena is ONE file (the ivshmem backing file of a
 *     virtual machine, e.g. under /dev/shm) mapped with @isthmus/native. A guest maps
 *     the same bytes as a PCI BAR; bootstrap and control live inside the arena, there is
 *     no socket between the two sides.
 *
 * Arena layout (all fields little-endian u32 unless noted; atomics on aligned words):
 *
 *    0       8       12      16      20      24      28      32      36             128
 *    +-------+-------+-------+-------+-------+-------+-------+-------+--------------+
 *    | magic |version| state | size  |entries| data  | bump  | lock  | reserved (0) |
 *    +-------+-------+-------+-------+-------+-------+-------+-------+--------------+
 *    128: guest identity line (64 bytes)
 *      128 g_state (0 unset, 1 set; atomic)  132 pid  136 uid  140 (0)  144 start_time u64
 *    192: reserved line (64 bytes, zero)
 *    256: directory, `entries` entries of 128 bytes:
 *      +0 state (0 free, 1 reserved, 2 published, 3 removed; atomic)
 *      +4 offset of the region in the arena   +8 size in bytes
 *     +12 name length in bytes               +16 name (UTF-8, at most 112 bytes)
 *    data (= align4096(256 + 128·entries)): regions, each at a multiple of 4096
 *
 * `magic` is "ISTHAREN". `lock` is a spin lock taken with cas(0 → tag) (tag ≠ 0: the
 * holder's pid on the host, bit 31 set for a VM guest; only for error messages) and freed
 * with store_release(0); both are sequentially consistent (JS Atomics), so every
 * directory write made under the lock happens-before the next holder's reads.
 * Every directory read and write happens under the lock except the publishing
 * `store_release(state, 2)` of an entry, which pairs with the `load_acquire(state)` of
 * readers: a reader that sees 2 sees the initialised region.
 * Space is never reused: a removed region's bytes may still be mapped and used by whoever
 * opened it. Size the arena for the regions you create.
 */
import { performance } from 'node:perf_hooks';
import { IsthmusError } from '../errors.js';
import { loadNative, type NativeApi, type NativeRegion } from '../native.js';
import { atomicsWaitAsync, int32View, type Notifier, type WaitOutcome } from '../ring/notify.js';
import type { Identity } from '../ring/index.js';
import type { Region, Transport } from '../transport.js';

/** "ISTHAREN" as two little-endian u32 words. */
const MAGIC_LO = 0x48545349; // "ISTH"
const MAGIC_HI = 0x4e455241; // "AREN"
export const ARENA_VERSION = 1;
const W_MAGIC_LO = 0;
const W_MAGIC_HI = 1;
const W_VERSION = 2;
const W_STATE = 3;
const W_SIZE = 4;
const W_ENTRIES = 5;
const W_DATA = 6;
const W_BUMP = 7;
const W_LOCK = 8;
const G_STATE = 128 >> 2;
const G_PID = 132 >> 2;
const G_UID = 136 >> 2;
const G_START_LO = 144 >> 2;
const G_START_HI = 148 >> 2;
export const ARENA_DIR = 256;
export const ARENA_ENTRY = 128;
export const ARENA_NAME_MAX = ARENA_ENTRY - 16;
const E_FREE = 0;
const E_RESERVED = 1;
const E_PUBLISHED = 2;
const E_REMOVED = 3;
/** Largest arena: offsets are u32. */
export const ARENA_MAX_SIZE = 2 ** 32 - 4096;

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** Offset of the first region for an arena with `entries` directory entries. */
export function arenaDataOffset(entries: number): number {
  return align(ARENA_DIR + entries * ARENA_ENTRY, 4096);
}

/**
 * The directory of one arena: create/open/list/remove regions by name (§9). Holds no
 * state of its own beyond the views; any number of directories (threads, processes, a VM
 * guest) may work on one arena at once.
 */
export class ArenaDirectory {
  readonly buffer: SharedArrayBuffer;
  readonly size: number;
  readonly entries: number;
  readonly dataOffset: number;
  /** Who this directory is, in error messages (`inproc`, `vm arena /dev/shm/x`). */
  readonly label: string;
  private readonly i32: Int32Array;
  private readonly u8: Uint8Array;
  private readonly enc = new TextEncoder();
  private readonly dec = new TextDecoder();
  private readonly tag: number;
  private readonly lockTimeoutMs: number;

  /**
   * Formats a zeroed buffer as an empty arena and marks it ready (store_release(state, 1)
   * last, so an attacher that reads state 1 sees every other header field).
   * The caller guarantees the buffer reads as zero (fresh SharedArrayBuffer or file).
   */
  static format(buf: SharedArrayBuffer, entries = 512): void {
    const size = buf.byteLength;
    const data = arenaDataOffset(entries);
    if (!Number.isInteger(entries) || entries < 1 || entries > 65536) throw new RangeError(`arena: entries ${entries} outside 1..65536`);
    if (size % 4096 !== 0 || size > ARENA_MAX_SIZE) throw new RangeError(`arena: size ${size} is not a multiple of 4096 at most ${ARENA_MAX_SIZE}`);
    if (size < data + 8192) throw new RangeError(`arena: size ${size} is too small for ${entries} entries (at least ${data + 8192})`);
    const i32 = new Int32Array(buf, 0, ARENA_DIR >> 2);
    i32[W_MAGIC_LO] = MAGIC_LO;
    i32[W_MAGIC_HI] = MAGIC_HI;
    i32[W_VERSION] = ARENA_VERSION;
    i32[W_SIZE] = size | 0;
    i32[W_ENTRIES] = entries;
    i32[W_DATA] = data;
    i32[W_BUMP] = data;
    Atomics.store(i32, W_STATE, 1);
  }

  /**
   * Attaches to a formatted arena; throws IsthmusError TRANSPORT naming the bad field.
   * `tag`: the lock tag of this attacher (default process.pid).
   */
  constructor(buf: SharedArrayBuffer, label: string, opts: { tag?: number; lockTimeoutMs?: number } = {}) {
    this.buffer = buf;
    this.label = label;
    this.tag = opts.tag ?? process.pid;
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 2000;
    if (buf.byteLength < ARENA_DIR + ARENA_ENTRY) throw new IsthmusError('TRANSPORT', `${label}: ${buf.byteLength} bytes is too small to be an Isthmus arena`);
    this.i32 = new Int32Array(buf, 0, buf.byteLength >>> 2);
    this.u8 = new Uint8Array(buf);
    const bad = (what: string) => new IsthmusError('TRANSPORT', `${label}: not an Isthmus arena (${what})`);
    // load_acquire(state) pairs with the formatter's store_release(state, 1).
    const state = Atomics.load(this.i32, W_STATE);
    if (this.i32[W_MAGIC_LO] !== MAGIC_LO || this.i32[W_MAGIC_HI] !== MAGIC_HI) throw bad('bad magic');
    if (state !== 1) throw bad(`state ${state}, expected 1 ready`);
    if (this.i32[W_VERSION] !== ARENA_VERSION) throw bad(`version ${this.i32[W_VERSION]}, expected ${ARENA_VERSION}`);
    this.size = this.i32[W_SIZE]! >>> 0;
    this.entries = this.i32[W_ENTRIES]! >>> 0;
    this.dataOffset = this.i32[W_DATA]! >>> 0;
    if (this.size !== buf.byteLength) throw bad(`size ${this.size}, but the mapping is ${buf.byteLength} bytes`);
    if (this.entries < 1 || this.entries > 65536) throw bad(`entries ${this.entries}`);
    if (this.dataOffset !== arenaDataOffset(this.entries)) throw bad(`data_offset ${this.dataOffset}, expected ${arenaDataOffset(this.entries)}`);
  }

  private lock(): void {
    const i32 = this.i32;
    if (Atomics.compareExchange(i32, W_LOCK, 0, this.tag) === 0) return;
    // Held by another thread, process or the VM guest: directory changes hold it for
    // microseconds, but a guest under emulation may be descheduled while holding it.
    const start = performance.now();
    let spins = 0;
    for (;;) {
      const held = Atomics.compareExchange(i32, W_LOCK, 0, this.tag);
      if (held === 0) return;
      if (++spins > 1000) {
        const waited = performance.now() - start;
        if (waited > this.lockTimeoutMs) {
          throw new IsthmusError('TRANSPORT', `${this.label}: arena directory lock held by tag ${held >>> 0} for over ${this.lockTimeoutMs} ms (a holder died with it?)`);
        }
        sleepMs(0.05);
      }
    }
  }

  private unlock(): void {
    // store_release(lock, 0) (SeqCst): the directory writes above are visible to the next cas winner.
    Atomics.store(this.i32, W_LOCK, 0);
  }

  private w(e: number, field: number): number {
    return (ARENA_DIR + e * ARENA_ENTRY) / 4 + field;
  }

  private nameOf(e: number): string {
    const base = ARENA_DIR + e * ARENA_ENTRY;
    const len = Math.min(this.i32[this.w(e, 3)]! >>> 0, ARENA_NAME_MAX);
    return this.dec.decode(this.u8.slice(base + 16, base + 16 + len));
  }

  private nameIs(e: number, bytes: Uint8Array): boolean {
    if (this.i32[this.w(e, 3)]! >>> 0 !== bytes.length) return false;
    const base = ARENA_DIR + e * ARENA_ENTRY + 16;
    for (let i = 0; i < bytes.length; i++) if (this.u8[base + i] !== bytes[i]) return false;
    return true;
  }

  /** Index of an entry in one of `states` called `name`, or -1. Lock held. */
  private find(bytes: Uint8Array, a: number, b = a): number {
    for (let e = 0; e < this.entries; e++) {
      const s = Atomics.load(this.i32, this.w(e, 0));
      if ((s === a || s === b) && this.nameIs(e, bytes)) return e;
    }
    return -1;
  }

  /**
   * Offset and size of entry e, checked against the arena: a corrupt or hostile writer
   * (the other side of a VM boundary) must not make us hand out bytes outside it.
   */
  private bounds(e: number, name: string): { offset: number; size: number } {
    const offset = this.i32[this.w(e, 1)]! >>> 0;
    const size = this.i32[this.w(e, 2)]! >>> 0;
    const bump = this.i32[W_BUMP]! >>> 0;
    if (offset % 4096 !== 0 || offset < this.dataOffset || size === 0 || offset + size > bump || bump > this.size) {
      throw new IsthmusError('TRANSPORT', `${this.label}: directory entry ${e} (${name}) is corrupt: offset ${offset}, size ${size}, bump ${bump}, data ${this.dataOffset}, arena ${this.size}`);
    }
    return { offset, size };
  }

  private region(name: string, offset: number, size: number): Region {
    return { name, buffer: this.buffer, byteOffset: offset, byteLength: size, close() {} };
  }

  /** Transport.create over the directory (see there). */
  create(name: string, size: number, init: (region: Region) => void): Region | null {
    const bytes = this.enc.encode(name);
    if (bytes.length === 0 || bytes.length > ARENA_NAME_MAX) throw new RangeError(`${this.label}: region name ${JSON.stringify(name)} is ${bytes.length} bytes (1..${ARENA_NAME_MAX})`);
    if (!Number.isInteger(size) || size <= 0) throw new RangeError(`${this.label}: region size ${size} is not a positive integer`);
    const need = align(size, 4096);
    let e = -1;
    let at = 0;
    this.lock();
    try {
      if (this.find(bytes, E_RESERVED, E_PUBLISHED) >= 0) return null;
      for (let i = 0; i < this.entries && e < 0; i++) {
        const st = this.i32[this.w(i, 0)];
        if (st === E_FREE || st === E_REMOVED) e = i;
      }
      if (e < 0) throw new IsthmusError('TRANSPORT', `${this.label}: arena directory full (${this.entries} regions)`);
      at = this.i32[W_BUMP]! >>> 0;
      if (at + need > this.size) throw new IsthmusError('TRANSPORT', `${this.label}: arena out of space: region ${name} needs ${need} bytes, ${this.size - at} left (create the arena with a larger size)`);
      this.i32[W_BUMP] = (at + need) | 0;
      this.i32[this.w(e, 1)] = at | 0;
      this.i32[this.w(e, 2)] = size | 0;
      const base = ARENA_DIR + e * ARENA_ENTRY;
      this.u8.fill(0, base + 16, base + ARENA_ENTRY);
      this.u8.set(bytes, base + 16);
      this.i32[this.w(e, 3)] = bytes.length;
      Atomics.store(this.i32, this.w(e, 0), E_RESERVED);
    } finally {
      this.unlock();
    }
    const r = this.region(name, at, size);
    try {
      init(r); // fresh space reads as zero (never reused), as the ring protocol requires
    } catch (err) {
      Atomics.store(this.i32, this.w(e, 0), E_REMOVED);
      throw err;
    }
    // store_release(state, 2): pairs with open()'s load_acquire; init's writes are visible.
    Atomics.store(this.i32, this.w(e, 0), E_PUBLISHED);
    return r;
  }

  open(name: string): Region | null {
    const bytes = this.enc.encode(name);
    this.lock();
    try {
      const e = this.find(bytes, E_PUBLISHED);
      if (e < 0) return null;
      const { offset, size } = this.bounds(e, name);
      return this.region(name, offset, size);
    } finally {
      this.unlock();
    }
  }

  list(): string[] {
    const out: string[] = [];
    this.lock();
    try {
      for (let e = 0; e < this.entries; e++) if (Atomics.load(this.i32, this.w(e, 0)) === E_PUBLISHED) out.push(this.nameOf(e));
    } finally {
      this.unlock();
    }
    return out;
  }

  remove(name: string, expect?: Region): boolean {
    const bytes = this.enc.encode(name);
    this.lock();
    try {
      const e = this.find(bytes, E_PUBLISHED);
      if (e < 0) return false;
      if (expect && (expect.buffer !== this.buffer || expect.byteOffset !== this.i32[this.w(e, 1)]! >>> 0)) return false;
      Atomics.store(this.i32, this.w(e, 0), E_REMOVED);
      return true;
    } finally {
      this.unlock();
    }
  }

  /**
   * Records the identity under which a VM guest's participants register in ring slots
   * (§9.3): the host process that embodies the guest (its QEMU process), so host-side
   * liveness (/proc, docs/ring.md §5) sees them alive exactly while the VM runs. The
   * fields are written first, then store_release(g_state, 1), which pairs with the
   * guest's load_acquire.
   */
  setGuestIdentity(id: Identity): void {
    const i32 = this.i32;
    i32[G_PID] = id.pid | 0;
    i32[G_UID] = id.uid | 0;
    const st = BigInt.asUintN(64, id.startTime);
    i32[G_START_LO] = Number(st & 0xffffffffn) | 0;
    i32[G_START_HI] = Number(st >> 32n) | 0;
    Atomics.store(i32, G_STATE, 1);
  }

  /** The guest identity, or null when none was set. */
  guestIdentity(): Identity | null {
    if (Atomics.load(this.i32, G_STATE) !== 1) return null;
    const lo = BigInt(this.i32[G_START_LO]! >>> 0);
    const hi = BigInt(this.i32[G_START_HI]! >>> 0);
    return { pid: this.i32[G_PID]! >>> 0, uid: this.i32[G_UID]! >>> 0, startTime: (hi << 32n) | lo };
  }
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Blocks this thread for `ms` (fractions allowed). Node allows Atomics.wait on the main thread. */
function sleepMs(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/** How a pollNotifier waits: spin, then sleep in steps growing from minSleepMs to maxSleepMs. */
export interface PollOptions {
  /** Busy polls before the first sleep (default 2000: tens of µs). */
  spins?: number;
  /** First sleep step in ms (default 0.05). */
  minSleepMs?: number;
  /** Largest sleep step in ms: the wake-up bound once a wait has lasted (default 1). */
  maxSleepMs?: number;
}

/**
 * A Notifier for rings shared across a boundary futexes do not cross (a VM: the guest's
 * futex_wake never reaches a host futex_wait, and the reverse). The waker side of
 * docs/ring.md §3 is unchanged: it increments the futex word when sleepers ≠ 0. This
 * waiter polls that word: a few thousand loads, then sleeps in steps that double from
 * minSleepMs up to maxSleepMs, re-reading the word after each. So a wake is noticed
 * within maxSleepMs (plus scheduling) however long the wait has lasted, within
 * ~minSleepMs early in a wait. The sleep is an Atomics.wait on the word itself, so a
 * waker in this process (Atomics.notify, `wake`) ends it at once.
 * The async wait yields to the event loop between polls (timer steps, ≥ ~1 ms in Node).
 */
export function pollNotifier(opts: PollOptions = {}): Notifier {
  const spins = opts.spins ?? 2000;
  const minSleep = opts.minSleepMs ?? 0.05;
  const maxSleep = opts.maxSleepMs ?? 1;
  return {
    wait(buf, byteOffset, expected, timeoutMs): WaitOutcome {
      const v = int32View(buf);
      const i = byteOffset >>> 2;
      const e = expected | 0;
      if (Atomics.load(v, i) !== e) return 'not-equal';
      for (let k = 0; k < spins; k++) if (Atomics.load(v, i) !== e) return 'ok';
      const deadline = performance.now() + timeoutMs;
      let step = minSleep;
      for (;;) {
        const left = deadline - performance.now();
        if (left <= 0) return 'timed-out';
        Atomics.wait(v, i, e, Math.min(step, left));
        if (Atomics.load(v, i) !== e) return 'ok';
        step = Math.min(step * 2, maxSleep);
      }
    },
    async waitAsync(buf, byteOffset, expected, timeoutMs): Promise<WaitOutcome> {
      const v = int32View(buf);
      const i = byteOffset >>> 2;
      const e = expected | 0;
      if (Atomics.load(v, i) !== e) return 'not-equal';
      for (let k = 0; k < spins; k++) if (Atomics.load(v, i) !== e) return 'ok';
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const left = deadline - performance.now();
        if (left <= 0) return 'timed-out';
        const r = atomicsWaitAsync(v, i, e, Math.min(maxSleep, left));
        if (r.async) await r.value;
        if (Atomics.load(v, i) !== e) return 'ok';
      }
    },
    wake(buf, byteOffset, count) {
      return Atomics.notify(int32View(buf), byteOffset >>> 2, count);
    },
  };
}

export interface ArenaOptions {
  /** The arena file (for a VM: the ivshmem memory-backend-file mem-path, e.g. /dev/shm/vm0.mem). */
  path: string;
  /**
   * Size in bytes for a new arena: a power of two (a PCI BAR's size must be one), at least
   * 1 MiB. When the file exists it is attached instead, and `size`, if given, must match.
   */
  size?: number;
  /** Directory entries of a new arena (default 512). */
  entries?: number;
  /** Wait tuning (see pollNotifier). */
  poll?: PollOptions;
}

/**
 * The VM transport: every region lives inside one file-backed arena shared with a VM
 * guest through ivshmem (docs/vm.md). Waiting polls (pollNotifier): futexes do not
 * cross the VM boundary.
 */
export class ArenaTransport implements Transport {
  readonly kind = 'vm';
  readonly where: string;
  readonly notifier: Notifier;
  readonly path: string;
  readonly directory: ArenaDirectory;
  /** Whether this transport created (and formatted) the arena file. */
  readonly created: boolean;
  private readonly mapping: NativeRegion;

  constructor(native: NativeApi, opts: ArenaOptions) {
    this.path = opts.path;
    this.where = `vm arena ${opts.path}`;
    this.notifier = pollNotifier(opts.poll);
    let mapping: NativeRegion | undefined;
    let created = false;
    try {
      mapping = native.openFile(opts.path);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT' && !/ENOENT|No such file/.test((err as Error).message)) {
        throw new IsthmusError('TRANSPORT', `vm arena: cannot open ${opts.path}: ${(err as Error).message}`, undefined, { cause: err });
      }
    }
    if (mapping) {
      if (opts.size !== undefined && mapping.size !== opts.size) {
        mapping.close();
        throw new IsthmusError('TRANSPORT', `vm arena: ${opts.path} is ${mapping.size} bytes, not the ${opts.size} asked for`);
      }
    } else {
      const size = opts.size;
      if (size === undefined) throw new IsthmusError('TRANSPORT', `vm arena: ${opts.path} does not exist and no size was given to create it`);
      if (!Number.isInteger(size) || size < 1 << 20 || size > 2 ** 31 || (size & (size - 1)) !== 0) {
        throw new RangeError(`vm arena: size ${size} must be a power of two between 1 MiB and 2 GiB (it becomes a PCI BAR)`);
      }
      try {
        mapping = native.createFile(opts.path, size, 0o600);
      } catch (err) {
        throw new IsthmusError('TRANSPORT', `vm arena: cannot create ${opts.path} (${size} bytes): ${(err as Error).message}`, undefined, { cause: err });
      }
      ArenaDirectory.format(mapping.buffer, opts.entries ?? 512);
      created = true;
    }
    this.mapping = mapping;
    this.created = created;
    try {
      this.directory = new ArenaDirectory(mapping.buffer, this.where);
    } catch (err) {
      mapping.close();
      throw err;
    }
  }

  /** The arena's bytes (the whole file). */
  get buffer(): SharedArrayBuffer {
    return this.mapping.buffer;
  }

  create(name: string, size: number, init: (region: Region) => void): Region | null {
    return this.directory.create(name, size, init);
  }
  open(name: string): Region | null {
    return this.directory.open(name);
  }
  list(): string[] {
    return this.directory.list();
  }
  remove(name: string, expect?: Region): boolean {
    return this.directory.remove(name, expect);
  }
  /** See ArenaDirectory.setGuestIdentity. */
  setGuestIdentity(id: Identity): void {
    this.directory.setGuestIdentity(id);
  }
  /** Keeps the mapping: regions handed out stay usable while their buffer is reachable. */
  close(): void {}
}

/** The VM transport over the arena file `path` (created with `size` when missing). Loads the addon. */
export async function arena(opts: ArenaOptions): Promise<ArenaTransport> {
  const native = await loadNative();
  return new ArenaTransport(native, opts);
}
