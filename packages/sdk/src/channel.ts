/**
 * What every channel shares: the message class contract, counters, the ring
 * create/open/join logic with stale-entry cleanup, and the receive loop (`Inbox`) that
 * verifies messages, reports gaps and routes invalid ones.
 */
import { EventEmitter } from 'node:events';
import type { MessageCore, VerifyError } from '@isthmus/runtime';
import { ClosedError, IsthmusError, InvalidMessageError, NotFoundError } from './errors.js';
import { formatRing, markReady, Ring, RingError, regionSize, type Identity, type Notifier, type Reader, type RingParams, type Writer } from './ring/index.js';
import { CounterSet } from './counters.js';
import { whereFor, type Region, type Transport } from './transport.js';

/** A generated message class (`BookUpdate`, …): what channels need from it. */
export interface MessageClass<T extends MessageCore = MessageCore> {
  readonly NAME: string;
  readonly TYPE_ID: bigint;
  readonly FIXED_SIZE: number;
  new (): T;
  view(bytes: Uint8Array, offset?: number, length?: number): T;
  verify(bytes: Uint8Array, offset?: number, length?: number): VerifyError | null;
}

/** What to do with a received message that fails verify(). */
export type OnInvalid = 'dead-letter' | 'drop' | 'throw';

/** Counters of one channel end, since it was opened. */
export interface ChannelStats {
  /** Messages this end committed to a ring. */
  sent: number;
  /** Messages this end delivered to the application (valid ones). */
  received: number;
  /** Payload bytes sent / received. */
  bytesSent: number;
  bytesReceived: number;
  /** Times a send found the ring full (backpressure events). */
  full: number;
  /** Invalid messages routed to the dead-letter ring (or dropped, or thrown, by policy). */
  invalid: number;
  /** Of those, how many were written to the dead-letter ring. */
  deadLetters: number;
  /** Messages lost to overwriting before this subscriber read them (gaps). */
  lost: number;
  /** Requests or responses that could not be delivered (client gone, its ring full). */
  dropped: number;
  /** Error responses sent (server) or received (client). */
  rejected: number;
  /** Calls that timed out (client). */
  timeouts: number;
}

/** Written by the dead-letter sink; implemented in deadletter.ts. */
export interface DeadLetterSink {
  /** Records an invalid message; returns whether it reached the dead-letter ring. Never throws, never blocks. */
  write(channel: string, typeId: bigint, code: string, path: string, offset: number, reason: string, payload: Uint8Array, senderSlot: number): boolean;
}

/** Node internals that channels use. */
export interface NodeContext {
  readonly transport: Transport;
  readonly identity: Identity;
  readonly onInvalid: OnInvalid;
  readonly deadLetters: DeadLetterSink;
  /** Registers an open channel end for node.stats() and node.close(). */
  track(ch: Channel): void;
  untrack(ch: Channel): void;
}

/** Base of every channel end: a name, counters, events, close(). */
export abstract class Channel extends EventEmitter {
  readonly name: string;
  /** @internal The counters, which the node moves into its counters region (counters.ts). */
  readonly _counters = new CounterSet();
  protected readonly _stats: ChannelStats = this._counters;
  protected _closed = false;
  abstract readonly role: string;
  constructor(name: string) {
    super();
    this.name = name;
  }
  /** A snapshot of this end's counters. */
  stats(): ChannelStats {
    return this._counters.snapshot();
  }
  get closed(): boolean {
    return this._closed;
  }
  abstract close(): void;
  /** `using sub = await node.subscriber(…)` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }
  protected checkOpen(): void {
    if (this._closed) throw new ClosedError(this.name);
  }
}

/**
 * Loans from `w`, lets `fill` set the fields, sends: the body of every trySend(). False
 * (nothing sent) when there is no room; a `fill` that throws aborts the loan and rethrows.
 */
export function loanFillSend<T>(w: { tryLoan(): T | null; send(m: T): void; abort(): void }, fill: (m: T) => void): boolean {
  const m = w.tryLoan();
  if (!m) return false;
  try {
    fill(m);
  } catch (err) {
    w.abort();
    throw err;
  }
  w.send(m);
  return true;
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const noop = () => {};
/** setTimeout's largest delay (a longer one fires at once, with a warning). */
const MAX_TIMER_MS = 0x7fffffff;
/**
 * Awaits an asynchronous ring wait while holding the event loop open: a pending
 * Atomics.waitAsync does not keep Node alive (a worker_thread whose only work is such a
 * wait would exit). Costs one timer per wait, on the slow path only (the ring was empty).
 *
 * With `signal` (the same one the wait was given: the ring's park then ends its futex
 * wait itself on abort, endpoint.ts parkAsync), the result rejects with `signal.reason`
 * the moment the signal aborts, and the timer is cleared then; the abort listener is
 * removed when it settles either way.
 */
export function held<T>(wait: Promise<T>, ms: number, signal?: AbortSignal): Promise<T> {
  if (signal === undefined) return heldOpen(wait, ms);
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(noop, Math.min(ms + 50, MAX_TIMER_MS));
    const settle = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      settle();
      reject(signal.reason);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    // After an abort the wait still settles (rejecting with the reason, or 'ok' if data
    // came at that moment): absorbed here, nothing consumed.
    wait.then(
      (v) => {
        settle();
        resolve(v);
      },
      (e: unknown) => {
        settle();
        reject(e);
      },
    );
  });
}

