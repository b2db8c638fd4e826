// The Isthmus ring protocol (docs/ring.md) in AssemblyScript, over a region that the host
// mapped into this module's linear memory (docs/wasm.md, "Hosting"): SPSC producer and
// consumer, broadcast publisher and subscriber (block policy, zero-copy), overwrite-policy
// subscriber (copies, reports gaps), MPSC producer and MPSC consumer (with the §6 recovery
// of abandoned claims).
//
// Raw addresses: `base` is the linear-memory address of the region's first byte and
// [base, base + size) must stay mapped while any endpoint is used (the host keeps the
// mapping until detach). Every atomic below is a wasm `atomic.*` on a naturally aligned
// u32: sequentially consistent, which is at least the acquire/release the protocol
// names. The host joins the slot (docs/ring.md §5: identity and liveness need /proc) and
// passes its number; the endpoint here only reads and writes the ring.
//
// Region (docs/ring.md §1):
//   0 header (128) | 128 producer line: tail@128 seq@132 | 192 consumer line: head@192
//   256 notify line: data_futex@256 data_sleepers@260 space_futex@264 space_sleepers@268
//   320 broadcast line: bc_intent@320 bc_last@324 bc_min@328 | 384 slots (64 each) | D data
// Record: len_state@0 pos@4 seq@8 sender@12 correlation@16 (u64) payload_len@24 flags@28 | payload@32

// Host imports (packages/sdk/src/wasm.ts provides them): the shared futex of docs/ring.md §3
// on an address inside a mapped region, and a monotonic clock.
@external("isthmus", "futex_wait") declare function futex_wait(addr: usize, expected: u32, timeoutMs: f64): i32;
@external("isthmus", "futex_wake") declare function futex_wake(addr: usize, count: u32): u32;
@external("isthmus", "now_ms") declare function now_ms(): f64;
// Liveness of the participant in the slot at linear address `slotAddr` (docs/ring.md §5:
// pid + start_time against /proc, which a module can not read): 1 alive, 0 dead.
@external("isthmus", "slot_alive") declare function slot_alive(slotAddr: usize): i32;

export const H_STATE: usize = 12;
export const H_KIND: usize = 36;
export const H_POLICY: usize = 40;
export const H_SLOTS: usize = 44;
export const H_CAPACITY: usize = 64;
export const H_MAX_MESSAGE: usize = 68;
export const H_DATA_OFFSET: usize = 72;
export const H_UNBLOCK_NS: usize = 80;
export const TAIL: usize = 128;
export const SEQ: usize = 132;
export const HEAD: usize = 192;
export const DATA_FUTEX: usize = 256;
export const DATA_SLEEPERS: usize = 260;
export const SPACE_FUTEX: usize = 264;
export const SPACE_SLEEPERS: usize = 268;
export const BC_INTENT: usize = 320;
export const BC_LAST: usize = 324;
export const BC_MIN: usize = 328;
export const SLOTS_OFFSET: usize = 384;
export const SLOT_SIZE: usize = 64;
export const S_STATE: usize = 0;
export const S_ROLE: usize = 4;
export const S_INTENT_POS: usize = 24;
export const S_INTENT_LEN: usize = 28;
export const S_CURSOR: usize = 32;
export const S_CURSOR_SEQ: usize = 36;
export const S_LOST: usize = 40;
export const R_LEN_STATE: usize = 0;
export const R_POS: usize = 4;
export const R_SEQ: usize = 8;
export const R_SENDER: usize = 12;
export const R_CORRELATION: usize = 16;
export const R_PAYLOAD_LEN: usize = 24;
export const R_FLAGS: usize = 28;
export const RECORD_HEADER: u32 = 32;
export const REC_FREE: u32 = 0;
export const REC_CLAIMED: u32 = 1;
export const REC_COMMITTED: u32 = 2;
export const REC_PADDING: u32 = 3;
export const KIND_SPSC: u32 = 1;
export const KIND_MPSC: u32 = 2;
export const KIND_BROADCAST: u32 = 3;
export const ROLE_PRODUCER: u32 = 1;
export const ROLE_SUBSCRIBER: u32 = 4;
export const SLOT_FREE: u32 = 0;
export const SLOT_FILLING: u32 = 1;
export const SLOT_ACTIVE: u32 = 2;

