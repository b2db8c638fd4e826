/**
 * An opened ring region: header fields, the participant table (§1.3, §5) and join.
 *
 *   const ring = Ring.open(sab, 0, sab.byteLength, TYPE_ID);
 *   const w = ring.join('producer', selfIdentity());
 *   const off = w.loan(n); // write n bytes at `off` in sab
 *   w.commit(n);
 */
import { BroadcastOverwriteReader, BroadcastOverwriteWriter, BroadcastReader, BroadcastWriter } from './broadcast.js';
import type { Reader, Writer } from './endpoint.js';
import { RingError } from './errors.js';
import { type RingKind, validateHeader } from './header.js';
import { type Identity, isAlive } from './identity.js';
import * as L from './layout.js';
import { MpscReader, MpscWriter } from './mpsc.js';
import type { Notifier } from './notify.js';
import { SpscReader, SpscWriter } from './spsc.js';

export type Role = 'producer' | 'consumer' | 'publisher' | 'subscriber';
const ROLE_CODES: Record<Role, number> = { producer: L.ROLE_PRODUCER, consumer: L.ROLE_CONSUMER, publisher: L.ROLE_PUBLISHER, subscriber: L.ROLE_SUBSCRIBER };
const ROLE_NAMES: Role[] = ['producer', 'producer', 'consumer', 'publisher', 'subscriber'];

export interface Participant {
  slot: number;
  role: Role;
  pid: number;
  uid: number;
  startTime: bigint;
  alive: boolean;
}

export interface JoinOptions {
  /** Take exactly this 1-based slot (conformance runs); NO_SLOT when it is not free. */
  slot?: number;
  /** Liveness used for role take-over; default: /proc (§5). */
  isAlive?: (pid: number, startTime: bigint) => boolean;
}

export class Ring {
  readonly kind: RingKind;
  readonly capacity: number;
  readonly maxMessage: number;
  readonly typeId: bigint;
  readonly policy: 'block' | 'overwrite';
  readonly slots: number;
  readonly buffer: SharedArrayBuffer;
  /** Region start in `buffer`. */
  readonly byteOffset: number;
  readonly regionSize: number;
  readonly dataOffset: number;
  readonly unblockNs: bigint;
  /** Views over [byteOffset, byteOffset + regionSize), shared by every endpoint. */
  readonly i32: Int32Array;
  readonly dv: DataView;
  readonly u8: Uint8Array;

  private constructor(buf: SharedArrayBuffer, byteOffset: number, h: ReturnType<typeof validateHeader>) {
    this.buffer = buf;
    this.byteOffset = byteOffset;
    this.kind = h.kind;
    this.capacity = h.capacity;
    this.maxMessage = h.maxMessage;
    this.typeId = h.typeId;
    this.policy = h.policy;
    this.slots = h.slots;
    this.regionSize = h.regionSize;
    this.dataOffset = h.dataOffset;
    this.unblockNs = h.unblockNs;
    this.i32 = new Int32Array(buf, byteOffset, h.regionSize >>> 2);
    this.dv = new DataView(buf, byteOffset, h.regionSize);
    this.u8 = new Uint8Array(buf, byteOffset, h.regionSize);
  }

  /** Validates the header (§1.1) and opens the ring; throws RingError naming the field. */
  static open(buf: SharedArrayBuffer, byteOffset: number, length: number, expectTypeId?: bigint): Ring {
    return new Ring(buf, byteOffset, validateHeader(buf, byteOffset, length, expectTypeId));
  }

  private slotState(slot: number): number {
    return Atomics.load(this.i32, (L.slotOffset(slot) + L.S_STATE) >> 2);
  }

  /** Active slots holding `role` (a role code). Slow path. */
  slotsWithRole(role: number): { slot: number; pid: number; startTime: bigint }[] {
    const out: { slot: number; pid: number; startTime: bigint }[] = [];
    for (let s = 1; s <= this.slots; s++) {
      const o = L.slotOffset(s);
      // load_acquire(state) pairs with the joiner's store_release(state, 2): its fields are visible.
      if (this.slotState(s) !== L.SLOT_ACTIVE || this.dv.getUint32(o + L.S_ROLE, true) !== role) continue;
      out.push({ slot: s, pid: this.dv.getUint32(o + L.S_PID, true), startTime: this.dv.getBigUint64(o + L.S_START, true) });
    }
    return out;
  }

