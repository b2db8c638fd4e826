/**
 * MPSC ring (docs/ring.md §4.2): producers claim space with a cas on `tail`; every record
 * carries its own commit state (free 0 → claimed 1 → committed 2, or padding 3). The
 * consumer zeroes what it releases, so every free byte reads 0 and a claim's
 * cas(len_state, 0 → …) can not succeed on a stale header. A producer that dies between
 * claim and commit is recovered by the consumer after unblock_ns (§6).
 */
import { Reader, Since, Writer } from './endpoint.js';
import { RingError } from './errors.js';
import type { Identity } from './identity.js';
import { isAlive } from './identity.js';
import * as L from './layout.js';
import type { Notifier } from './notify.js';
import type { Ring } from './ring.js';

export class MpscWriter extends Writer {
  private cachedHead: number;
  /** Position of our claimed record, -1 when none. */
  private claimPos = -1;
  private claimMax = 0;
  private readonly maxMessage: number;

  constructor(ring: Ring, slot: number, id: Identity, notifier: Notifier | undefined) {
    super(ring, slot, id, notifier);
    this.maxMessage = ring.maxMessage;
    this.cachedHead = Atomics.load(this.i32, L.HEAD >> 2) >>> 0;
  }

  /** tail − head: claimed records count as unread, committed or not. */
  unread(): number {
    return (Atomics.load(this.i32, L.TAIL >> 2) - Atomics.load(this.i32, L.HEAD >> 2)) >>> 0;
  }

  hasSpace(n: number): boolean {
    const need = L.recordLength(n);
    const t = Atomics.load(this.i32, L.TAIL >> 2) >>> 0;
    const i = t & this.mask;
    const total = (i + need > this.cap ? this.cap - i : 0) + need;
    if (((t + total - this.cachedHead) >>> 0) <= this.cap) return true;
    this.cachedHead = Atomics.load(this.i32, L.HEAD >> 2) >>> 0;
    return ((t + total - this.cachedHead) >>> 0) <= this.cap;
  }

  loan(n: number): number {
    if (!(n >= 0 && n <= this.maxMessage)) throw new RingError('TOO_LARGE', `loan of ${n} bytes exceeds max_message ${this.maxMessage}`);
    if (this.closed) throw new RingError('CLOSED', 'writer is closed');
    if (this.claimPos >= 0) this.abort();
    const i32 = this.i32;
    const dv = this.dv;
    const need = L.recordLength(n);
    const so = this.slotOff;
    for (;;) {
      // 1. load_acquire(tail): pairs with the winning claimer's cas.
      const t = Atomics.load(i32, L.TAIL >> 2) >>> 0;
      const i = t & this.mask;
      const pad = i + need > this.cap ? this.cap - i : 0;
      const total = pad + need;
      // 2. load_acquire(head) pairs with the consumer's store_release(head) after zeroing.
      if (((t + total - this.cachedHead) >>> 0) > this.cap) {
        this.cachedHead = Atomics.load(i32, L.HEAD >> 2) >>> 0;
        if (((t + total - this.cachedHead) >>> 0) > this.cap) return -1;
      }
      // 3. Intent, plain stores; the SeqCst cas below orders them before the claim is visible.
      dv.setUint32(so + L.S_INTENT_LEN, total, true);
      dv.setUint32(so + L.S_INTENT_POS, t, true);
      // 4. SYNC POINT (claim): cas(tail, t → t + total).
      if (Atomics.compareExchange(i32, L.TAIL >> 2, t | 0, (t + total) | 0) !== (t | 0)) continue;
      // 5. Header cas steps; failure means the consumer recovered this claim (§6).
      const r = (t + pad) >>> 0;
      if (pad > 0) {
        const po = this.data + i;
        if (Atomics.compareExchange(i32, po >> 2, 0, pad | L.REC_PADDING) !== 0) {
          dv.setUint32(so + L.S_INTENT_LEN, 0, true);
          continue;
        }
        dv.setUint32(po + L.R_POS, t, true);
      }
      const ro = this.data + (r & this.mask);
      if (Atomics.compareExchange(i32, ro >> 2, 0, need | L.REC_CLAIMED) !== 0) {
        dv.setUint32(so + L.S_INTENT_LEN, 0, true);
        continue;
      }
      this.claimPos = r;
      this.claimMax = n;
      return this.base + ro + L.RECORD_HEADER;
    }
  }