// Results of open() and the endpoints (negative: errors).
export const E_NOT_READY: i32 = -1;
export const E_MAGIC: i32 = -2;
export const E_GEOMETRY: i32 = -3;
export const E_KIND: i32 = -4;
export const E_TOO_LARGE: i32 = -5;
export const E_CORRUPT: i32 = -6;
export const E_ABORTED: i32 = -7;
export const E_TIMED_OUT: i32 = -8;

@inline function recordLength(n: u32): u32 {
  return (RECORD_HEADER + n + 7) & ~7;
}

/** A validated ring region at `base` (docs/ring.md §1.1). */
export class Ring {
  base: usize = 0;
  kind: u32 = 0;
  policy: u32 = 0;
  slots: u32 = 0;
  cap: u32 = 0;
  mask: u32 = 0;
  maxMessage: u32 = 0;
  data: usize = 0;
  unblockMs: f64 = 0;

  /** Checks the header the way an opener must (state, magic, kind, geometry); 0 or an E_* code. */
  open(base: usize, size: u32): i32 {
    // load_acquire(state): pairs with the creator's store_release(state, 1).
    if (atomic.load<u32>(base + H_STATE) != 1) return E_NOT_READY;
    if (load<u64>(base) != 0x474e495248545349) return E_MAGIC; // "ISTHRING" little-endian
    const kind = load<u32>(base + H_KIND);
    if (kind < 1 || kind > 3) return E_KIND;
    const cap = load<u32>(base + H_CAPACITY);
    const slots = load<u32>(base + H_SLOTS);
    const d = load<u64>(base + H_DATA_OFFSET);
    if (cap < 4096 || (cap & (cap - 1)) != 0 || slots < 1 || slots > 1024) return E_GEOMETRY;
    if (d < <u64>(SLOTS_OFFSET + SLOT_SIZE * slots) || d + <u64>cap > <u64>size) return E_GEOMETRY;
    this.base = base;
    this.kind = kind;
    this.policy = load<u32>(base + H_POLICY);
    this.slots = slots;
    this.cap = cap;
    this.mask = cap - 1;
    this.maxMessage = load<u32>(base + H_MAX_MESSAGE);
    this.data = base + <usize>d;
    this.unblockMs = <f64>load<u64>(base + H_UNBLOCK_NS) / 1e6;
    return 0;
  }

  @inline slotAddr(slot: u32): usize {
    return this.base + SLOTS_OFFSET + SLOT_SIZE * <usize>(slot - 1);
  }

  /**
   * The §3 park protocol on one futex word and its sleeper count: the sleeper increment,
   * the futex load and the re-check are SeqCst, pairing with the waker's SeqCst publish
   * and sleeper load (wake()). `ready` must not consume anything.
   */
  park(ready: () => bool, futex: usize, sleepers: usize, timeoutMs: f64): bool {
    for (let i = 0; i < 256; i++) if (ready()) return true;
    const end = now_ms() + timeoutMs;
    for (;;) {
      if (ready()) return true;
      const left = end - now_ms();
      if (left <= 0) return false;
      atomic.add<u32>(this.base + sleepers, 1);
      const f = atomic.load<u32>(this.base + futex);
      if (!ready()) futex_wait(this.base + futex, f, min<f64>(left, 1000));
      atomic.sub<u32>(this.base + sleepers, 1);
    }
    return false;
  }

  /** Waker side of §3: after a SeqCst publish, a SeqCst load of the sleepers. */
  wake(futex: usize, sleepers: usize): void {
    if (atomic.load<u32>(this.base + sleepers) != 0) {
      atomic.add<u32>(this.base + futex, 1);
      futex_wake(this.base + futex, 0x7fffffff);
    }
  }
}


/**
 * How long an endpoint has been held up at one ring position (now_ms), across wait calls:
 * a publisher blocked at one tail, a consumer stuck at one head (the §6 bounds).
 */
export class Since {
  pos: u32 = 0;
  running: bool = false;
  start: f64 = 0;
  /** Milliseconds held up at `pos`; a new position starts the clock at 0. */
  at(pos: u32): f64 {
    const now = now_ms();
    if (!this.running || this.pos != pos) {
      this.running = true;
      this.pos = pos;
      this.start = now;
    }
    return now - this.start;
  }
  /** Is the clock running for `pos`? */
  on(pos: u32): bool {
    return this.running && this.pos == pos;
  }
  reset(): void {
    this.running = false;
  }
}

