/**
 * Publish/subscribe over a broadcast ring (docs/ring.md §4.3): one publisher, any
 * number of subscribers, each with its own cursor.
 *
 * Policy, fixed when the ring is created:
 *   'block'     the slowest subscriber holds the publisher back (loan() finds the ring
 *               full); views are zero-copy.
 *   'overwrite' the publisher never waits; a subscriber that falls a lap behind loses
 *               messages (reported as a gap) and reads each message from a private copy.
 */
import type { MessageCore } from '@isthmus/runtime';
import { Channel, loanFillSend, Inbox, acquireRing, awaitRing, held, waitArgs, wakeData, type Joined, type MessageClass, type NodeContext, type OnInvalid, type WaitOptions } from './channel.js';
import { OverloadedError, TimeoutError } from './errors.js';
import type { Reader, Writer } from './ring/index.js';
import { regionNames } from './transport.js';

export interface PublisherOptions {
  /** Bytes in the ring's data area: a power of two ≥ 4096 (default 1 MiB). */
  capacity?: number;
  /** Largest message in bytes (default min(64 KiB, capacity/2 − 32)). */
  maxMessage?: number;
  /** 'block' (default) or 'overwrite'. */
  policy?: 'block' | 'overwrite';
  /** Participant slots: 1 publisher + up to slots − 1 subscribers (default 64). */
  slots?: number;
}

export interface SubscriberOptions {
  /** How long to wait for the channel to appear (default 5000 ms; 0: fail at once). */
  waitMs?: number;
  /** Aborts the wait for the channel to exist (rejecting with the signal's reason). */
  signal?: AbortSignal;
  onInvalid?: OnInvalid;
  /** Verify each message before handing it out (default true). Turn off only for trusted peers. */
  verify?: boolean;
}

export function defaultMaxMessage(capacity: number): number {
  return Math.min(64 * 1024, capacity / 2 - 32);
}

export class Publisher<T extends MessageCore> extends Channel {
  readonly role = 'publisher';
  readonly type: MessageClass<T>;
  readonly capacity: number;
  readonly maxMessage: number;
  readonly policy: 'block' | 'overwrite';
  private readonly j: Joined<Writer>;
  private readonly ctx: NodeContext;
  /** The one builder object every loan() re-points (no allocation per message). */
  private readonly msg: T;
  private loaned = false;

  /** @internal Use node.publisher(). */
  constructor(ctx: NodeContext, name: string, type: MessageClass<T>, j: Joined<Writer>) {
    super(name);
    this.ctx = ctx;
    this.type = type;
    this.j = j;
    this.capacity = j.ring.capacity;
    this.maxMessage = j.ring.maxMessage;
    this.policy = j.ring.policy;
    this.msg = new type();
  }

  /**
   * A builder over the ring's next free bytes (the same object each time): set fields,
   * then send(). Returns null when the ring is full (block policy, slow subscriber).
   * Only one loan at a time.
   */
  tryLoan(): T | null {
    this.checkOpen();
    if (this.loaned) throw new Error(`${this.name}: loan() called twice without send() or abort()`);
    const off = this.j.end.loan(this.maxMessage);
    if (off < 0) {
      this.stats_full();
      return null;
    }
    this.loaned = true;
    return this.msg.build(this.j.ring.buffer, off, this.maxMessage);
  }

  /** Like tryLoan(), but throws OverloadedError when the ring is full. */
  loan(): T {
    const m = this.tryLoan();
    if (!m) throw new OverloadedError(this.name, 'ring is full: a subscriber is behind (block policy)');
    return m;
  }

  /** Seals the loaned message (finish()) and publishes it. */
  send(m: T): void {
    if (!this.loaned || m !== this.msg) throw new Error(`${this.name}: send() needs the message returned by loan()`);
    let len: number;
    try {
      len = m.finish();
    } catch (err) {
      this.abort();
      throw err;
    }
    this.j.end.commit(len);
    this.loaned = false;
    this._stats.sent++;
    this._stats.bytesSent += len;
  }

  /** Forgets the current loan; nothing is published. */
  abort(): void {
    if (this.loaned) {
      this.loaned = false;
      this.j.end.abort();
    }
  }

  /** Loans, lets `fill` set the fields, sends. False (nothing sent) when the ring is full. */
  trySend(fill: (m: T) => void): boolean {
    return loanFillSend(this, fill);
  }