  commit(len: number, correlation?: bigint, flags?: number): void {
    const r = this.claimPos;
    if (r < 0) throw new RingError('ABORTED', 'commit without a loan');
    if (!(len >= 0 && len <= this.claimMax)) throw new RingError('TOO_LARGE', `commit of ${len} bytes exceeds the claim of ${this.claimMax}`);
    const dv = this.dv;
    const o = this.data + (r & this.mask);
    const need = L.recordLength(this.claimMax);
    // 6. The record fields.
    dv.setUint32(o + L.R_POS, r, true);
    dv.setUint32(o + L.R_SEQ, 0, true);
    dv.setUint32(o + L.R_SENDER, this.slot, true);
    if (correlation === undefined || correlation === 0n) {
      dv.setUint32(o + L.R_CORRELATION, 0, true);
      dv.setUint32(o + L.R_CORRELATION + 4, 0, true);
    } else {
      dv.setBigUint64(o + L.R_CORRELATION, correlation, true);
    }
    dv.setUint32(o + L.R_FLAGS, flags ?? 0, true);
    dv.setUint32(o + L.R_PAYLOAD_LEN, len, true);
    this.claimPos = -1;
    // 7. SYNC POINT (commit): cas(len_state, need|1 → need|2) releases the record; pairs
    // with the consumer's load_acquire(len_state). Failure: the claim was recovered.
    const ok = Atomics.compareExchange(this.i32, o >> 2, need | L.REC_CLAIMED, need | L.REC_COMMITTED) === (need | L.REC_CLAIMED);
    dv.setUint32(this.slotOff + L.S_INTENT_LEN, 0, true);
    if (!ok) throw new RingError('ABORTED', `claim at position ${r} was recovered as abandoned`);
    // 8.
    this.wakeData();
  }

  /** Commits the claim as padding (the space is already taken). */
  abort(): void {
    const r = this.claimPos;
    if (r < 0) return;
    this.claimPos = -1;
    const o = this.data + (r & this.mask);
    const need = L.recordLength(this.claimMax);
    this.dv.setUint32(o + L.R_POS, r, true);
    Atomics.compareExchange(this.i32, o >> 2, need | L.REC_CLAIMED, need | L.REC_PADDING);
    this.dv.setUint32(this.slotOff + L.S_INTENT_LEN, 0, true);
    this.wakeData();
  }

  override close(): void {
    this.abort();
    super.close();
  }

  peerAlive(): boolean {
    return this.anyAlive(L.ROLE_CONSUMER);
  }
}

export class MpscReader extends Reader {
  private head: number;
  private readPos: number;
  private cachedTail: number;
  private recOff = 0;
  private broken = false;
  /** Since when the record at readPos has not been ready. */
  private readonly stuck = new Since();
  private readonly unblockMs: number;

  constructor(ring: Ring, slot: number, id: Identity, notifier: Notifier | undefined) {
    super(ring, slot, id, notifier);
    this.head = Atomics.load(this.i32, L.HEAD >> 2) >>> 0;
    this.readPos = this.head;
    this.cachedTail = this.head;
    this.unblockMs = Number(ring.unblockNs) / 1e6;
  }

  private corrupt(p: number, what: string): never {
    this.broken = true;
    throw new RingError('CORRUPT', `ring record at position ${p}: ${what}`);
  }

  /** A committed record or padding at readPos (load_acquire(len_state) pairs with the commit cas). */
  hasData(): boolean {
    const p = this.readPos;
    if (p === this.cachedTail) {
      this.cachedTail = Atomics.load(this.i32, L.TAIL >> 2) >>> 0;
      if (p === this.cachedTail) return false;
    }
    const st = Atomics.load(this.i32, (this.data + (p & this.mask)) >> 2) & 7;
    if (st === L.REC_COMMITTED || st === L.REC_PADDING) return true;
    this.stuck.at(p);
    return false;
  }

  receive(): number {
    if (this.broken) throw new RingError('CORRUPT', 'ring was found corrupt; it can not be read further');
    const dv = this.dv;
    for (;;) {
      const p = this.readPos;
      if (p === this.cachedTail) {
        this.cachedTail = Atomics.load(this.i32, L.TAIL >> 2) >>> 0;
        if (p === this.cachedTail) return -1;
      }
      const o = this.data + (p & this.mask);
      // SYNC POINT (consumer): load_acquire(len_state) pairs with the producer's commit cas.
      const w = Atomics.load(this.i32, o >> 2) >>> 0;
      const state = w & 7;
      if (state === L.REC_FREE || state === L.REC_CLAIMED) {
        this.stuck.at(p);
        return -1;
      }
      const length = (w & ~7) >>> 0;
      const avail = (this.cachedTail - p) >>> 0;
      if (length < 8 || length > avail) this.corrupt(p, `length ${length} outside [8, ${avail}]`);
      // A padding record's pos is written after its cas (§4.2 step 5), so a consumer may see
      // the state before the pos: only committed records are lap-checked by pos.
      if (state === L.REC_PADDING) {
        this.readPos = (p + length) >>> 0;
        continue;
      }
      const pos = dv.getUint32(o + L.R_POS, true);
      if (pos !== p) this.corrupt(p, `pos field ${pos} differs`);
      if (state !== L.REC_COMMITTED) this.corrupt(p, `state ${state}`);
      const plen = dv.getUint32(o + L.R_PAYLOAD_LEN, true);
      if (length < L.RECORD_HEADER + plen) this.corrupt(p, `payload_len ${plen} does not fit length ${length}`);
      this.length = plen;
      this.seq = 0;
      this.sender = dv.getUint32(o + L.R_SENDER, true);
      this.flags = dv.getUint32(o + L.R_FLAGS, true);
      this.recOff = o;
      this.readPos = (p + length) >>> 0;
      return this.base + o + L.RECORD_HEADER;
    }
  }

