/**
 * Counters that other processes can read (docs/counters.md): each node keeps the counters
 * of its channel ends in one region of its own, next to the rings, so `isthmus stat`,
 * `isthmus top` and a Prometheus scrape see a running system with no daemon (the way
 * Aeron's counters file works).
 *
 * Region `~counters~<pid>.<start_time>.<n>` (the owner's identity, docs/ring.md §5; `n`
 * tells apart several nodes of one thread). `~` starts no channel name, so it never
 * collides with a channel's regions.
 * ```
 *  offset size
 *       0    8  magic "ISTHCNTR"
 *       8    4  version (1)
 *      12    4  state: 0 while formatting, 1 ready (store-release after every other header field)
 *      16    4  owner pid (the thread id for a worker thread)
 *      20    4  slot count N
 *      24    8  owner start time (clock ticks, /proc/<pid>/stat field 22)
 *      32    4  slot size (256)
 *      36    4  overflow: channel ends that found no free slot (their counters stay in-process)
 *      40   24  zero
 *      64  256×N slots
 * ```
 * Slot (256 bytes), written only by the owner thread:
 * ```
 *   0  4  state: 0 free, 1 in use (store-release after the fields below; store 0 frees it)
 *   4  4  role: 1 publisher 2 subscriber 3 client 4 server 5 queue producer 6 queue worker
 *          7 dead-letter reader
 *   8  8  type id of the channel's messages
 *  16  1  channel name length (1..100)
 *  17  1  type name length (0..40)
 *  18  2  zero
 *  20  4  generation: +1 each time the slot is taken (a reader that sees it change re-reads)
 *  24 104 channel name, UTF-8, zero padded
 * 128  40 type name (e.g. "market.BookUpdate"), UTF-8, cut at a character boundary to 40 bytes
 * 168  88 11 counters, binary64 little-endian, integral: sent, received, bytes_sent,
 *         bytes_received, full, invalid, dead_letters, lost, dropped, rejected, timeouts
 * ```
 * The owner updates a counter with a plain aligned 8-byte store; a reader's aligned 8-byte
 * load never sees half of one (x86-64, arm64). Counters are exact up to 2^53.
 */
import type { ChannelStats } from './channel.js';
import type { Identity } from './ring/index.js';
import { isAlive } from './ring/index.js';
import type { Region, Transport } from './transport.js';

export const COUNTERS_MAGIC = 'ISTHCNTR';
export const COUNTERS_VERSION = 1;
export const C_STATE = 12;
export const C_PID = 16;
export const C_SLOTS = 20;
export const C_START = 24;
export const C_SLOT_SIZE = 32;
export const C_OVERFLOW = 36;
export const C_HEADER = 64;
export const SLOT_SIZE = 256;
export const S_STATE = 0;
export const S_ROLE = 4;
export const S_TYPE_ID = 8;
export const S_NAME_LEN = 16;
export const S_TYPE_LEN = 17;
export const S_GEN = 20;
export const S_NAME = 24;
export const S_TYPE = 128;
export const S_COUNTERS = 168;
/** Slots per region: 64 + 127 × 256 = 32576 bytes. */
export const SLOTS = 127;
export const COUNTERS_SIZE = C_HEADER + SLOTS * SLOT_SIZE;

/** The counters in slot order (the names of ChannelStats). */
export const COUNTER_NAMES = ['sent', 'received', 'bytesSent', 'bytesReceived', 'full', 'invalid', 'deadLetters', 'lost', 'dropped', 'rejected', 'timeouts'] as const satisfies readonly (keyof ChannelStats)[];
/** Role codes of a slot; the names are the channel ends' `role`. */
export const ROLES = ['', 'publisher', 'subscriber', 'client', 'server', 'queue producer', 'queue worker', 'dead-letter reader'] as const;

/** The region name of a node's counters. */
export function countersRegion(id: Identity, n: number): string {
  return `~counters~${id.pid}.${id.startTime}.${n}`;
}

/** Whether `region` is a counters region (and not a channel's). */
export function isCountersRegion(region: string): boolean {
  return region.startsWith('~counters~');
}

/**
 * The counters of one channel end: ChannelStats as accessors over 11 binary64 values,
 * first in a private array, then (attach) in a slot of the node's counters region. Reads
 * and `+=` allocate nothing.
 */
export class CounterSet implements ChannelStats {
  private f: Float64Array = new Float64Array(COUNTER_NAMES.length);
  private o = 0;
  get sent(): number { return this.f[this.o]!; }
  set sent(v: number) { this.f[this.o] = v; }
  get received(): number { return this.f[this.o + 1]!; }
  set received(v: number) { this.f[this.o + 1] = v; }
  get bytesSent(): number { return this.f[this.o + 2]!; }
  set bytesSent(v: number) { this.f[this.o + 2] = v; }
  get bytesReceived(): number { return this.f[this.o + 3]!; }
  set bytesReceived(v: number) { this.f[this.o + 3] = v; }
  get full(): number { return this.f[this.o + 4]!; }
  set full(v: number) { this.f[this.o + 4] = v; }
  get invalid(): number { return this.f[this.o + 5]!; }
  set invalid(v: number) { this.f[this.o + 5] = v; }
  get deadLetters(): number { return this.f[this.o + 6]!; }
  set deadLetters(v: number) { this.f[this.o + 6] = v; }
  get lost(): number { return this.f[this.o + 7]!; }
  set lost(v: number) { this.f[this.o + 7] = v; }
  get dropped(): number { return this.f[this.o + 8]!; }
  set dropped(v: number) { this.f[this.o + 8] = v; }
  get rejected(): number { return this.f[this.o + 9]!; }
  set rejected(v: number) { this.f[this.o + 9] = v; }
  get timeouts(): number { return this.f[this.o + 10]!; }
  set timeouts(v: number) { this.f[this.o + 10] = v; }