/** SPSC producer or broadcast publisher (docs/ring.md §4.1, §4.3 block policy). */
export class Writer {
  ring: Ring;
  slot: u32;
  tail: u32;
  cachedHead: u32;
  seqNext: u32;
  loanPos: i64 = -1;
  loanMax: u32 = 0;
  /** Broadcast: dead subscribers whose slots this publisher freed (§6). */
  freed: u32 = 0;
  /** Since when loanWait has found the ring full at this tail. */
  blocked: Since = new Since();

  constructor(ring: Ring, slot: u32) {
    this.ring = ring;
    this.slot = slot;
    this.tail = atomic.load<u32>(ring.base + TAIL);
    this.seqNext = atomic.load<u32>(ring.base + SEQ);
    this.cachedHead = 0;
    this.cachedHead = this.headPosition();
  }

  /**
   * The position the producer must not overwrite. SPSC: load_acquire(head), pairing with
   * the consumer's store_release(head). Broadcast: the slowest active subscriber's cursor
   * (load_acquire of each, pairing with each subscriber's store_release), or tail.
   */
  headPosition(): u32 {
    const r = this.ring;
    if (r.kind != KIND_BROADCAST) return atomic.load<u32>(r.base + HEAD);
    const t = atomic.load<u32>(r.base + TAIL);
    let lo = t;
    let dist: u32 = 0;
    for (let s: u32 = 1; s <= r.slots; s++) {
      const o = r.slotAddr(s);
      if (atomic.load<u32>(o + S_STATE) != SLOT_ACTIVE || load<u32>(o + S_ROLE) != ROLE_SUBSCRIBER) continue;
      const c = atomic.load<u32>(o + S_CURSOR);
      const d = t - c;
      if (d > dist && d <= r.cap) {
        dist = d;
        lo = c;
      }
    }
    atomic.store<u32>(r.base + BC_MIN, lo);
    return lo;
  }

  hasSpace(n: u32): bool {
    const r = this.ring;
    const need = recordLength(n);
    const i = this.tail & r.mask;
    const pad = i + need > r.cap ? r.cap - i : 0;
    if (this.tail + pad + need - this.cachedHead <= r.cap) return true;
    this.cachedHead = this.headPosition();
    return this.tail + pad + need - this.cachedHead <= r.cap;
  }

  /** Payload address with room for n bytes (written in place until commit), 0 when full, or an E_* code < 0 as i64. */
  loan(n: u32): i64 {
    const r = this.ring;
    if (n > r.maxMessage) return E_TOO_LARGE;
    const need = recordLength(n);
    const t = this.tail;
    const i = t & r.mask;
    const pad = i + need > r.cap ? r.cap - i : 0;
    if (t + pad + need - this.cachedHead > r.cap) {
      this.cachedHead = this.headPosition();
      if (t + pad + need - this.cachedHead > r.cap) return 0;
    }
    let rec = t;
    if (pad != 0) {
      // A padding record to the end of the data area, published with the record by the tail store.
      const p = r.data + <usize>i;
      store<u32>(p + R_LEN_STATE, pad | REC_PADDING);
      store<u32>(p + R_POS, t);
      rec = t + pad;
    }
    this.loanPos = rec;
    this.loanMax = n;
    return <i64>(r.data + <usize>(rec & r.mask) + RECORD_HEADER);
  }

  /**
   * Loan, waiting up to timeoutMs for space (§3 on space_futex). A broadcast publisher
   * blocked for unblock_ns at the same tail (counted across calls) frees the slots of dead
   * subscribers that hold the minimum (§6; liveness from the host's slot_alive).
   */
  loanWait(n: u32, timeoutMs: f64): i64 {
    const r = this.ring;
    const end = now_ms() + timeoutMs;
    for (;;) {
      const got = this.loan(n);
      if (got != 0) {
        this.blocked.reset();
        return got;
      }
      const bc = r.kind == KIND_BROADCAST;
      if (bc && this.blocked.at(this.tail) >= r.unblockMs && this.freeDeadSubscribers()) continue;
      const left = end - now_ms();
      if (left <= 0) return E_TIMED_OUT;
      writerWaiting = this;
      writerNeed = n;
      r.park(() => writerWaiting!.hasSpace(writerNeed), SPACE_FUTEX, SPACE_SLEEPERS, bc ? min<f64>(left, max<f64>(1, r.unblockMs / 4)) : left);
    }
    return E_TIMED_OUT;
  }

