/**
 * Writer and Reader: the two ends of a ring, whatever its kind. `Ring.join` returns the
 * kind-specific subclass (spsc.ts, mpsc.ts, broadcast.ts). This file holds what they
 * share: cached views of the region, slot bookkeeping and the wait protocol of §3.
 *
 * Offsets: every payload offset handed out is a byte offset into `buffer` (the ring's
 * SharedArrayBuffer), except for broadcast-overwrite readers (see Reader.copyBuffer).
 * A loaned payload area is writable until commit()/abort(); a received payload is
 * readable until release() (until the next receive() for a copy).
 */
import type { Identity } from './identity.js';
import { isAlive } from './identity.js';
import * as L from './layout.js';
import type { Notifier } from './notify.js';
import { inProcessNotifier } from './notify.js';
import type { Ring } from './ring.js';

/** Polls before parking; JS has no sched_yield, so the spin phase is the whole pre-park phase. */
const SPIN_POLLS = 256;
/** Longest single park; the loop re-checks and parks again until the caller's timeout. */
const MAX_PARK_MS = 60_000;
/** Longest park of waitDrainedAsync (readers that never wake the space futex). */
const DRAIN_POLL_MS = 10;

/**
 * How long an endpoint has been held up at one ring position (performance.now()), across
 * wait calls: a publisher blocked at one tail, a consumer stuck at one head. The §6 bounds
 * count from the first time a position was seen held up, since callers wait in slices.
 */
export class Since {
  private pos = -1;
  private start = 0;
  /** Milliseconds held up at `pos`; a new position starts the clock at 0. */
  at(pos: number): number {
    const now = performance.now();
    if (this.pos !== pos) {
      this.pos = pos;
      this.start = now;
    }
    return now - this.start;
  }
  /** Is the clock running for `pos`? */
  on(pos: number): boolean {
    return this.pos === pos;
  }
  reset(): void {
    this.pos = -1;
  }
}

export abstract class Endpoint {
  readonly ring: Ring;
  readonly buffer: SharedArrayBuffer;
  /** 1-based participant slot. */
  readonly slot: number;
  readonly identity: Identity;
  /** Used for the wakes the hot path issues (commit, release). Set by join, or by any wait call. */
  notifier: Notifier;
  protected readonly base: number;
  protected readonly i32: Int32Array;
  protected readonly dv: DataView;
  protected readonly u8: Uint8Array;
  protected readonly data: number;
  protected readonly cap: number;
  protected readonly mask: number;
  protected readonly slotOff: number;
  protected closed = false;

  constructor(ring: Ring, slot: number, identity: Identity, notifier: Notifier | undefined) {
    this.ring = ring;
    this.buffer = ring.buffer;
    this.slot = slot;
    this.identity = identity;
    this.notifier = notifier ?? inProcessNotifier;
    this.base = ring.byteOffset;
    this.i32 = ring.i32;
    this.dv = ring.dv;
    this.u8 = ring.u8;
    this.data = ring.dataOffset;
    this.cap = ring.capacity;
    this.mask = ring.capacity - 1;
    this.slotOff = L.slotOffset(slot);
  }

  /** Frees the slot (§5); the endpoint is unusable afterwards. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ring.freeSlot(this.slot, L.SLOT_ACTIVE);
  }

  protected anyAlive(role: number): boolean {
    for (const p of this.ring.slotsWithRole(role)) if (isAlive(p.pid, p.startTime)) return true;
    return false;
  }

  /**
   * The §3 park protocol on one futex word (`futex`) and its sleeper count (`sleepers`),
   * both offsets in the notify line. The sleeper increment, the futex load and the
   * re-check are SeqCst (JS Atomics), pairing with the waker's SeqCst publish and its
   * SeqCst sleeper load (wakeData / wakeSpace): either the waker sees sleepers ≠ 0, or the
   * re-check sees the new state. `ready` must not consume anything.
   */
  protected park(ready: () => boolean, idle: (blockedMs: number) => number, futex: number, sleepers: number, timeoutMs: number, notifier: Notifier): 'ok' | 'timed-out' {
    this.notifier = notifier;
    for (let i = 0; i < SPIN_POLLS; i++) if (ready()) return 'ok';
    const start = performance.now();
    const i32 = this.i32;
    for (;;) {
      if (ready()) return 'ok';
      const now = performance.now();
      const capMs = idle(now - start);
      if (ready()) return 'ok';
      const left = start + timeoutMs - now;
      if (left <= 0) return 'timed-out';
      Atomics.add(i32, sleepers >> 2, 1);
      const f = Atomics.load(i32, futex >> 2);
      if (!ready()) notifier.wait(this.buffer, this.base + futex, f, Math.max(0, Math.min(left, capMs, MAX_PARK_MS)));
      Atomics.sub(i32, sleepers >> 2, 1);
    }
  }

