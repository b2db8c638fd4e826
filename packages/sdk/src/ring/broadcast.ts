/**
 * Broadcast ring (docs/ring.md §4.3): one publisher, subscribers with their own cursor
 * in their slot. Records are written as in SPSC.
 *
 * Block policy: zero-copy; the publisher treats the slowest active subscriber cursor as
 * its head (cached in bc_min, rescanned only when the cache says full).
 * Overwrite policy: the publisher never waits; it announces the end of every write in
 * bc_intent first, and subscribers copy each record out and re-check bc_intent, so they
 * never deliver torn bytes. A subscriber that was lapped jumps to bc_last and reports a gap.
 */
import { Reader, Since } from './endpoint.js';
import { RingError } from './errors.js';
import type { Identity } from './identity.js';
import { isAlive } from './identity.js';
import * as L from './layout.js';
import type { Notifier } from './notify.js';
import type { Ring } from './ring.js';
import { SpscReader, SpscWriter } from './spsc.js';

/** Block-policy publisher. */
export class BroadcastWriter extends SpscWriter {
  /**
   * The slowest active subscriber cursor (the one farthest behind tail), or tail when
   * there is none. load_acquire(cursor) pairs with each subscriber's store_release(cursor).
   */
  protected override headPosition(): number {
    const t = Atomics.load(this.i32, L.TAIL >> 2) >>> 0;
    let min = t;
    let dist = 0;
    const ring = this.ring;
    for (let s = 1; s <= ring.slots; s++) {
      const o = L.slotOffset(s);
      if (Atomics.load(this.i32, (o + L.S_STATE) >> 2) !== L.SLOT_ACTIVE || this.dv.getUint32(o + L.S_ROLE, true) !== L.ROLE_SUBSCRIBER) continue;
      const c = Atomics.load(this.i32, (o + L.S_CURSOR) >> 2) >>> 0;
      const d = (t - c) >>> 0;
      if (d > dist && d <= this.cap) {
        dist = d;
        min = c;
      }
    }
    Atomics.store(this.i32, L.BC_MIN >> 2, min);
    return min;
  }

  private readonly since = new Since();

  /**
   * After unblock_ns blocked: subscribers holding the minimum that are dead lose their slot
   * (§6). Blocked time counts from the first wait at this tail, across wait calls: callers
   * such as sendAsync wait in slices shorter than unblock_ns.
   */
  protected override blocked(_blockedMs: number): number {
    const unblockMs = Number(this.ring.unblockNs) / 1e6;
    if (this.since.at(this.tail) >= unblockMs) {
      const min = this.headPosition();
      for (const p of this.ring.slotsWithRole(L.ROLE_SUBSCRIBER)) {
        const c = Atomics.load(this.i32, (L.slotOffset(p.slot) + L.S_CURSOR) >> 2) >>> 0;
        if (c === min && !isAlive(p.pid, p.startTime)) this.ring.freeSlot(p.slot);
      }
      this.cachedHead = this.headPosition();
    }
    return Math.max(1, unblockMs);
  }

  override peerAlive(): boolean {
    return this.anyAlive(L.ROLE_SUBSCRIBER);
  }
}

/** Block-policy subscriber: an SPSC consumer whose head is its slot's cursor. */
export class BroadcastReader extends SpscReader {
  private nextSeq = 0;
  private received = false;
  /** cursor_seq that goes with `released` (nextSeq when it was released). */
  private releasedSeq = 0;

  protected override initialPosition(): number {
    return Atomics.load(this.i32, (this.slotOff + L.S_CURSOR) >> 2) >>> 0;
  }

  override receive(): number {
    const off = super.receive();
    if (off >= 0) {
      this.nextSeq = (this.seq + 1) >>> 0;
      this.received = true;
    }
    return off;
  }

  protected override noteRelease(): void {
    this.releasedSeq = this.nextSeq;
  }

  /** SYNC POINT (subscriber): store_release(cursor) pairs with the publisher's load_acquire(cursor). */
  protected override storeHead(h: number): void {
    if (this.received) this.dv.setUint32(this.slotOff + L.S_CURSOR_SEQ, this.releasedSeq, true);
    Atomics.store(this.i32, (this.slotOff + L.S_CURSOR) >> 2, h);
  }