  /**
   * Frees the slots of dead subscribers whose cursor is the minimum: cas(state 2 → 1),
   * zero the other fields, store_release(state, 0) (docs/ring.md §5), as any participant
   * that finds a dead one does. True when one was freed.
   */
  freeDeadSubscribers(): bool {
    const r = this.ring;
    const lo = this.headPosition();
    let any = false;
    for (let s: u32 = 1; s <= r.slots; s++) {
      const o = r.slotAddr(s);
      if (atomic.load<u32>(o + S_STATE) != SLOT_ACTIVE || load<u32>(o + S_ROLE) != ROLE_SUBSCRIBER) continue;
      if (atomic.load<u32>(o + S_CURSOR) != lo || slot_alive(o) != 0) continue;
      if (atomic.cmpxchg<u32>(o + S_STATE, SLOT_ACTIVE, SLOT_FILLING) != SLOT_ACTIVE) continue;
      memory.fill(o + 4, 0, SLOT_SIZE - 4);
      atomic.store<u32>(o + S_STATE, SLOT_FREE);
      this.freed++;
      any = true;
    }
    if (any) this.cachedHead = this.headPosition();
    return any;
  }

  /** Publishes the loaned record with len <= the loaned bytes. 0 or an E_* code. */
  commit(len: u32, correlation: u64 = 0, flags: u32 = 0): i32 {
    if (this.loanPos < 0) return E_ABORTED;
    if (len > this.loanMax) return E_TOO_LARGE;
    const r = this.ring;
    const rec = <u32>this.loanPos;
    const o = r.data + <usize>(rec & r.mask);
    const length = recordLength(len);
    // Plain stores: the tail store below orders them before the consumer's reads.
    store<u32>(o + R_POS, rec);
    store<u32>(o + R_SEQ, this.seqNext);
    store<u32>(o + R_SENDER, this.slot);
    store<u64>(o + R_CORRELATION, correlation);
    store<u32>(o + R_PAYLOAD_LEN, len);
    store<u32>(o + R_FLAGS, flags);
    store<u32>(o + R_LEN_STATE, length | REC_COMMITTED);
    this.seqNext++;
    this.loanPos = -1;
    this.tail = rec + length;
    // SYNC POINT (producer): seq (plain, read by joiners) then store_release(tail) — SeqCst
    // here — pairing with the consumer's load_acquire(tail); SeqCst also orders it before
    // the data_sleepers load in wake() (§3).
    store<u32>(r.base + SEQ, this.seqNext);
    atomic.store<u32>(r.base + TAIL, this.tail);
    r.wake(DATA_FUTEX, DATA_SLEEPERS);
    return 0;
  }

  abort(): void {
    this.loanPos = -1;
  }
}

let writerWaiting: Writer | null = null;
let writerNeed: u32 = 0;
let readerWaiting: Reader | null = null;

/** SPSC consumer or broadcast subscriber (block policy): payloads are read in place. */
export class Reader {
  ring: Ring;
  slot: u32;
  head: u32;
  readPos: u32;
  cachedTail: u32;
  /** Of the record last received. */
  length: u32 = 0;
  seq: u32 = 0;
  sender: u32 = 0;
  flags: u32 = 0;
  recAddr: usize = 0;
  broken: bool = false;
  nextSeq: u32 = 0;
  /** Where this reader publishes its position: head (SPSC) or its slot's cursor (broadcast). */
  cursorAddr: usize;

  constructor(ring: Ring, slot: u32) {
    this.ring = ring;
    this.slot = slot;
    this.cursorAddr = ring.kind == KIND_BROADCAST ? ring.slotAddr(slot) + S_CURSOR : ring.base + HEAD;
    this.head = atomic.load<u32>(this.cursorAddr);
    this.readPos = this.head;
    this.cachedTail = this.head;
  }

  /** SYNC POINT (consumer): load_acquire(tail) pairs with the producer's tail store. */
  hasData(): bool {
    if (this.readPos != this.cachedTail) return true;
    this.cachedTail = atomic.load<u32>(this.ring.base + TAIL);
    return this.readPos != this.cachedTail;
  }