  /**
   * Like trySend, but waits up to `timeoutMs` (default 1000) for room; TimeoutError after.
   * `signal` aborts the wait (rejecting with its reason; nothing is sent).
   */
  async sendAsync(fill: (m: T) => void, opts: WaitOptions = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 1000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      opts.signal?.throwIfAborted();
      if (this.trySend(fill)) return;
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(this.name, timeoutMs, 'no room in the ring');
      const ms = Math.min(left, 200);
      await held(this.j.end.waitSpaceAsync(this.maxMessage, ms, this.ctx.transport.notifier, opts.signal), ms, opts.signal);
    }
  }

  /** Waits up to `timeoutMs` (default 1000) until a loan would succeed; false on timeout. `{ timeoutMs, signal }` also works. */
  async ready(arg: number | WaitOptions = 1000): Promise<boolean> {
    const { timeoutMs, signal } = waitArgs(arg, 1000);
    signal?.throwIfAborted();
    return (await held(this.j.end.waitSpaceAsync(this.maxMessage, timeoutMs, this.ctx.transport.notifier, signal), timeoutMs, signal)) === 'ok';
  }

  /**
   * Waits up to `timeoutMs` (default 1000) until every subscriber has read every message
   * sent so far; false on timeout. Await it before close() when the last messages must
   * arrive. On shared memory a closed publisher's messages stay readable in the ring
   * anyway; over a network transport they wait in this process's copy of the ring until
   * the link forwards them, and closing the node drops what is still there. Subscribers
   * that die are dropped after the ring's unblock timeout, as for a blocked send.
   * `{ timeoutMs, signal }` also works; an abort rejects with the signal's reason.
   */
  async flush(arg: number | WaitOptions = 1000): Promise<boolean> {
    this.checkOpen();
    const { timeoutMs, signal } = waitArgs(arg, 1000);
    signal?.throwIfAborted();
    return (await held(this.j.end.waitDrainedAsync(timeoutMs, this.ctx.transport.notifier, signal), timeoutMs, signal)) === 'ok';
  }

  /** Live subscribers (slow path: reads the participant table and checks liveness). */
  subscribers(): number {
    return this.j.ring.participants().filter((p) => p.role === 'subscriber' && p.alive).length;
  }

  private stats_full(): void {
    this._stats.full++;
    if (this.listenerCount('full') > 0) this.emit('full');
  }

  close(): void {
    if (this._closed) return;
    this.abort();
    this._closed = true;
    this.j.end.close();
    this.j.region.close();
    this.ctx.untrack(this);
  }
}

/**
 * A subscriber. `for await (const m of sub)` yields zero-copy views (one reused object),
 * valid until the next iteration; `tryReceive()` polls. Events: 'gap' (n lost messages,
 * overwrite policy), 'invalid' (a message failed verify()).
 */
export class Subscriber<T extends MessageCore> extends Channel implements AsyncIterable<T> {
  readonly role = 'subscriber';
  readonly type: MessageClass<T>;
  private readonly j: Joined<Reader>;
  private readonly ctx: NodeContext;
  private readonly inbox: Inbox<T>;

  /** @internal Use node.subscriber(). */
  constructor(ctx: NodeContext, name: string, type: MessageClass<T>, j: Joined<Reader>, opts: SubscriberOptions) {
    super(name);
    this.ctx = ctx;
    this.type = type;
    this.j = j;
    this.inbox = new Inbox(ctx, this, this._stats, j.end, j.ring, type, { onInvalid: opts.onInvalid ?? ctx.onInvalid, verify: opts.verify ?? true });
  }

  /** The next message (a view valid until the next receive or release()), or null when none is waiting. */
  tryReceive(): T | null {
    this.checkOpen();
    return this.inbox.tryReceive();
  }

  /**
   * Waits up to `timeoutMs` (default: forever) for the next message; null on timeout or
   * close. `{ timeoutMs, signal }` also works; an abort rejects with the signal's reason
   * and consumes nothing (the next receive gets the message).
   */
  receive(arg?: number | WaitOptions): Promise<T | null> {
    this.checkOpen();
    const { timeoutMs, signal } = waitArgs(arg, Infinity);
    return this.inbox.receive(timeoutMs, () => this._closed, this.ctx.transport.notifier, signal);
  }

  /**
   * The messages as an async iterable that `signal` ends: `for await (const m of
   * sub.messages({ signal }))`. An abort rejects the pending step with the signal's reason
   * (the loop throws it); each view is valid until the next step.
   */
  async *messages(opts: { signal?: AbortSignal } = {}): AsyncGenerator<T, void, undefined> {
    try {
      for (;;) {
        const m = await this.inbox.receive(Infinity, () => this._closed, this.ctx.transport.notifier, opts.signal);
        if (!m) return;
        yield m;
      }
    } finally {
      if (!this._closed) this.inbox.release();
    }
  }

  /** Releases the message last handed out (its bytes may be reused after this). */
  release(): void {
    this.inbox.release();
  }

  /** Is the publisher alive? (slow path) */
  publisherAlive(): boolean {
    return this.j.end.peerAlive();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.messages();
  }

  close(): void {
    if (this._closed) return;
    this._closed = true;
    this.inbox.release();
    // A pending receive() or for-await wakes up (within its wait slice) and ends.
    wakeData(this.j.ring, new Int32Array(this.j.ring.buffer), this.ctx.transport.notifier, true);
    this.j.end.close();
    this.j.region.close();
    this.ctx.untrack(this);
  }
}

export async function openPublisher<T extends MessageCore>(ctx: NodeContext, name: string, type: MessageClass<T>, opts: PublisherOptions): Promise<Publisher<T>> {
  const capacity = opts.capacity ?? 1 << 20;
  const j = acquireRing<Writer>(
    ctx,
    regionNames.pub(name),
    {
      kind: 'broadcast',
      capacity,
      slots: opts.slots ?? 64,
      maxMessage: opts.maxMessage ?? defaultMaxMessage(capacity),
      typeId: type.TYPE_ID,
      policy: opts.policy ?? 'block',
    },
    'publisher',
  );
  const p = new Publisher(ctx, name, type, j);
  ctx.track(p);
  return p;
}

export async function openSubscriber<T extends MessageCore>(ctx: NodeContext, name: string, type: MessageClass<T>, opts: SubscriberOptions): Promise<Subscriber<T>> {
  const j = await awaitRing<Reader>(ctx, regionNames.pub(name), name, type.TYPE_ID, 'subscriber', opts.waitMs ?? 5000, opts.signal);
  const s = new Subscriber(ctx, name, type, j, opts);
  ctx.track(s);
  return s;
}
