/**
 * SPSC ring (docs/ring.md §4.1): one producer, one consumer. The producer is the only
 * writer of `tail`, `seq` and the data area; the consumer the only writer of `head`.
 * Each side keeps its own cursor locally and a cached copy of the other side's, and
 * reloads the shared one only when the cache says full (or empty).
 *
 * The classes here are also the zero-copy broadcast (block policy) ends: broadcast.ts
 * replaces where the producer finds its head and where the consumer keeps its cursor.
 *
 * Hot path: record headers are 8-aligned, so on little-endian hosts (every host Node
 * ships for but s390x) their u32 fields are read and written through the region's
 * Int32Array (`i32`), which is cheaper than DataView calls; big-endian hosts use the
 * DataView. Only the cursor publications (tail, head) and the sleeper checks are Atomics.
 */
import { Reader, Writer } from './endpoint.js';
import { RingError } from './errors.js';
import type { Identity } from './identity.js';
import * as L from './layout.js';
import type { Notifier } from './notify.js';
import type { Ring } from './ring.js';

/** Little-endian host: the Int32Array view reads and writes the ring's little-endian u32 fields as they are. */
export const LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export class SpscWriter extends Writer {
  /** Local copy of tail (we are its only writer). */
  protected tail: number;
  protected cachedHead: number;
  protected seqNext: number;
  /** Position of the loaned record, -1 when there is no loan. */
  protected loanPos = -1;
  protected loanMax = 0;
  protected readonly maxMessage: number;
  /** Broadcast overwrite: never full, and every write is announced first (beforeWrite). */
  protected readonly overwrite: boolean = false;

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

  unread(): number {
    return (this.tail - this.headPosition()) >>> 0;
  }

  hasSpace(n: number): boolean {
    if (this.overwrite) return true;
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
    const cap = this.cap;
    const need = (L.RECORD_HEADER + n + 7) & ~7;
    const t = this.tail;
    const i = t & this.mask;
    const pad = i + need > cap ? cap - i : 0;
    // §4.1 step 2: the cached head first; reload it (acquire) only when it says full.
    if (!this.overwrite && ((t + pad + need - this.cachedHead) >>> 0) > cap) {
      this.cachedHead = this.headPosition();
      if (((t + pad + need - this.cachedHead) >>> 0) > cap) return -1;
    }
    let rec = t;
    if (pad !== 0) {
      // Padding to the end of the data area; published together with the record by the tail store.
      if (this.overwrite) this.beforeWrite((t + pad + need) >>> 0);
      this.dv.setUint32(this.data + i + L.R_LEN_STATE, pad | L.REC_PADDING, true);
      this.dv.setUint32(this.data + i + L.R_POS, t, true);
      rec = (t + pad) >>> 0;
    } else if (this.overwrite) {
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
    const o = this.data + (rec & this.mask);
    const length = (L.RECORD_HEADER + len + 7) & ~7;
    const fl = flags === undefined ? 0 : flags;
    // Plain stores: the tail store in publish() orders them before the consumer's reads.
    if (LE) {
      const i32 = this.i32;
      const x = o >> 2;
      i32[x + (L.R_POS >> 2)] = rec;
      i32[x + (L.R_SEQ >> 2)] = this.seqNext;
      i32[x + (L.R_SENDER >> 2)] = this.slot;
      if (correlation === undefined || correlation === 0n) {
        i32[x + (L.R_CORRELATION >> 2)] = 0;
        i32[x + (L.R_CORRELATION >> 2) + 1] = 0;
      } else {
        this.dv.setBigUint64(o + L.R_CORRELATION, correlation, true);
      }
      i32[x + (L.R_PAYLOAD_LEN >> 2)] = len;
      i32[x + (L.R_FLAGS >> 2)] = fl;
      i32[x + (L.R_LEN_STATE >> 2)] = length | L.REC_COMMITTED;
    } else {
      const dv = this.dv;
      dv.setUint32(o + L.R_POS, rec, true);
      dv.setUint32(o + L.R_SEQ, this.seqNext, true);
      dv.setUint32(o + L.R_SENDER, this.slot, true);
      dv.setBigUint64(o + L.R_CORRELATION, correlation === undefined ? 0n : correlation, true);
      dv.setUint32(o + L.R_PAYLOAD_LEN, len, true);
      dv.setUint32(o + L.R_FLAGS, fl, true);
      dv.setUint32(o + L.R_LEN_STATE, length | L.REC_COMMITTED, true);
    }
    this.seqNext = (this.seqNext + 1) >>> 0;
    this.loanPos = -1;
    this.tail = (rec + length) >>> 0;
    this.publish(rec);
    this.wakeData();
  }

  /**
   * SYNC POINT (producer): store_release(tail) — SeqCst in JS — pairs with the consumer's
   * load_acquire(tail): the record bytes written above happen-before its reads. `seq` (a
   * word only this producer writes, read by broadcast joiners and by a producer taking
   * over) is a plain store before it, so a joiner whose load of tail sees this tail also
   * sees at least this seq; the SeqCst tail store is also what §3 needs before the
   * data_sleepers load in wakeData().
   */
  protected publish(_rec: number): void {
    const i32 = this.i32;
    i32[L.SEQ >> 2] = this.seqNext;
    Atomics.store(i32, L.TAIL >> 2, this.tail);
  }

  abort(): void {
    this.loanPos = -1;
  }

  peerAlive(): boolean {
    return this.anyAlive(L.ROLE_CONSUMER);
  }
}

export class SpscReader extends Reader {
  /** Published head (what the producer sees). */
  protected head: number;
  /** Released position: records before it are given back; (head, released] is not published yet (releaseLazy). */
  protected released: number;
  /** Next position to read; records in [released, readPos) are held by the caller. */
  protected readPos: number;
  protected cachedTail: number;
  protected recOff = 0;
  protected broken = false;
  /** releaseLazy() publishes head once this many released bytes are unpublished. */
  protected readonly lazyBytes: number;

  constructor(ring: Ring, slot: number, id: Identity, notifier: Notifier | undefined) {
    super(ring, slot, id, notifier);
    this.head = this.initialPosition();
    this.released = this.head;
    this.readPos = this.head;
    this.cachedTail = this.head;
    this.lazyBytes = ring.capacity >>> 2;
  }

  protected initialPosition(): number {
    return Atomics.load(this.i32, L.HEAD >> 2) >>> 0;
  }

  protected corrupt(p: number, what: string): never {
    this.broken = true;
    throw new RingError('CORRUPT', `ring record at position ${p}: ${what}`);
  }

  /**
   * SYNC POINT (consumer): load_acquire(tail) pairs with the producer's tail store in publish().
   * Finding the ring empty publishes a lazy release first (a waiter must not sit on space).
   */
  hasData(): boolean {
    if (this.readPos !== this.cachedTail) return true;
    this.cachedTail = Atomics.load(this.i32, L.TAIL >> 2) >>> 0;
    if (this.readPos !== this.cachedTail) return true;
    if (this.released !== this.head) this.flush();
    return false;
  }

  receive(): number {
    if (this.broken) throw new RingError('CORRUPT', 'ring was found corrupt; it can not be read further');
    const i32 = this.i32;
    for (;;) {
      const p = this.readPos;
      if (p === this.cachedTail) {
        const t = Atomics.load(i32, L.TAIL >> 2) >>> 0;
        this.cachedTail = t;
        if (p === t) {
          // Empty: publish what releaseLazy() held back before the caller polls or parks.
          if (this.released !== this.head) this.flush();
          return -1;
        }
      }
      const o = this.data + (p & this.mask);
      const avail = (this.cachedTail - p) >>> 0;
      let w: number, pos: number;
      if (LE) {
        const x = o >> 2;
        w = i32[x + (L.R_LEN_STATE >> 2)]! >>> 0;
        pos = i32[x + (L.R_POS >> 2)]! >>> 0;
      } else {
        w = this.dv.getUint32(o + L.R_LEN_STATE, true);
        pos = this.dv.getUint32(o + L.R_POS, true);
      }
      const length = (w & ~7) >>> 0;
      const state = w & 7;
      if (length < 8 || length > avail) this.corrupt(p, `length ${length} outside [8, ${avail}]`);
      if (pos !== p) this.corrupt(p, `pos field ${pos} differs`);
      if (state === L.REC_PADDING) {
        this.readPos = (p + length) >>> 0;
        continue;
      }
      if (state !== L.REC_COMMITTED) this.corrupt(p, `state ${state} is not committed`);
      if (LE) {
        const x = o >> 2;
        const plen = i32[x + (L.R_PAYLOAD_LEN >> 2)]! >>> 0;
        if (length < L.RECORD_HEADER + plen) this.corrupt(p, `payload_len ${plen} does not fit length ${length}`);
        this.length = plen;
        this.seq = i32[x + (L.R_SEQ >> 2)]! >>> 0;
        this.sender = i32[x + (L.R_SENDER >> 2)]! >>> 0;
        this.flags = i32[x + (L.R_FLAGS >> 2)]! >>> 0;
      } else {
        const dv = this.dv;
        const plen = dv.getUint32(o + L.R_PAYLOAD_LEN, true);
        if (length < L.RECORD_HEADER + plen) this.corrupt(p, `payload_len ${plen} does not fit length ${length}`);
        this.length = plen;
        this.seq = dv.getUint32(o + L.R_SEQ, true);
        this.sender = dv.getUint32(o + L.R_SENDER, true);
        this.flags = dv.getUint32(o + L.R_FLAGS, true);
      }
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
    this.released = this.readPos;
    this.noteRelease();
    this.flush();
  }

  /**
   * §4.1 allows releasing several records at once: gives back every record received so
   * far (their views are invalid from now on), but publishes head only once a quarter of
   * the capacity is pending, or when receive()/hasData() next find the ring empty, or on
   * release()/flush(). For consumers that keep receiving (batch loops); a consumer that
   * stops receiving for a while should call release() or flush() instead.
   */
  override releaseLazy(): void {
    const p = this.readPos;
    if (p === this.released) return;
    this.released = p;
    this.noteRelease();
    if (((p - this.head) >>> 0) >= this.lazyBytes) this.flush();
  }

  /** Publishes released records: head = released (store_release), then wakes blocked producers (§3). */
  override flush(): void {
    if (this.released === this.head) return;
    this.head = this.released;
    this.storeHead(this.head);
    this.wakeSpace();
  }

  /** A release (eager or lazy) just moved `released` to readPos. */
  protected noteRelease(): void {}

  /** SYNC POINT (consumer): store_release(head) pairs with the producer's load_acquire(head). */
  protected storeHead(h: number): void {
    Atomics.store(this.i32, L.HEAD >> 2, h);
  }

  override close(): void {
    if (!this.closed) this.flush();
    super.close();
  }

  peerAlive(): boolean {
    return this.anyAlive(L.ROLE_PRODUCER);
  }
}