  /** Payload address of the next record (len in `length`), 0 when none, E_CORRUPT (< 0) on a bad record. */
  receive(): i64 {
    if (this.broken) return E_CORRUPT;
    const r = this.ring;
    for (;;) {
      const p = this.readPos;
      if (p == this.cachedTail) {
        this.cachedTail = atomic.load<u32>(r.base + TAIL);
        if (p == this.cachedTail) return 0;
      }
      const o = r.data + <usize>(p & r.mask);
      const avail = this.cachedTail - p;
      const w = load<u32>(o + R_LEN_STATE);
      const length = w & ~7;
      const state = w & 7;
      // The checks of §4.1: a record that fails them means a corrupt or hostile producer.
      if (length < 8 || length > avail || load<u32>(o + R_POS) != p) {
        this.broken = true;
        return E_CORRUPT;
      }
      if (state == REC_PADDING) {
        this.readPos = p + length;
        continue;
      }
      const plen = load<u32>(o + R_PAYLOAD_LEN);
      if (state != REC_COMMITTED || length < RECORD_HEADER + plen) {
        this.broken = true;
        return E_CORRUPT;
      }
      this.length = plen;
      this.seq = load<u32>(o + R_SEQ);
      this.sender = load<u32>(o + R_SENDER);
      this.flags = load<u32>(o + R_FLAGS);
      this.nextSeq = this.seq + 1;
      this.recAddr = o;
      this.readPos = p + length;
      return <i64>(o + RECORD_HEADER);
    }
  }

  /** receive(), waiting up to timeoutMs (§3 on data_futex). */
  receiveWait(timeoutMs: f64): i64 {
    const first = this.receive();
    if (first != 0) return first;
    readerWaiting = this;
    if (!this.ring.park(() => readerWaiting!.hasData(), DATA_FUTEX, DATA_SLEEPERS, timeoutMs)) return E_TIMED_OUT;
    return this.receive();
  }

  /**
   * Gives back every record received so far (their payloads are invalid from now on).
   * SYNC POINT (consumer): store_release(head or cursor) pairs with the producer's
   * load_acquire of it; broadcast stores cursor_seq (plain) first.
   */
  release(): void {
    if (this.readPos == this.head) return;
    this.head = this.readPos;
    if (this.ring.kind == KIND_BROADCAST) store<u32>(this.ring.slotAddr(this.slot) + S_CURSOR_SEQ, this.nextSeq);
    atomic.store<u32>(this.cursorAddr, this.head);
    this.ring.wake(SPACE_FUTEX, SPACE_SLEEPERS);
  }
}

/**
 * MPSC producer (docs/ring.md §4.2): claims with cas on tail, commits with cas on the
 * record's len_state. The host took the slot; `slot` records the intent (§6 recovery).
 */
export class MpscWriter {
  ring: Ring;
  slot: u32;
  cachedHead: u32 = 0;
  rec: u32 = 0;
  need: u32 = 0;
  loanMax: u32 = 0;
  loaned: bool = false;

  constructor(ring: Ring, slot: u32) {
    this.ring = ring;
    this.slot = slot;
    this.cachedHead = atomic.load<u32>(ring.base + HEAD);
  }

  /** Payload address with room for n bytes, 0 when full, or an E_* code (< 0). */
  loan(n: u32): i64 {
    const r = this.ring;
    if (n > r.maxMessage) return E_TOO_LARGE;
    const need = recordLength(n);
    const sa = r.slotAddr(this.slot);
    for (;;) {
      // load_acquire(tail): pairs with other producers' claims.
      const t = atomic.load<u32>(r.base + TAIL);
      const i = t & r.mask;
      const pad = i + need > r.cap ? r.cap - i : 0;
      const total = pad + need;
      if (t + total - this.cachedHead > r.cap) {
        // load_acquire(head): pairs with the consumer's store_release(head) after zeroing.
        this.cachedHead = atomic.load<u32>(r.base + HEAD);
        if (t + total - this.cachedHead > r.cap) return 0;
      }
      // The intent (plain stores; the cas below orders them before the claim is visible).
      store<u32>(sa + S_INTENT_LEN, total);
      store<u32>(sa + S_INTENT_POS, t);
      if (atomic.cmpxchg<u32>(r.base + TAIL, t, t + total) != t) continue;
      let rec = t;
      if (pad != 0) {
        const p = r.data + <usize>i;
        if (atomic.cmpxchg<u32>(p + R_LEN_STATE, 0, pad | REC_PADDING) != 0) return E_ABORTED;
        store<u32>(p + R_POS, t);
        rec = t + pad;
      }
      const o = r.data + <usize>(rec & r.mask);
      if (atomic.cmpxchg<u32>(o + R_LEN_STATE, 0, need | REC_CLAIMED) != 0) return E_ABORTED;
      this.rec = rec;
      this.need = need;
      this.loanMax = n;
      this.loaned = true;
      return <i64>(o + RECORD_HEADER);
    }
  }