  /** A plain copy. */
  snapshot(): ChannelStats {
    const s = {} as ChannelStats;
    for (let i = 0; i < COUNTER_NAMES.length; i++) s[COUNTER_NAMES[i]!] = this.f[this.o + i]!;
    return s;
  }

  /** Moves the counters (values so far included) to `f[o .. o + 11)`. */
  rebind(f: Float64Array, o: number): void {
    for (let i = 0; i < COUNTER_NAMES.length; i++) f[o + i] = this.f[this.o + i]!;
    this.f = f;
    this.o = o;
  }

  /** Moves them back to a private array (the slot is being freed). */
  detach(): void {
    const mine = new Float64Array(COUNTER_NAMES.length);
    for (let i = 0; i < mine.length; i++) mine[i] = this.f[this.o + i]!;
    this.f = mine;
    this.o = 0;
  }
}

const utf8 = new TextEncoder();

/** `s` as UTF-8, cut to at most `max` bytes at a character boundary. */
function cut(s: string, max: number): Uint8Array {
  const b = utf8.encode(s);
  if (b.length <= max) return b;
  let n = max;
  while (n > 0 && (b[n]! & 0xc0) === 0x80) n--;
  return b.subarray(0, n);
}

/** What a channel end tells the counters region about itself. */
export interface CounterOwner {
  readonly name: string;
  readonly role: string;
  readonly type?: { readonly NAME: string; readonly TYPE_ID: bigint };
  readonly _counters: CounterSet;
}

/**
 * The counters region of one node, made on the first attach. Only transports whose regions
 * other processes can map (shm; inproc for threads) get one; elsewhere counters stay
 * in-process and node.stats() still reports them.
 */
export class NodeCounters {
  private region: Region | null = null;
  private dv: DataView | null = null;
  private f64: Float64Array | null = null;
  private i32: Int32Array | null = null;
  private failed = false;
  private readonly slots = new Map<CounterOwner, number>();

  constructor(private readonly transport: Transport, private readonly id: Identity) {}

  private open(): boolean {
    if (this.region) return true;
    if (this.failed || (this.transport.kind !== 'shm' && this.transport.kind !== 'inproc')) return false;
    for (let n = 0; n < 64 && !this.region; n++) {
      this.region = this.transport.create(countersRegion(this.id, n), COUNTERS_SIZE, (r) => format(r, this.id));
    }
    if (!this.region) {
      this.failed = true;
      return false;
    }
    const r = this.region;
    this.dv = new DataView(r.buffer, r.byteOffset, r.byteLength);
    this.i32 = new Int32Array(r.buffer, r.byteOffset, r.byteLength >> 2);
    this.f64 = new Float64Array(r.buffer, r.byteOffset, r.byteLength >> 3);
    return true;
  }

  /** Gives `ch` a slot, moving its counters there; a full region counts an overflow. */
  attach(ch: CounterOwner): void {
    if (this.slots.has(ch)) return;
    try {
      if (!this.open()) return;
    } catch {
      this.failed = true; // counters are best effort: a channel never fails for them
      return;
    }
    const dv = this.dv!, i32 = this.i32!;
    for (let s = 0; s < SLOTS; s++) {
      const o = C_HEADER + s * SLOT_SIZE;
      if (Atomics.load(i32, (o + S_STATE) >> 2) !== 0) continue;
      const role = ROLES.indexOf(ch.role as (typeof ROLES)[number]);
      dv.setUint32(o + S_ROLE, role < 0 ? 0 : role, true);
      dv.setBigUint64(o + S_TYPE_ID, ch.type?.TYPE_ID ?? 0n, true);
      const u8 = new Uint8Array(dv.buffer, dv.byteOffset + o, SLOT_SIZE);
      u8.fill(0, S_NAME, S_COUNTERS);
      const name = cut(ch.name, 104);
      const type = cut(ch.type?.NAME ?? '', 40);
      u8.set(name, S_NAME);
      u8.set(type, S_TYPE);
      dv.setUint8(o + S_NAME_LEN, name.length);
      dv.setUint8(o + S_TYPE_LEN, type.length);
      dv.setUint32(o + S_GEN, (dv.getUint32(o + S_GEN, true) + 1) >>> 0, true);
      ch._counters.rebind(this.f64!, (o + S_COUNTERS) >> 3);
      // Pairs with a reader's load-acquire of state: every field above is visible first.
      Atomics.store(i32, (o + S_STATE) >> 2, 1);
      this.slots.set(ch, s);
      return;
    }
    Atomics.add(i32, C_OVERFLOW >> 2, 1);
  }