  /**
   * The async park. `signal` cuts it short: its abort listener bumps and wakes this very
   * futex word (a spurious wake-up for any other waiter on it, which §3 tolerates: every
   * waiter re-checks), so the pending wait (Atomics.waitAsync, or the native addon's
   * futex wait on its waiter thread, which can not be cancelled otherwise) returns at
   * once; the park then rejects with `signal.reason` and removes the listener. An
   * already-aborted signal rejects before parking. `stop` (SDK-internal) ends the park
   * like readiness does, when it turns true and the futex is woken.
   */
  protected parkAsync(
    ready: () => boolean,
    idle: (blockedMs: number) => number,
    futex: number,
    sleepers: number,
    timeoutMs: number,
    notifier: Notifier,
    signal?: AbortSignal,
    stop?: () => boolean,
  ): Promise<'ok' | 'timed-out'> {
    this.notifier = notifier;
    if (signal === undefined) return this.parkLoop(ready, idle, futex, sleepers, timeoutMs, notifier, undefined, stop);
    return this.parkAbortable(ready, idle, futex, sleepers, timeoutMs, notifier, signal, stop);
  }

  private async parkAbortable(
    ready: () => boolean,
    idle: (blockedMs: number) => number,
    futex: number,
    sleepers: number,
    timeoutMs: number,
    notifier: Notifier,
    signal: AbortSignal,
    stop: (() => boolean) | undefined,
  ): Promise<'ok' | 'timed-out'> {
    signal.throwIfAborted();
    if (ready()) return 'ok';
    const onAbort = () => this.kick(futex, notifier);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.parkLoop(ready, idle, futex, sleepers, timeoutMs, notifier, signal, stop);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private async parkLoop(
    ready: () => boolean,
    idle: (blockedMs: number) => number,
    futex: number,
    sleepers: number,
    timeoutMs: number,
    notifier: Notifier,
    signal: AbortSignal | undefined,
    stop: (() => boolean) | undefined,
  ): Promise<'ok' | 'timed-out'> {
    const start = performance.now();
    const i32 = this.i32;
    for (;;) {
      if (ready()) return 'ok';
      if (signal?.aborted) throw signal.reason;
      if (stop?.()) return 'ok';
      const now = performance.now();
      const capMs = idle(now - start);
      if (ready()) return 'ok';
      const left = start + timeoutMs - now;
      if (left <= 0) return 'timed-out';
      Atomics.add(i32, sleepers >> 2, 1);
      const f = Atomics.load(i32, futex >> 2);
      try {
        if (!ready() && !signal?.aborted && !stop?.()) await notifier.waitAsync(this.buffer, this.base + futex, f, Math.max(0, Math.min(left, capMs, MAX_PARK_MS)));
      } finally {
        Atomics.sub(i32, sleepers >> 2, 1);
      }
    }
  }

  /**
   * Bumps futex word `futex` (an offset in the notify line) and wakes every waiter on it:
   * how an abort or a stop ends a pending park of this process. Other waiters see a
   * spurious wake-up and park again (§3).
   */
  kick(futex: number, notifier: Notifier = this.notifier): void {
    Atomics.add(this.i32, futex >> 2, 1);
    notifier.wake(this.buffer, this.base + futex, 0x7fffffff);
  }

  /**
   * Waker side of §3 for data. Called right after the SeqCst publish (tail store or
   * commit cas): the SeqCst load of data_sleepers pairs with the waiter's increment.
   */
  protected wakeData(): void {
    const i32 = this.i32;
    if (Atomics.load(i32, L.DATA_SLEEPERS >> 2) !== 0) {
      Atomics.add(i32, L.DATA_FUTEX >> 2, 1);
      this.notifier.wake(this.buffer, this.base + L.DATA_FUTEX, 0x7fffffff);
    }
  }

  /** @internal Waker side of §3 for space, after the SeqCst release of head / a cursor (also a subscriber's join, §4.3). */
  wakeSpace(): void {
    const i32 = this.i32;
    if (Atomics.load(i32, L.SPACE_SLEEPERS >> 2) !== 0) {
      Atomics.add(i32, L.SPACE_FUTEX >> 2, 1);
      this.notifier.wake(this.buffer, this.base + L.SPACE_FUTEX, 0x7fffffff);
    }
  }
}


export abstract class Writer extends Endpoint {
  /**
   * Payload byte offset in `buffer` with room for n bytes, or -1 when the ring is full.
   * Throws RingError TOO_LARGE when n > maxMessage. Allocates nothing.
   */
  abstract loan(n: number): number;
  /** Publishes the loaned record with `len` ≤ loaned bytes of payload. */
  abstract commit(len: number, correlation?: bigint, flags?: number): void;
  /** Forgets the loan (SPSC/broadcast) or commits it as padding (MPSC). */
  abstract abort(): void;
  /** Would a loan of n bytes succeed now? Consumes nothing. */
  abstract hasSpace(n: number): boolean;
  /** Is the peer (the consumer, or any subscriber) alive? Slow path. */
  abstract peerAlive(): boolean;
  /**
   * Bytes committed to the ring and not yet released by its slowest reader (the consumer,
   * or the subscriber farthest behind; a lapped overwrite subscriber counts as a full
   * ring). 0 when every reader has caught up, or when there is no subscriber. Slow path.
   */
  abstract unread(): number;