  /** Commits the claim with len <= loaned bytes: cas(claimed -> committed), a release pairing with the consumer's load_acquire(len_state). */
  commit(len: u32, correlation: u64 = 0, flags: u32 = 0): i32 {
    if (!this.loaned) return E_ABORTED;
    if (len > this.loanMax) return E_TOO_LARGE;
    const r = this.ring;
    const o = r.data + <usize>(this.rec & r.mask);
    store<u32>(o + R_POS, this.rec);
    store<u32>(o + R_SEQ, 0);
    store<u32>(o + R_SENDER, this.slot);
    store<u64>(o + R_CORRELATION, correlation);
    store<u32>(o + R_FLAGS, flags);
    store<u32>(o + R_PAYLOAD_LEN, len);
    this.loaned = false;
    const ok = atomic.cmpxchg<u32>(o + R_LEN_STATE, this.need | REC_CLAIMED, this.need | REC_COMMITTED) == (this.need | REC_CLAIMED);
    store<u32>(r.slotAddr(this.slot) + S_INTENT_LEN, 0);
    if (!ok) return E_ABORTED;
    r.wake(DATA_FUTEX, DATA_SLEEPERS);
    return 0;
  }
}

let mpscWaiting: MpscReader | null = null;

/**
 * MPSC consumer (docs/ring.md §4.2): reads committed records in place at head, skips
 * padding, zeroes what it releases (claimers cas on zero), and after `unblock_ns` stuck on
 * a record that is not ready turns the claim of a **dead** producer into padding (§6).
 */
export class MpscReader {
  ring: Ring;
  slot: u32;
  head: u32;
  readPos: u32;
  cachedTail: u32;
  /** Of the record last received. */
  length: u32 = 0;
  sender: u32 = 0;
  flags: u32 = 0;
  recAddr: usize = 0;
  broken: bool = false;
  /** Claims of dead producers turned into padding so far. */
  recovered: u32 = 0;
  /** Since when the record at readPos has not been ready. */
  stuck: Since = new Since();

  constructor(ring: Ring, slot: u32) {
    this.ring = ring;
    this.slot = slot;
    this.head = atomic.load<u32>(ring.base + HEAD);
    this.readPos = this.head;
    this.cachedTail = this.head;
  }

  /** A committed record or padding at readPos. SYNC POINT: load_acquire(len_state) pairs with the producer's commit cas. */
  hasData(): bool {
    const r = this.ring;
    const p = this.readPos;
    if (p == this.cachedTail) {
      this.cachedTail = atomic.load<u32>(r.base + TAIL);
      if (p == this.cachedTail) return false;
    }
    const st = atomic.load<u32>(r.data + <usize>(p & r.mask)) & 7;
    if (st == REC_COMMITTED || st == REC_PADDING) return true;
    this.stuck.at(p);
    return false;
  }

  /** Payload address of the next committed record (len in `length`), 0 when none is ready, E_CORRUPT (< 0) on a bad record. */
  receive(): i64 {
    if (this.broken) return E_CORRUPT;
    const r = this.ring;
    for (;;) {
      const p = this.readPos;
      if (p == this.cachedTail) {
        // load_acquire(tail): pairs with the claimers' cas on tail.
        this.cachedTail = atomic.load<u32>(r.base + TAIL);
        if (p == this.cachedTail) return 0;
      }
      const o = r.data + <usize>(p & r.mask);
      // SYNC POINT (consumer): load_acquire(len_state) pairs with the producer's commit cas.
      const w = atomic.load<u32>(o + R_LEN_STATE);
      const state = w & 7;
      if (state == REC_FREE || state == REC_CLAIMED) {
        this.stuck.at(p);
        return 0;
      }
      const length = w & ~7;
      const avail = this.cachedTail - p;
      if (length < 8 || length > avail) {
        this.broken = true;
        return E_CORRUPT;
      }
      // A padding record's pos is written after its cas (§4.2 step 5): only committed
      // records are checked by pos.
      if (state == REC_PADDING) {
        this.readPos = p + length;
        continue;
      }
      const plen = load<u32>(o + R_PAYLOAD_LEN);
      if (state != REC_COMMITTED || load<u32>(o + R_POS) != p || length < RECORD_HEADER + plen) {
        this.broken = true;
        return E_CORRUPT;
      }
      this.length = plen;
      this.sender = load<u32>(o + R_SENDER);
      this.flags = load<u32>(o + R_FLAGS);
      this.recAddr = o;
      this.readPos = p + length;
      return <i64>(o + RECORD_HEADER);
    }
  }