  /** Participants currently holding slots, with liveness. Slow path. */
  participants(): Participant[] {
    const out: Participant[] = [];
    for (let s = 1; s <= this.slots; s++) {
      if (this.slotState(s) !== L.SLOT_ACTIVE) continue;
      const o = L.slotOffset(s);
      const pid = this.dv.getUint32(o + L.S_PID, true);
      const startTime = this.dv.getBigUint64(o + L.S_START, true);
      out.push({
        slot: s,
        role: ROLE_NAMES[this.dv.getUint32(o + L.S_ROLE, true)] ?? 'producer',
        pid,
        uid: this.dv.getUint32(o + L.S_UID, true),
        startTime,
        alive: isAlive(pid, startTime),
      });
    }
    return out;
  }

  /**
   * Frees a slot whose state is `expect`: cas(state, expect → 1) so that two sweepers do
   * not both free it, zero the other fields, then store_release(state, 0), which pairs
   * with the next joiner's cas(0 → 1). Returns false when the state was not `expect`.
   */
  freeSlot(slot: number, expect: number = L.SLOT_ACTIVE): boolean {
    const o = L.slotOffset(slot);
    if (expect !== L.SLOT_FILLING && Atomics.compareExchange(this.i32, (o + L.S_STATE) >> 2, expect, L.SLOT_FILLING) !== expect) return false;
    this.u8.fill(0, o + 4, o + L.SLOT_SIZE);
    Atomics.store(this.i32, (o + L.S_STATE) >> 2, L.SLOT_FREE);
    return true;
  }

  /** Frees slots whose holder is dead (§5). Returns how many. */
  sweep(alive: (pid: number, startTime: bigint) => boolean = isAlive): number {
    let n = 0;
    for (let s = 1; s <= this.slots; s++) {
      if (this.slotState(s) !== L.SLOT_ACTIVE) continue;
      const o = L.slotOffset(s);
      if (!alive(this.dv.getUint32(o + L.S_PID, true), this.dv.getBigUint64(o + L.S_START, true)) && this.freeSlot(s)) n++;
    }
    return n;
  }