  get correlation(): bigint {
    return this.dv.getBigUint64(this.recOff + L.R_CORRELATION, true);
  }

  /**
   * Zeroes [head, readPos) (it may span the end of the data area), then
   * SYNC POINT (consumer): store_release(head), pairing with a claimer's load_acquire(head):
   * the zeroes happen-before any claim of that space.
   */
  release(): void {
    const h = this.head;
    const p = this.readPos;
    if (p === h) return;
    const n = (p - h) >>> 0;
    const i = h & this.mask;
    const first = Math.min(n, this.cap - i);
    this.u8.fill(0, this.data + i, this.data + i + first);
    if (n > first) this.u8.fill(0, this.data, this.data + (n - first));
    this.head = p;
    Atomics.store(this.i32, L.HEAD >> 2, p);
    this.wakeSpace();
  }

  override recover(): boolean {
    if (!this.stuck.on(this.readPos) || this.stuck.at(this.readPos) < this.unblockMs) return false;
    const did = this.recoverDead((pid, st) => !isAlive(pid, st));
    if (did) this.stuck.reset();
    return did;
  }

  /**
   * §6 recovery without the time check: when the record at readPos is free or claimed and
   * a producer judged dead by `dead` has an intent covering it, that claim becomes padding:
   * cas(0 → rest | 3) or cas(need | 1 → need | 3), so a late commit by its owner fails.
   * A free claim that runs past the end of the data area is split there, so records never
   * wrap. Returns true when something was unblocked.
   */
  recoverDead(dead: (pid: number, startTime: bigint, slot: number) => boolean): boolean {
    let any = false;
    for (;;) {
      while (this.hasData() && this.receiveSkippable()) {}
      const p = this.readPos;
      if (p === this.cachedTail) return any;
      const o = this.data + (p & this.mask);
      const w = Atomics.load(this.i32, o >> 2) >>> 0;
      const state = w & 7;
      if (state !== L.REC_FREE && state !== L.REC_CLAIMED) return any;
      let done = false;
      for (const prod of this.ring.slotsWithRole(L.ROLE_PRODUCER)) {
        const so = L.slotOffset(prod.slot);
        const ilen = Atomics.load(this.i32, (so + L.S_INTENT_LEN) >> 2) >>> 0;
        const ipos = Atomics.load(this.i32, (so + L.S_INTENT_POS) >> 2) >>> 0;
        if (ilen === 0 || ((p - ipos) >>> 0) >= ilen) continue;
        if (!dead(prod.pid, prod.startTime, prod.slot)) continue;
        let nw: number;
        if (state === L.REC_FREE) {
          const rest = (ipos + ilen - p) >>> 0;
          nw = Math.min(rest, this.cap - (p & this.mask)) | L.REC_PADDING;
        } else {
          nw = ((w & ~7) | L.REC_PADDING) >>> 0;
        }
        if (Atomics.compareExchange(this.i32, o >> 2, w | 0, nw) === (w | 0)) {
          this.dv.setUint32(o + L.R_POS, p, true);
          done = true;
          any = true;
        }
        break;
      }
      if (!done) return any;
    }
  }

  /** Skips padding at readPos without delivering; false when a committed record is next. */
  private receiveSkippable(): boolean {
    const p = this.readPos;
    const o = this.data + (p & this.mask);
    const w = Atomics.load(this.i32, o >> 2) >>> 0;
    if ((w & 7) !== L.REC_PADDING) return false;
    this.readPos = (p + ((w & ~7) >>> 0)) >>> 0;
    return true;
  }

  protected override idle(blockedMs: number): number {
    if (this.stuck.on(this.readPos)) {
      this.recover();
      return Math.max(1, this.unblockMs / 4);
    }
    return super.idle(blockedMs);
  }

  peerAlive(): boolean {
    return this.anyAlive(L.ROLE_PRODUCER);
  }
}