  /** Correlation id of the record last received. */
  correlation(): u64 {
    return load<u64>(this.recAddr + R_CORRELATION);
  }

  /**
   * receive(), waiting up to timeoutMs (§3 on data_futex). While the record at head stays
   * not ready for unblock_ns, each park is a quarter of it and recover() runs between parks.
   */
  receiveWait(timeoutMs: f64): i64 {
    const end = now_ms() + timeoutMs;
    for (;;) {
      const got = this.receive();
      if (got != 0) return got;
      if (this.recover()) continue;
      const left = end - now_ms();
      if (left <= 0) return E_TIMED_OUT;
      mpscWaiting = this;
      const slice = this.stuck.on(this.readPos) ? max<f64>(1, this.ring.unblockMs / 4) : left;
      this.ring.park(() => mpscWaiting!.hasData(), DATA_FUTEX, DATA_SLEEPERS, min<f64>(left, slice));
    }
    return E_TIMED_OUT;
  }

  /**
   * Zeroes [head, readPos) (it may span the end of the data area), then
   * SYNC POINT (consumer): store_release(head), SeqCst here, pairing with a claimer's
   * load_acquire(head): the zeroes happen-before any claim of that space.
   */
  release(): void {
    const r = this.ring;
    const h = this.head;
    const p = this.readPos;
    if (p == h) return;
    const n = p - h;
    const i = h & r.mask;
    const first = min<u32>(n, r.cap - i);
    memory.fill(r.data + <usize>i, 0, first);
    if (n > first) memory.fill(r.data, 0, n - first);
    this.head = p;
    atomic.store<u32>(r.base + HEAD, p);
    r.wake(SPACE_FUTEX, SPACE_SLEEPERS);
  }

  /**
   * §6: when the record at readPos has not been ready for unblock_ns and a producer whose
   * slot intent covers it is dead (the host's slot_alive), its claim becomes padding:
   * cas(0 → rest | 3), split at the end of the data area, or cas(need | 1 → need | 3), so
   * a late commit by its owner fails. True when something was unblocked.
   */
  recover(): bool {
    if (!this.stuck.on(this.readPos) || this.stuck.at(this.readPos) < this.ring.unblockMs) return false;
    const r = this.ring;
    const p = this.readPos;
    const o = r.data + <usize>(p & r.mask);
    const w = atomic.load<u32>(o + R_LEN_STATE);
    const state = w & 7;
    if (state != REC_FREE && state != REC_CLAIMED) return false;
    for (let s: u32 = 1; s <= r.slots; s++) {
      const sa = r.slotAddr(s);
      if (atomic.load<u32>(sa + S_STATE) != SLOT_ACTIVE || load<u32>(sa + S_ROLE) != ROLE_PRODUCER) continue;
      // load_acquire of the intent: pairs with the claimer's stores before its tail cas.
      const ilen = atomic.load<u32>(sa + S_INTENT_LEN);
      const ipos = atomic.load<u32>(sa + S_INTENT_POS);
      if (ilen == 0 || p - ipos >= ilen) continue;
      if (slot_alive(sa) != 0) return false; // a live, slow producer: wait for it
      const nw = state == REC_FREE ? min<u32>(ipos + ilen - p, r.cap - (p & r.mask)) | REC_PADDING : (w & ~7) | REC_PADDING;
      if (atomic.cmpxchg<u32>(o + R_LEN_STATE, w, nw) != w) return true; // it moved meanwhile: look again
      store<u32>(o + R_POS, p);
      this.recovered++;
      this.stuck.reset();
      return true;
    }
    return false;
  }
}

let overwriteWaiting: OverwriteReader | null = null;

/**
 * Overwrite-policy broadcast subscriber (docs/ring.md §4.3): the publisher never waits, so
 * each record is copied out of the ring into a private buffer and bc_intent is checked
 * after the copy; a copy the publisher may have overwritten meanwhile is never delivered.
 * A subscriber that was lapped jumps to bc_last and reports the loss as `gap`.
 */
