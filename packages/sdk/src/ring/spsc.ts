/**
 * SPSC ring (docs/ring.md §4.1): one producer, one consumer. The producer is the only
 * writer of `tail`, `seq` and the data area; the consumer the only writer of `head`.
 * Each side keeps its own cursor locally and a cached copy of the other side's, and
 * reloads the shared one only when the cache says full (or empty).
 *
 * The classes here are also the zero-copy broadcast (block policy) ends: broadcast.ts
 * replaces where the producer finds its head and where the consumer keeps its cursor.
 */
import { Reader, Writer } from './endpoint.js';
import { RingError } from './errors.js';
import type { Identity } from './identity.js';
import * as L from './layout.js';
import type { Notifier } from './notify.js';
import type { Ring } from './ring.js';

export class SpscWriter extends Writer {
  /** Local copy of tail (we are its only writer). */
  protected tail: number;
  protected cachedHead: number;
  protected seqNext: number;
  /** Position of the loaned record, -1 when there is no loan. */
  protected loanPos = -1;
  protected loanMax = 0;
  protected readonly maxMessage: number;

  constructor(ring: Ring, slot: number, id: Identity, notifier: Notifier | undefined) {
    super(ring, slot, id, notifier);
    this.maxMessage = ring.maxMessage;
    this.tail = Atomics.load(this.i32, L.TAIL >> 2) >>> 0;
    this.seqNext = Atomics.load(this.i32, L.SEQ >> 2) >>> 0;
    this.cachedHead = this.headPosition();
  }

  /** The position the producer must not overwrite: load_acquire(head), pairing with the consumer's release. */
  protected headPosition(): number {
    return Atomics.load(this.i32, L.HEAD >> 2) >>> 0;
  }

  hasSpace(n: number): boolean {
    const need = L.recordLength(n);
    const t = this.tail;
    const i = t & this.mask;
    const pad = i + need > this.cap ? this.cap - i : 0;
    if (((t + pad + need - this.cachedHead) >>> 0) <= this.cap) return true;
    this.cachedHead = this.headPosition();
    return ((t + pad + need - this.cachedHead) >>> 0) <= this.cap;
  }

  loan(n: number): number {
    if (!(n >= 0 && n <= this.maxMessage)) throw new RingError('TOO_LARGE', `loan of ${n} bytes exceeds max_message ${this.maxMessage}`);
    if (this.closed) throw new RingError('CLOSED', 'writer is closed');
    if (!this.hasSpace(n)) return -1;
    const t = this.tail;
    const i = t & this.mask;
    const need = L.recordLength(n);
    let rec = t;
    if (i + need > this.cap) {
      // Padding to the end of the data area; published together with the record by the tail store.
      const pad = this.cap - i;
      this.beforeWrite((t + pad + need) >>> 0);
      this.dv.setUint32(this.data + i + L.R_LEN_STATE, pad | L.REC_PADDING, true);
      this.dv.setUint32(this.data + i + L.R_POS, t, true);
      rec = (t + pad) >>> 0;
    } else {
      this.beforeWrite((t + need) >>> 0);
    }
    this.loanPos = rec;
    this.loanMax = n;
    return this.base + this.data + (rec & this.mask) + L.RECORD_HEADER;
  }

  /** Broadcast overwrite announces the end of what it is about to write (bc_intent). */
  protected beforeWrite(_end: number): void {}