  override peerAlive(): boolean {
    return this.anyAlive(L.ROLE_PUBLISHER);
  }
}

/** Overwrite-policy publisher: never full. */
export class BroadcastOverwriteWriter extends SpscWriter {
  private intent = 0;
  /** Never full; loan() announces every write with beforeWrite(). */
  protected override readonly overwrite: boolean = true;

  /**
   * store(bc_intent, e), SeqCst, before any byte of [tail, e) is written: pairs with the
   * subscriber's load of bc_intent after its copy. Kept monotonic (a shrunk commit may
   * leave bytes past the committed end written).
   */
  protected override beforeWrite(end: number): void {
    if (this.intent === 0) this.intent = Atomics.load(this.i32, L.BC_INTENT >> 2) >>> 0;
    if (((end - this.intent) | 0) > 0 || this.intent === 0) {
      this.intent = end;
      Atomics.store(this.i32, L.BC_INTENT >> 2, end);
    }
  }

  /** store_release(bc_last, r) then store_release(tail, e): pair with the subscriber's loads. */
  protected override publish(rec: number): void {
    this.i32[L.SEQ >> 2] = this.seqNext; // plain, ordered before the tail store (see SpscWriter.publish)
    Atomics.store(this.i32, L.BC_LAST >> 2, rec);
    Atomics.store(this.i32, L.TAIL >> 2, this.tail);
  }

  override peerAlive(): boolean {
    return this.anyAlive(L.ROLE_SUBSCRIBER);
  }

  private readonly since = new Since();

  /**
   * Only flush() waits here (loans never do): after unblock_ns at one tail, dead
   * subscribers, which would count as unread forever, lose their slot (§6).
   */
  protected override blocked(_blockedMs: number): number {
    const unblockMs = Number(this.ring.unblockNs) / 1e6;
    if (this.since.at(this.tail) >= unblockMs) {
      for (const p of this.ring.slotsWithRole(L.ROLE_SUBSCRIBER)) if (!isAlive(p.pid, p.startTime)) this.ring.freeSlot(p.slot);
    }
    return Math.max(1, unblockMs);
  }

  /** The farthest any active subscriber cursor is behind tail, at most the capacity (a lapped subscriber). */
  override unread(): number {
    const t = this.tail;
    let dist = 0;
    for (let s = 1; s <= this.ring.slots; s++) {
      const o = L.slotOffset(s);
      if (Atomics.load(this.i32, (o + L.S_STATE) >> 2) !== L.SLOT_ACTIVE || this.dv.getUint32(o + L.S_ROLE, true) !== L.ROLE_SUBSCRIBER) continue;
      // load(cursor): informational for this policy (the subscriber's store in release()).
      const d = (t - (Atomics.load(this.i32, (o + L.S_CURSOR) >> 2) >>> 0)) | 0;
      if (d > dist) dist = Math.min(d, this.cap);
    }
    return dist;
  }
}

/** Overwrite-policy subscriber: one private copy per message (Reader.copyBuffer). */
export class BroadcastOverwriteReader extends Reader {
  override readonly inShared: boolean = false;
  override readonly copyBuffer: ArrayBuffer;
  private readonly copyI32: Int32Array;
  private readonly copyDv: DataView;
  private readPos: number;
  private nextSeq: number;
  private seqKnown = false;
  private lapped = false;
  private lost = 0;
  private readonly maxMessage: number;

  constructor(ring: Ring, slot: number, id: Identity, notifier: Notifier | undefined) {
    super(ring, slot, id, notifier);
    this.maxMessage = ring.maxMessage;
    this.copyBuffer = new ArrayBuffer(L.recordLength(ring.maxMessage));
    this.copyI32 = new Int32Array(this.copyBuffer);
    this.copyDv = new DataView(this.copyBuffer);
    this.readPos = Atomics.load(this.i32, (this.slotOff + L.S_CURSOR) >> 2) >>> 0;
    this.nextSeq = this.dv.getUint32(this.slotOff + L.S_CURSOR_SEQ, true);
  }