export class OverwriteReader {
  ring: Ring;
  slot: u32;
  readPos: u32;
  nextSeq: u32;
  seqKnown: bool = false;
  lapped: bool = false;
  /** Messages lost before the record last received (0: none), and in all. */
  gap: u32 = 0;
  lost: u32 = 0;
  /** Of the record last received; its payload is at copy + RECORD_HEADER. */
  length: u32 = 0;
  seq: u32 = 0;
  sender: u32 = 0;
  flags: u32 = 0;
  /** The private copy: one full record (header + max_message). */
  copy: usize;

  constructor(ring: Ring, slot: u32) {
    this.ring = ring;
    this.slot = slot;
    const sa = ring.slotAddr(slot);
    this.readPos = atomic.load<u32>(sa + S_CURSOR);
    this.nextSeq = load<u32>(sa + S_CURSOR_SEQ);
    this.copy = heap.alloc(<usize>recordLength(ring.maxMessage));
  }

  /** Is position p still intact: (bc_intent − C − p) as i32 ≤ 0. SeqCst load of bc_intent, after the copy's loads. */
  @inline intact(p: u32): bool {
    return <i32>(atomic.load<u32>(this.ring.base + BC_INTENT) - this.ring.cap - p) <= 0;
  }

  hasData(): bool {
    return <i32>(atomic.load<u32>(this.ring.base + TAIL) - this.readPos) > 0;
  }

  /** Address of the copied payload (len in `length`, loss in `gap`), 0 when none, E_CORRUPT (< 0) on a bad record. */
  receive(): i64 {
    const r = this.ring;
    for (;;) {
      let p = this.readPos;
      // load_acquire(tail): pairs with the publisher's tail store.
      let t = atomic.load<u32>(r.base + TAIL);
      if (<i32>(t - p) <= 0) return 0;
      if (!this.intact(p)) {
        // Lapped: jump to the newest committed record (load_acquire(bc_last)).
        p = atomic.load<u32>(r.base + BC_LAST);
        t = p + r.cap;
        this.readPos = p;
        this.lapped = true;
      }
      const o = r.data + <usize>(p & r.mask);
      const w = load<u32>(o + R_LEN_STATE);
      const length = w & ~7;
      const state = w & 7;
      const avail = t - p;
      if (state == REC_PADDING) {
        const pos = load<u32>(o + R_POS);
        if (!this.intact(p)) continue;
        if (pos != p || length < 8 || length > avail) return E_CORRUPT;
        this.readPos = p + length;
        continue;
      }
      const plen = load<u32>(o + R_PAYLOAD_LEN);
      if (state != REC_COMMITTED || plen > r.maxMessage || length < RECORD_HEADER + plen || length > avail) {
        if (!this.intact(p)) continue;
        return E_CORRUPT;
      }
      memory.copy(this.copy, o, <usize>(RECORD_HEADER + plen));
      // Load-load order: the SeqCst load of bc_intent in intact() follows the copy's loads.
      if (!this.intact(p)) continue;
      const c = this.copy;
      if (load<u32>(c + R_POS) != p || load<u32>(c + R_PAYLOAD_LEN) != plen) return E_CORRUPT;
      const seq = load<u32>(c + R_SEQ);
      if (this.lapped) {
        this.gap = seq - this.nextSeq;
        this.lost += this.gap;
        store<u32>(r.slotAddr(this.slot) + S_LOST, this.lost);
        this.lapped = false;
      } else {
        this.gap = 0;
      }
      this.seqKnown = true;
      this.nextSeq = seq + 1;
      this.length = plen;
      this.seq = seq;
      this.sender = load<u32>(c + R_SENDER);
      this.flags = load<u32>(c + R_FLAGS);
      this.readPos = p + length;
      return <i64>(c + RECORD_HEADER);
    }
  }

  /** receive(), waiting up to timeoutMs (§3 on data_futex). */
  receiveWait(timeoutMs: f64): i64 {
    const end = now_ms() + timeoutMs;
    for (;;) {
      const got = this.receive();
      if (got != 0) return got;
      const left = end - now_ms();
      if (left <= 0) return E_TIMED_OUT;
      overwriteWaiting = this;
      this.ring.park(() => overwriteWaiting!.hasData(), DATA_FUTEX, DATA_SLEEPERS, left);
    }
    return E_TIMED_OUT;
  }

  /** Informational for this policy (the publisher never waits): cursor_seq (plain), then the cursor (SeqCst). */
  release(): void {
    const sa = this.ring.slotAddr(this.slot);
    if (this.seqKnown) store<u32>(sa + S_CURSOR_SEQ, this.nextSeq);
    atomic.store<u32>(sa + S_CURSOR, this.readPos);
  }
}