  /** Slow-path hook while blocked; returns the longest park before it wants to run again. */
  protected blocked(_blockedMs: number): number {
    return MAX_PARK_MS;
  }

  waitSpace(n: number, timeoutMs: number, notifier: Notifier): 'ok' | 'timed-out' {
    return this.park(() => this.hasSpace(n), (ms) => this.blocked(ms), L.SPACE_FUTEX, L.SPACE_SLEEPERS, timeoutMs, notifier);
  }

  /** Waits up to `timeoutMs` for room for n bytes; `signal` aborts (rejecting with its reason), see parkAsync. */
  waitSpaceAsync(n: number, timeoutMs: number, notifier: Notifier, signal?: AbortSignal): Promise<'ok' | 'timed-out'> {
    return this.parkAsync(() => this.hasSpace(n), (ms) => this.blocked(ms), L.SPACE_FUTEX, L.SPACE_SLEEPERS, timeoutMs, notifier, signal);
  }

  /**
   * Waits until unread() is 0. Parks on the space futex that every release wakes (§3);
   * overwrite subscribers do not wake it, so each park is capped at DRAIN_POLL_MS. Dead
   * readers are dropped after unblock_ns as in a blocked loan (blocked()).
   */
  waitDrainedAsync(timeoutMs: number, notifier: Notifier, signal?: AbortSignal): Promise<'ok' | 'timed-out'> {
    return this.parkAsync(() => this.unread() === 0, (ms) => Math.min(this.blocked(ms), DRAIN_POLL_MS), L.SPACE_FUTEX, L.SPACE_SLEEPERS, timeoutMs, notifier, signal);
  }
}

export abstract class Reader extends Endpoint {
  /** Payload length of the record last received. */
  length = 0;
  seq = 0;
  sender = 0;
  flags = 0;
  /** Broadcast overwrite: messages lost just before the record last received; 0 otherwise. */
  gap = 0;
  /** False only for broadcast-overwrite readers, whose payloads are copies in `copyBuffer`. */
  readonly inShared: boolean = true;
  /** The private buffer receive() offsets point into when `inShared` is false. */
  readonly copyBuffer: ArrayBuffer | null = null;

  /** Payload offset of the next record, or -1 when none is ready. Does not release. */
  abstract receive(): number;
  /** Releases every record received so far; the producer sees the space at once. */
  abstract release(): void;
  /**
   * Releases every record received so far, like release(), but may publish that to the
   * producer later (docs/ring.md §4.1: a consumer may release several records at once):
   * at the latest when receive() or hasData() next find the ring empty, or on release(),
   * flush() or close(). Views of the released records are invalid at once. For consumers
   * that keep receiving; kinds without a lazy path release eagerly.
   */
  releaseLazy(): void {
    this.release();
  }
  /** Publishes what releaseLazy() held back. */
  flush(): void {}
  /** Is a record (or padding to skip) ready? Consumes nothing. */
  abstract hasData(): boolean;
  abstract get correlation(): bigint;
  abstract peerAlive(): boolean;

  /** MPSC consumer: §6 recovery when head has been stuck ≥ unblock_ns. Other kinds: false. */
  recover(): boolean {
    return false;
  }

  protected idle(_blockedMs: number): number {
    return MAX_PARK_MS;
  }

  waitData(timeoutMs: number, notifier: Notifier): 'ok' | 'timed-out' {
    return this.park(() => this.hasData(), (ms) => this.idle(ms), L.DATA_FUTEX, L.DATA_SLEEPERS, timeoutMs, notifier);
  }

  /**
   * Waits up to `timeoutMs` for a record; `signal` aborts (rejecting with its reason), see
   * parkAsync. `stop` ends the wait early ('ok', nothing ready) once it is true and
   * kickData() woke the futex.
   */
  waitDataAsync(timeoutMs: number, notifier: Notifier, signal?: AbortSignal, stop?: () => boolean): Promise<'ok' | 'timed-out'> {
    return this.parkAsync(() => this.hasData(), (ms) => this.idle(ms), L.DATA_FUTEX, L.DATA_SLEEPERS, timeoutMs, notifier, signal, stop);
  }

  /** Ends this ring's pending data waits (a spurious wake-up for each, §3). */
  kickData(): void {
    this.kick(L.DATA_FUTEX);
  }
}