  /** Is position r still intact: (bc_intent − C − r) as i32 ≤ 0. */
  private intact(r: number): boolean {
    return ((Atomics.load(this.i32, L.BC_INTENT >> 2) - this.cap - r) | 0) <= 0;
  }

  hasData(): boolean {
    return ((Atomics.load(this.i32, L.TAIL >> 2) - this.readPos) | 0) > 0;
  }

  receive(): number {
    const i32 = this.i32;
    const dv = this.dv;
    for (;;) {
      let r = this.readPos;
      // load_acquire(tail) pairs with the publisher's tail store.
      let t = Atomics.load(i32, L.TAIL >> 2) >>> 0;
      // Empty when r has caught up with tail (r may be ahead of a tail not yet stored after a jump).
      if (((t - r) | 0) <= 0) return -1;
      if (!this.intact(r)) {
        // Lapped: jump to the newest committed record (load_acquire(bc_last)). Its commit
        // happened before bc_last was stored, but tail may not cover it yet.
        r = Atomics.load(i32, L.BC_LAST >> 2) >>> 0;
        t = (r + this.cap) >>> 0;
        this.readPos = r;
        this.lapped = true;
      }
      const o = this.data + (r & this.mask);
      const w = dv.getUint32(o + L.R_LEN_STATE, true);
      const length = (w & ~7) >>> 0;
      const state = w & 7;
      const avail = (t - r) >>> 0;
      if (state === L.REC_PADDING) {
        const pos = dv.getUint32(o + L.R_POS, true);
        if (!this.intact(r)) continue;
        if (pos !== r || length < 8 || length > avail) throw new RingError('CORRUPT', `ring padding at position ${r}: pos ${pos}, length ${length}`);
        this.readPos = (r + length) >>> 0;
        continue;
      }
      const plen = dv.getUint32(o + L.R_PAYLOAD_LEN, true);
      if (state !== L.REC_COMMITTED || plen > this.maxMessage || length < L.RECORD_HEADER + plen || length > avail) {
        if (!this.intact(r)) continue;
        throw new RingError('CORRUPT', `ring record at position ${r}: state ${state}, length ${length}, payload_len ${plen}`);
      }
      // Copy header and payload word by word (records are 8-aligned, the copy buffer holds a full record).
      const src = o >> 2;
      const words = (L.RECORD_HEADER + plen + 3) >> 2;
      const dst = this.copyI32;
      for (let k = 0; k < words; k++) dst[k] = i32[src + k]!;
      // Load-load ordering: the SeqCst load of bc_intent comes after the plain copy loads.
      if (!this.intact(r)) continue;
      const c = this.copyDv;
      if (c.getUint32(L.R_POS, true) !== r || c.getUint32(L.R_PAYLOAD_LEN, true) !== plen)
        throw new RingError('CORRUPT', `ring record at position ${r}: pos ${c.getUint32(L.R_POS, true)} differs`);
      const seq = c.getUint32(L.R_SEQ, true);
      if (this.lapped) {
        this.gap = (seq - this.nextSeq) >>> 0;
        this.lost = (this.lost + this.gap) >>> 0;
        this.dv.setUint32(this.slotOff + L.S_LOST, this.lost, true);
        this.lapped = false;
      } else {
        this.gap = 0;
      }
      this.seqKnown = true;
      this.nextSeq = (seq + 1) >>> 0;
      this.length = plen;
      this.seq = seq;
      this.sender = c.getUint32(L.R_SENDER, true);
      this.flags = c.getUint32(L.R_FLAGS, true);
      this.readPos = (r + length) >>> 0;
      return L.RECORD_HEADER;
    }
  }

  get correlation(): bigint {
    return this.copyDv.getBigUint64(L.R_CORRELATION, true);
  }

  /** Informational: store the cursor and cursor_seq (the publisher never waits on them). */
  release(): void {
    if (this.seqKnown) this.dv.setUint32(this.slotOff + L.S_CURSOR_SEQ, this.nextSeq, true);
    Atomics.store(this.i32, (this.slotOff + L.S_CURSOR) >> 2, this.readPos);
  }

  override peerAlive(): boolean {
    return this.anyAlive(L.ROLE_PUBLISHER);
  }
}