  commit(len: number, correlation?: bigint, flags?: number): void {
    const rec = this.loanPos;
    if (rec < 0) throw new RingError('ABORTED', 'commit without a loan');
    if (!(len >= 0 && len <= this.loanMax)) throw new RingError('TOO_LARGE', `commit of ${len} bytes exceeds the loan of ${this.loanMax}`);
    const dv = this.dv;
    const o = this.data + (rec & this.mask);
    const length = L.recordLength(len);
    dv.setUint32(o + L.R_POS, rec, true);
    dv.setUint32(o + L.R_SEQ, this.seqNext, true);
    dv.setUint32(o + L.R_SENDER, this.slot, true);
    if (correlation === undefined || correlation === 0n) {
      dv.setUint32(o + L.R_CORRELATION, 0, true);
      dv.setUint32(o + L.R_CORRELATION + 4, 0, true);
    } else {
      dv.setBigUint64(o + L.R_CORRELATION, correlation, true);
    }
    dv.setUint32(o + L.R_PAYLOAD_LEN, len, true);
    dv.setUint32(o + L.R_FLAGS, flags ?? 0, true);
    dv.setUint32(o + L.R_LEN_STATE, length | L.REC_COMMITTED, true);
    this.seqNext = (this.seqNext + 1) >>> 0;
    this.loanPos = -1;
    this.tail = (rec + length) >>> 0;
    this.publish(rec);
    this.wakeData();
  }

  /**
   * SYNC POINT (producer): store_release(tail) — SeqCst in JS — pairs with the consumer's
   * load_acquire(tail): the record bytes written above happen-before its reads. `seq` is
   * stored first so that a joining subscriber reading tail then seq sees at least this seq.
   */
  protected publish(_rec: number): void {
    Atomics.store(this.i32, L.SEQ >> 2, this.seqNext);
    Atomics.store(this.i32, L.TAIL >> 2, this.tail);
  }

  abort(): void {
    this.loanPos = -1;
  }

  peerAlive(): boolean {
    return this.anyAlive(L.ROLE_CONSUMER);
  }
}

export class SpscReader extends Reader {
  /** Released position (what the producer sees). */
  protected head: number;
  /** Next position to read; records in [head, readPos) are held by the caller. */
  protected readPos: number;
  protected cachedTail: number;
  protected recOff = 0;
  protected broken = false;

  constructor(ring: Ring, slot: number, id: Identity, notifier: Notifier | undefined) {
    super(ring, slot, id, notifier);
    this.head = this.initialPosition();
    this.readPos = this.head;
    this.cachedTail = this.head;
  }

  protected initialPosition(): number {
    return Atomics.load(this.i32, L.HEAD >> 2) >>> 0;
  }

  protected corrupt(p: number, what: string): never {
    this.broken = true;
    throw new RingError('CORRUPT', `ring record at position ${p}: ${what}`);
  }

  /** SYNC POINT (consumer): load_acquire(tail) pairs with the producer's tail store in publish(). */
  hasData(): boolean {
    if (this.readPos !== this.cachedTail) return true;
    this.cachedTail = Atomics.load(this.i32, L.TAIL >> 2) >>> 0;
    return this.readPos !== this.cachedTail;
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
      const w = dv.getUint32(o + L.R_LEN_STATE, true);
      const length = (w & ~7) >>> 0;
      const avail = (this.cachedTail - p) >>> 0;
      const state = w & 7;
      if (length < 8 || length > avail) this.corrupt(p, `length ${length} outside [8, ${avail}]`);
      if (dv.getUint32(o + L.R_POS, true) !== p) this.corrupt(p, `pos field ${dv.getUint32(o + L.R_POS, true)} differs`);
      if (state === L.REC_PADDING) {
        this.readPos = (p + length) >>> 0;
        continue;
      }
      if (state !== L.REC_COMMITTED) this.corrupt(p, `state ${state} is not committed`);
      const plen = dv.getUint32(o + L.R_PAYLOAD_LEN, true);
      if (length < L.RECORD_HEADER + plen) this.corrupt(p, `payload_len ${plen} does not fit length ${length}`);
      this.length = plen;
      this.seq = dv.getUint32(o + L.R_SEQ, true);
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

  release(): void {
    if (this.readPos === this.head) return;
    this.head = this.readPos;
    this.storeHead(this.head);
    this.wakeSpace();
  }

  /** SYNC POINT (consumer): store_release(head) pairs with the producer's load_acquire(head). */
  protected storeHead(h: number): void {
    Atomics.store(this.i32, L.HEAD >> 2, h);
  }

  peerAlive(): boolean {
    return this.anyAlive(L.ROLE_PRODUCER);
  }
}