  /** Joins with a role (§5); throws RingError ROLE_TAKEN / NO_SLOT. */
  join(role: 'producer' | 'publisher', id: Identity, notifier?: Notifier, opts?: JoinOptions): Writer;
  join(role: 'consumer' | 'subscriber', id: Identity, notifier?: Notifier, opts?: JoinOptions): Reader;
  join(role: Role, id: Identity, notifier?: Notifier, opts?: JoinOptions): Writer | Reader;
  join(role: Role, id: Identity, notifier?: Notifier, opts: JoinOptions = {}): Writer | Reader {
    const code = ROLE_CODES[role];
    const allowed = this.kind === 'broadcast' ? role === 'publisher' || role === 'subscriber' : role === 'producer' || role === 'consumer';
    if (code === undefined || !allowed) throw new TypeError(`role ${String(role)} does not exist on a ${this.kind} ring`);
    const alive = opts.isAlive ?? isAlive;
    const unique = role === 'consumer' || role === 'publisher' || (role === 'producer' && this.kind === 'spsc');
    if (unique) this.evictOrRefuse(code, role, alive, 0);
    else if (this.slotsWithRole(code).length >= this.slots - 1)
      throw new RingError('NO_SLOT', `no slot for another ${role}: at most ${this.slots - 1} of ${this.slots} slots`);
    const slot = this.takeSlot(opts.slot);
    const o = L.slotOffset(slot);
    const dv = this.dv;
    dv.setUint32(o + L.S_ROLE, code, true);
    dv.setUint32(o + L.S_PID, id.pid >>> 0, true);
    dv.setUint32(o + L.S_UID, id.uid >>> 0, true);
    dv.setBigUint64(o + L.S_START, BigInt.asUintN(64, id.startTime), true);
    if (role === 'subscriber') {
      // Start at the newest position: load_acquire(tail) pairs with the publisher's tail release.
      Atomics.store(this.i32, (o + L.S_CURSOR) >> 2, Atomics.load(this.i32, L.TAIL >> 2));
      dv.setUint32(o + L.S_CURSOR_SEQ, Atomics.load(this.i32, L.SEQ >> 2) >>> 0, true);
    }
    // store_release(state, 2): publishes the fields above to slot scanners (load_acquire).
    Atomics.store(this.i32, (o + L.S_STATE) >> 2, L.SLOT_ACTIVE);
    if (role === 'subscriber') {
      // A block publisher that rescanned before the store above did not count this cursor.
      // Every rescan after it does, and no publisher can be past tail-now + C without one,
      // so re-reading tail after becoming visible gives a cursor whose bytes are intact.
      const t = Atomics.load(this.i32, L.TAIL >> 2);
      const s = Atomics.load(this.i32, L.SEQ >> 2);
      Atomics.store(this.i32, (o + L.S_CURSOR) >> 2, t);
      Atomics.store(this.i32, (o + L.S_CURSOR_SEQ) >> 2, s);
    }
    if (unique) {
      try {
        this.evictOrRefuse(code, role, alive, slot);
      } catch (e) {
        this.freeSlot(slot);
        throw e;
      }
    }
    const end = this.endpoint(role, slot, id, notifier);
    // A publisher that counted the subscriber's first (older) cursor may be parked: the
    // re-read one frees room (§4.3).
    if (role === 'subscriber') end.wakeSpace();
    return end;
  }

  /** ROLE_TAKEN when another live holder of a one-per-ring role exists; dead holders are freed. */
  private evictOrRefuse(code: number, role: Role, alive: (pid: number, st: bigint) => boolean, self: number): void {
    for (const p of this.slotsWithRole(code)) {
      if (p.slot === self) continue;
      if (alive(p.pid, p.startTime)) throw new RingError('ROLE_TAKEN', `the ${role} of this ring is held by pid ${p.pid} (slot ${p.slot})`);
      this.freeSlot(p.slot);
    }
  }

  private takeSlot(want: number | undefined): number {
    const i32 = this.i32;
    if (want !== undefined) {
      if (!Number.isInteger(want) || want < 1 || want > this.slots) throw new RingError('NO_SLOT', `slot ${want} outside 1..${this.slots}`);
      if (Atomics.compareExchange(i32, (L.slotOffset(want) + L.S_STATE) >> 2, L.SLOT_FREE, L.SLOT_FILLING) !== L.SLOT_FREE)
        throw new RingError('NO_SLOT', `slot ${want} is not free`);
      return want;
    }
    for (let s = 1; s <= this.slots; s++) {
      // cas(state, 0 → 1): the slot is ours to fill.
      if (Atomics.compareExchange(i32, (L.slotOffset(s) + L.S_STATE) >> 2, L.SLOT_FREE, L.SLOT_FILLING) === L.SLOT_FREE) return s;
    }
    throw new RingError('NO_SLOT', `all ${this.slots} participant slots are taken`);
  }

  private endpoint(role: Role, slot: number, id: Identity, notifier: Notifier | undefined): Writer | Reader {
    switch (this.kind) {
      case 'spsc':
        return role === 'producer' ? new SpscWriter(this, slot, id, notifier) : new SpscReader(this, slot, id, notifier);
      case 'mpsc':
        return role === 'producer' ? new MpscWriter(this, slot, id, notifier) : new MpscReader(this, slot, id, notifier);
      default:
        if (this.policy === 'overwrite')
          return role === 'publisher' ? new BroadcastOverwriteWriter(this, slot, id, notifier) : new BroadcastOverwriteReader(this, slot, id, notifier);
        return role === 'publisher' ? new BroadcastWriter(this, slot, id, notifier) : new BroadcastReader(this, slot, id, notifier);
    }
  }
}