async function heldOpen<T>(wait: Promise<T>, ms: number): Promise<T> {
  const t = setTimeout(noop, Math.min(ms + 50, MAX_TIMER_MS));
  try {
    return await wait;
  } finally {
    clearTimeout(t);
  }
}

/** What every waiting call takes: a timeout, and an AbortSignal that cancels the wait. */
export interface WaitOptions {
  timeoutMs?: number;
  /** Aborting rejects the wait with `signal.reason` (an already-aborted signal: at once, doing nothing). */
  signal?: AbortSignal;
}

/** The `timeoutMs | { timeoutMs, signal }` argument of receive(), ready(), flush(). */
export function waitArgs(arg: number | WaitOptions | undefined, defaultMs: number): { timeoutMs: number; signal: AbortSignal | undefined } {
  if (typeof arg === 'number' || arg === undefined) return { timeoutMs: arg ?? defaultMs, signal: undefined };
  return { timeoutMs: arg.timeoutMs ?? defaultMs, signal: arg.signal };
}

/** sleep(ms) that an AbortSignal cuts short (rejecting with its reason, the timer cleared). */
export function sleepAbortable(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return sleep(ms);
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A ring joined by this process. */
export interface Joined<E> {
  region: Region;
  ring: Ring;
  end: E;
  created: boolean;
}

function ringErr(name: string, err: unknown): never {
  if (err instanceof RingError) {
    if (err.code === 'ROLE_TAKEN') throw new IsthmusError('ROLE_TAKEN', `${name}: ${err.message}`, name, { cause: err });
    throw new IsthmusError('TRANSPORT', `${name}: ${err.message}`, name, { cause: err });
  }
  throw err;
}

/** Does any live process hold a slot? Frees the slots of dead ones first (docs/ring.md §5). */
export function hasLiveParticipant(ring: Ring): boolean {
  ring.sweep();
  return ring.participants().some((p) => p.alive);
}

/** Opens region `name` as a ring; null when absent. Throws on a header that fails its checks. */
export function openRing(t: Transport, name: string, typeId?: bigint): { region: Region; ring: Ring } | null {
  const region = t.open(name);
  if (!region) return null;
  try {
    return { region, ring: Ring.open(region.buffer, region.byteOffset, region.byteLength, typeId) };
  } catch (err) {
    region.close();
    if (err instanceof RingError && err.code === 'TYPE_MISMATCH') {
      throw new IsthmusError('BAD_ARGUMENT', `${name}: the ring carries another message type (${err.message})`, name, { cause: err });
    }
    ringErr(name, err);
  }
}

/** Joins with the transport's notifier, which the ring uses for the wakes its hot path issues. */
function join(ring: Ring, role: 'producer' | 'publisher' | 'consumer' | 'subscriber', id: Identity, notifier: Notifier): Writer | Reader {
  return role === 'producer' || role === 'publisher' ? ring.join(role, id, notifier) : ring.join(role, id, notifier);
}

/**
 * Creates ring `name` with `params` and joins it with `role`, or joins the existing one.
 * An existing region with no live participant is stale: it is removed and created
 * afresh (with this caller's parameters). `replace(ring)` may declare an existing, live
 * region unusable too (a response ring whose consumer is dead).
 */
export function acquireRing<E extends Writer | Reader>(
  ctx: NodeContext,
  name: string,
  params: RingParams,
  role: 'producer' | 'publisher' | 'consumer' | 'subscriber',
  replace?: (ring: Ring) => boolean,
): Joined<E> {
  const t = ctx.transport;
  for (let attempt = 0; attempt < 50; attempt++) {
    let ring: Ring | undefined;
    let end: E | undefined;
    const region = t.create(name, regionSize(params), (r) => {
      try {
        formatRing(r.buffer, r.byteOffset, params, ctx.identity, nowNs());
        markReady(r.buffer, r.byteOffset);
        ring = Ring.open(r.buffer, r.byteOffset, r.byteLength, params.typeId);
        end = join(ring, role, ctx.identity, t.notifier) as E;
      } catch (err) {
        ringErr(name, err);
      }
    });
    if (region) return { region, ring: ring!, end: end!, created: true };
    const o = openRing(t, name, params.typeId);
    if (!o) continue; // removed between our create and open: try again
    if (o.ring.kind !== params.kind) {
      o.region.close();
      throw new IsthmusError('BAD_ARGUMENT', `${name}: exists as a ${o.ring.kind} ring, wanted ${params.kind}`, name);
    }
    if (!hasLiveParticipant(o.ring) || replace?.(o.ring)) {
      t.remove(name, o.region);
      o.region.close();
      continue;
    }
    try {
      return { region: o.region, ring: o.ring, end: join(o.ring, role, ctx.identity, t.notifier) as E, created: false };
    } catch (err) {
      o.region.close();
      ringErr(name, err);
    }
  }
  throw new IsthmusError('TRANSPORT', `${name}: could not create or open the region (it kept changing under us)`, name);
}

/** Waits up to `waitMs` for ring `name` to exist, then joins it with `role`. */
export async function awaitRing<E extends Writer | Reader>(
  ctx: NodeContext,
  name: string,
  channel: string,
  typeId: bigint | undefined,
  role: 'producer' | 'consumer' | 'subscriber',
  waitMs: number,
  signal?: AbortSignal,
): Promise<Joined<E>> {
  const deadline = Date.now() + waitMs;
  let pause = 5;
  for (;;) {
    signal?.throwIfAborted();
    const o = openRing(ctx.transport, name, typeId);
    if (o) {
      try {
        return { region: o.region, ring: o.ring, end: join(o.ring, role, ctx.identity, ctx.transport.notifier) as E, created: false };
      } catch (err) {
        o.region.close();
        ringErr(channel, err);
      }
    }
    if (Date.now() >= deadline) throw new NotFoundError(channel, waitMs, whereFor(ctx.transport, channel));
    await sleepAbortable(Math.min(pause, Math.max(1, deadline - Date.now())), signal);
    pause = Math.min(pause * 2, 100);
  }
}

export interface InboxOptions {
  onInvalid: OnInvalid;
  /** Verify every message before handing it out (default true). */
  verify: boolean;
  /** Called for each invalid record while it is still held (the reader's sender/correlation are its own). */
  hook?: (code: string, reason: string) => void;
}

/**
 * The receiving side of one ring: hands out zero-copy views, one reused view object.
 * A view stays valid until the next receive or `release()`: the record is released then.
 */
export class Inbox<T extends MessageCore> {
  readonly view: T;
  private readonly shared: Uint8Array;
  private copyU8: Uint8Array | undefined;
  private copyBuf: ArrayBuffer | undefined;
  private held = false;
  /** Sender slot and flags of the message last handed out. */
  sender = 0;
  flags = 0;
  /** The raw payload of the last record (for error responses). */
  lastOffset = 0;
  lastLength = 0;
  lastBytes: Uint8Array;

  constructor(
    private readonly ctx: NodeContext,
    private readonly channel: Channel,
    private readonly stats: ChannelStats,
    readonly reader: Reader,
    readonly ring: Ring,
    private readonly type: MessageClass<T>,
    private readonly opts: InboxOptions,
  ) {
    this.view = new type();
    this.shared = new Uint8Array(ring.buffer);
    this.lastBytes = this.shared;
  }

  release(): void {
    if (this.held) {
      this.held = false;
      this.reader.release(); // wakes blocked writers (§3) through the join notifier
    }
  }

  /**
   * The next valid message, or null when the ring is empty. Releases the previous one.
   * Invalid messages are routed by policy and skipped (with 'throw', thrown after release).
   */
  tryReceive(): T | null {
    this.release();
    const r = this.reader;
    for (;;) {
      let off: number;
      try {
        off = r.receive();
      } catch (err) {
        // A record header that fails the §4.1 checks: the writer is broken or hostile and
        // the next record boundary is unknown. The ring can not be read any further.
        if (err instanceof RingError) throw new IsthmusError('CORRUPT', `${this.channel.name}: ${err.message}`, this.channel.name, { cause: err });
        throw err;
      }
      if (off < 0) return null;
      const gap = r.gap;
      if (gap > 0) {
        this.stats.lost += gap;
        if (this.channel.listenerCount('gap') > 0) this.channel.emit('gap', gap);
      }
      // Broadcast overwrite: the payload is the reader's private copy, not the shared ring.
      let bytes = this.shared;
      if (!r.inShared && r.copyBuffer) {
        if (r.copyBuffer !== this.copyBuf) {
          this.copyBuf = r.copyBuffer;
          this.copyU8 = new Uint8Array(r.copyBuffer);
        }
        bytes = this.copyU8!;
      }
      const len = r.length;
      this.held = true;
      this.sender = r.sender;
      this.flags = r.flags;
      this.lastOffset = off;
      this.lastLength = len;
      this.lastBytes = bytes;
      const err = this.opts.verify ? (len < 16 ? null : this.type.verify(bytes, off, len)) : null;
      if (len < 16 || err) {
        const code = err ? err.code : 'TRUNCATED';
        const reason = err ? err.message : `record of ${len} bytes cannot hold a message header (16 bytes)`;
        this.invalid(code, err?.path ?? '', err?.offset ?? 0, reason, bytes.subarray(off, off + len), err);
        continue;
      }
      this.view.wrap(bytes, off, len);
      this.stats.received++;
      this.stats.bytesReceived += len;
      return this.view;
    }
  }

  /** Handles one invalid record (already held): policy, counters, event; releases it. */
  private invalid(code: string, path: string, offset: number, reason: string, payload: Uint8Array, err: VerifyError | null): void {
    this.stats.invalid++;
    const policy = this.opts.onInvalid;
    if (this.opts.hook) {
      try {
        this.opts.hook(code, reason);
      } catch {
        /* the hook is best effort (an error response to a client that is gone) */
      }
    }
    if (policy === 'dead-letter') {
      if (this.ctx.deadLetters.write(this.channel.name, this.type.TYPE_ID, code, path, offset, reason, payload, this.sender)) this.stats.deadLetters++;
    }
    if (this.channel.listenerCount('invalid') > 0) this.channel.emit('invalid', { code, path, offset, reason, sender: this.sender });
    this.release();
    if (policy === 'throw') throw new InvalidMessageError(this.channel.name, reason, err);
  }

  /** Reports a record the caller found invalid itself (not through verify). */
  reject(code: string, reason: string): void {
    this.invalid(code, '', 0, reason, this.lastBytes.subarray(this.lastOffset, this.lastOffset + this.lastLength), null);
  }

  /**
   * Waits up to `timeoutMs` for the next valid message; null on timeout or close.
   * Waits in slices so that close() is noticed promptly.
   */
  async receive(timeoutMs: number, isClosed: () => boolean, notifier: Notifier, signal?: AbortSignal): Promise<T | null> {
    const deadline = timeoutMs === Infinity ? Infinity : Date.now() + timeoutMs;
    for (;;) {
      signal?.throwIfAborted();
      if (isClosed()) return null;
      const v = this.tryReceive();
      if (v) return v;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      const ms = Math.min(left, 200);
      await held(this.reader.waitDataAsync(ms, notifier, signal), ms, signal);
    }
  }
}

/** Byte offsets of the notify line (docs/ring.md §1.2). */
const DATA_FUTEX = 256;
const DATA_SLEEPERS = 260;
const SPACE_FUTEX = 264;
const SPACE_SLEEPERS = 268;

/**
 * The waker's half of docs/ring.md §3, for the SDK's own wake-ups (close() waking its
 * own waiters). Atomics are sequentially consistent, so the sleeper load below cannot
 * be ordered before the caller's publish: either we see the sleeper, or the sleeper's
 * re-check sees the publish.
 */
export function wakeData(ring: Ring, i32: Int32Array, notifier: Notifier, force = false): void {
  const base = ring.byteOffset;
  if (force || Atomics.load(i32, (base + DATA_SLEEPERS) >> 2) !== 0) {
    Atomics.add(i32, (base + DATA_FUTEX) >> 2, 1);
    notifier.wake(ring.buffer, base + DATA_FUTEX, 0x7fffffff);
  }
}
export function wakeSpace(ring: Ring, i32: Int32Array, notifier: Notifier, force = false): void {
  const base = ring.byteOffset;
  if (force || Atomics.load(i32, (base + SPACE_SLEEPERS) >> 2) !== 0) {
    Atomics.add(i32, (base + SPACE_FUTEX) >> 2, 1);
    notifier.wake(ring.buffer, base + SPACE_FUTEX, 0x7fffffff);
  }
}

/**
 * Identity of the holder of participant slot `slot` (1-based), read from the slot table
 * (docs/ring.md §1.3: pid at +8, start_time at +16) without allocating: returns the pid
 * and leaves the start time's two halves in `out`. Callers compare it with a cached
 * identity to notice that a slot changed hands.
 */
export function slotIdentity(ring: Ring, i32: Int32Array, slot: number, out: Int32Array): number {
  const w = (ring.byteOffset + 384 + (slot - 1) * 64) >> 2;
  out[0] = Atomics.load(i32, w + 4);
  out[1] = Atomics.load(i32, w + 5);
  return Atomics.load(i32, w + 2);
}