  /** Frees the slot of `ch` (its counters go back in-process). */
  detach(ch: CounterOwner): void {
    const s = this.slots.get(ch);
    if (s === undefined) return;
    this.slots.delete(ch);
    ch._counters.detach();
    Atomics.store(this.i32!, (C_HEADER + s * SLOT_SIZE + S_STATE) >> 2, 0);
  }

  /** Removes the region (node.close()). */
  close(): void {
    for (const ch of [...this.slots.keys()]) this.detach(ch);
    if (this.region) {
      this.transport.remove(this.region.name, this.region);
      this.region.close();
      this.region = null;
    }
  }
}

function format(r: Region, id: Identity): void {
  const dv = new DataView(r.buffer, r.byteOffset, r.byteLength);
  for (let i = 0; i < 8; i++) dv.setUint8(i, COUNTERS_MAGIC.charCodeAt(i));
  dv.setUint32(8, COUNTERS_VERSION, true);
  dv.setUint32(C_PID, id.pid, true);
  dv.setUint32(C_SLOTS, SLOTS, true);
  dv.setBigUint64(C_START, id.startTime, true);
  dv.setUint32(C_SLOT_SIZE, SLOT_SIZE, true);
  // Pairs with a reader's load-acquire of state.
  Atomics.store(new Int32Array(r.buffer, r.byteOffset, 4), C_STATE >> 2, 1);
}

/** One channel end's counters as a reader sees them. */
export interface EndCounters extends ChannelStats {
  channel: string;
  role: string;
  type: string;
  typeId: bigint;
  pid: number;
}

/** The counters regions under a transport, read by any process (slow path). */
export interface CountersRegion {
  region: string;
  pid: number;
  startTime: bigint;
  alive: boolean;
  overflow: number;
  ends: EndCounters[];
}

const utf8d = new TextDecoder();

/** Reads one counters region; null when it is not one (wrong magic/version) or not ready. */
export function readCounters(r: Region): CountersRegion | null {
  if (r.byteLength < C_HEADER) return null;
  const dv = new DataView(r.buffer, r.byteOffset, r.byteLength);
  const i32 = new Int32Array(r.buffer, r.byteOffset, r.byteLength >> 2);
  for (let i = 0; i < 8; i++) if (dv.getUint8(i) !== COUNTERS_MAGIC.charCodeAt(i)) return null;
  if (dv.getUint32(8, true) !== COUNTERS_VERSION || Atomics.load(i32, C_STATE >> 2) !== 1) return null;
  const slots = dv.getUint32(C_SLOTS, true);
  const size = dv.getUint32(C_SLOT_SIZE, true);
  if (size < SLOT_SIZE || C_HEADER + slots * size > r.byteLength) return null;
  const pid = dv.getUint32(C_PID, true);
  const startTime = dv.getBigUint64(C_START, true);
  const ends: EndCounters[] = [];
  const bytes = new Uint8Array(r.buffer, r.byteOffset, r.byteLength);
  for (let s = 0; s < slots; s++) {
    const o = C_HEADER + s * size;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (Atomics.load(i32, (o + S_STATE) >> 2) !== 1) break;
      const gen = dv.getUint32(o + S_GEN, true);
      const nameLen = Math.min(dv.getUint8(o + S_NAME_LEN), 104);
      const typeLen = Math.min(dv.getUint8(o + S_TYPE_LEN), 40);
      const e = {
        channel: utf8d.decode(bytes.slice(o + S_NAME, o + S_NAME + nameLen)),
        role: ROLES[dv.getUint32(o + S_ROLE, true)] || 'unknown',
        type: utf8d.decode(bytes.slice(o + S_TYPE, o + S_TYPE + typeLen)),
        typeId: dv.getBigUint64(o + S_TYPE_ID, true),
        pid,
      } as EndCounters;
      for (let i = 0; i < COUNTER_NAMES.length; i++) e[COUNTER_NAMES[i]!] = dv.getFloat64(o + S_COUNTERS + 8 * i, true);
      // The slot was not freed and taken again while it was read.
      if (Atomics.load(i32, (o + S_STATE) >> 2) === 1 && dv.getUint32(o + S_GEN, true) === gen) {
        ends.push(e);
        break;
      }
    }
  }
  return { region: '', pid, startTime, alive: isAlive(pid, startTime), overflow: dv.getUint32(C_OVERFLOW, true), ends };
}

/** Every counters region under `t` (their owners may be dead: `alive` says). */
export function listCounters(t: Transport): CountersRegion[] {
  const out: CountersRegion[] = [];
  for (const name of t.list()) {
    if (!isCountersRegion(name)) continue;
    let r: Region | null = null;
    try {
      r = t.open(name);
      if (!r) continue;
      const c = readCounters(r);
      if (c) out.push({ ...c, region: name });
    } catch {
      /* removed meanwhile, or not readable by us */
    } finally {
      r?.close();
    }
  }
  return out;
}
