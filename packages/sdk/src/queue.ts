/**
 * A work queue with competing consumers: each message is handled by exactly one worker.
 *
 * Design: every worker owns one MPSC ring, `<name>~q~<k>` (k = the lowest index not held
 * by a live worker). Producers find the workers' rings by listing the transport, join
 * each as a producer, and send round-robin, skipping rings that are full. Every 250 ms a
 * producer re-lists (new workers join the rotation) and drops rings whose worker is dead.
 *
 * A worker releases a message only after its handler returns (or its promise settles),
 * so when a worker dies:
 *   - messages still queued in its ring are not lost: a live worker of the same queue
 *     notices the ring has no live consumer (it looks every 500 ms), takes the consumer
 *     slot over (docs/ring.md §5) and drains it; a new worker starting at that index does
 *     the same;
 *   - the message it was handling when it died is delivered again to the adopting worker
 *     (at-least-once for that one message; exactly-once for all others);
 *   - producers stop sending to it within 250 ms (or at once when its ring is full).
 */
import type { MessageCore } from '@isthmus/runtime';
import { Channel, loanFillSend, Inbox, acquireRing, held, openRing, sleepAbortable, type Joined, type MessageClass, type NodeContext, type OnInvalid, type WaitOptions } from './channel.js';
import { IsthmusError, NotFoundError, OverloadedError, TimeoutError } from './errors.js';
import { RingError, type Reader, type Writer } from './ring/index.js';
import { regionNames, whereFor } from './transport.js';

export interface QueueOptions {
  /** Ring bytes per worker (power of two ≥ 4096; default 256 KiB). Used by workers. */
  capacity?: number;
  /** Largest job (default 4096). Each queued job occupies maxMessage + 32 ring bytes. */
  maxMessage?: number;
  /** Participant slots per worker ring: 1 worker + up to slots − 1 producers (default 64). */
  slots?: number;
  onInvalid?: OnInvalid;
}

interface Target {
  name: string;
  j: Joined<Writer>;
}

export class QueueProducer<T extends MessageCore> extends Channel {
  readonly role = 'queue producer';
  private readonly ctx: NodeContext;
  private readonly type: MessageClass<T>;
  private readonly msg: T;
  private targets: Target[] = [];
  private rr = 0;
  private current: Target | null = null;
  private lastScan = 0;

  /** @internal Use queue.producer(). */
  constructor(ctx: NodeContext, name: string, type: MessageClass<T>) {
    super(name);
    this.ctx = ctx;
    this.type = type;
    this.msg = new type();
    this.refresh();
  }

  /** Live workers this producer sends to. */
  get workers(): number {
    return this.targets.length;
  }

  /** Re-lists the workers' rings: joins new ones, drops those whose worker is dead. */
  refresh(): void {
    this.lastScan = Date.now();
    const prefix = regionNames.queuePrefix(this.name);
    const known = new Set(this.targets.map((t) => t.name));
    this.targets = this.targets.filter((t) => {
      if (t === this.current || t.j.end.peerAlive()) return true;
      t.j.end.close();
      t.j.region.close();
      return false;
    });
    const listed = this.ctx.transport.list();
    const present = new Set(listed);
    // A ring whose name is gone was adopted by another worker (it drains it): stop sending there.
    this.targets = this.targets.filter((t) => {
      if (t === this.current || present.has(t.name)) return true;
      t.j.end.close();
      t.j.region.close();
      return false;
    });
    for (const name of listed) {
      if (!name.startsWith(prefix) || known.has(name)) continue;
      try {
        const o = openRing(this.ctx.transport, name, this.type.TYPE_ID);
        if (!o) continue;
        const w = o.ring.join('producer', this.ctx.identity, this.ctx.transport.notifier);
        const t = { name, j: { region: o.region, ring: o.ring, end: w, created: false } };
        if (!w.peerAlive()) {
          w.close();
          o.region.close();
          continue;
        }
        this.targets.push(t);
      } catch {
        /* a ring being removed, or full of producers: skip it this round */
      }
    }
  }

  /** A builder for the next job on the next worker with room; null when every worker's ring is full (or there is none). */
  tryLoan(): T | null {
    this.checkOpen();
    if (this.current) throw new Error(`${this.name}: loan() called twice without send() or abort()`);
    if (Date.now() - this.lastScan >= 250 || this.targets.length === 0) this.refresh();
    const n = this.targets.length;
    for (let k = 0; k < n; k++) {
      const i = (this.rr + k) % n;
      const t = this.targets[i]!;
      const max = t.j.ring.maxMessage;
      const off = t.j.end.loan(max);
      if (off < 0) continue;
      this.rr = i + 1;
      this.current = t;
      return this.msg.build(t.j.ring.buffer, off, max);
    }
    if (n > 0) {
      this._stats.full++;
      if (this.listenerCount('full') > 0) this.emit('full');
    }
    return null;
  }

  /** Like tryLoan(), but throws OverloadedError (all full) or NotFoundError (no worker). */
  loan(): T {
    const m = this.tryLoan();
    if (m) return m;
    if (this.targets.length === 0) throw new NotFoundError(this.name, 0, `${whereFor(this.ctx.transport, this.name)} (no live worker)`);
    throw new OverloadedError(this.name, `every worker's ring is full (${this.targets.length} workers)`);
  }

  send(m: T): void {
    const t = this.current;
    if (!t || m !== this.msg) throw new Error(`${this.name}: send() needs the message returned by loan()`);
    let len: number;
    try {
      len = m.finish();
    } catch (err) {
      this.abort();
      throw err;
    }
    this.current = null;
    try {
      t.j.end.commit(len);
    } catch (err) {
      if (err instanceof RingError && err.code === 'ABORTED') throw new IsthmusError('TRANSPORT', `${this.name}: the job was aborted by ring recovery (this producer was stalled past the unblock timeout)`, this.name, { cause: err });
      throw err;
    }
    this._stats.sent++;
    this._stats.bytesSent += len;
  }

  abort(): void {
    const t = this.current;
    if (t) {
      this.current = null;
      t.j.end.abort();
    }
  }

  trySend(fill: (m: T) => void): boolean {
    return loanFillSend(this, fill);
  }

  /**
   * Sends, waiting up to `timeoutMs` (default 1000) for a worker with room; TimeoutError
   * after. `signal` aborts the wait (rejecting with its reason; nothing is sent).
   */
  async sendAsync(fill: (m: T) => void, opts: WaitOptions = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 1000;
    const deadline = Date.now() + timeoutMs;
    let pause = 1;
    for (;;) {
      opts.signal?.throwIfAborted();
      if (this.trySend(fill)) return;
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(this.name, timeoutMs, this.targets.length ? 'no worker had room' : 'no live worker');
      const t = this.targets[this.rr % Math.max(1, this.targets.length)];
      if (t) {
        const ms = Math.min(left, 20);
        await held(t.j.end.waitSpaceAsync(t.j.ring.maxMessage, ms, this.ctx.transport.notifier, opts.signal), ms, opts.signal);
      } else await sleepAbortable(Math.min(left, pause), opts.signal);
      pause = Math.min(pause * 2, 50);
    }
  }

  close(): void {
    if (this._closed) return;
    this.abort();
    this._closed = true;
    for (const t of this.targets) {
      t.j.end.close();
      t.j.region.close();
    }
    this.targets = [];
    this.ctx.untrack(this);
  }
}

/** The handler of a worker: the job view is valid until it returns (or its promise settles). */
export type JobHandler<T extends MessageCore> = (job: T) => void | Promise<void>;

export class QueueWorker<T extends MessageCore> extends Channel {
  readonly role = 'queue worker';
  /** k of this worker's own ring `<name>~q~<k>`. */
  readonly index: number;
  private readonly ctx: NodeContext;
  private readonly type: MessageClass<T>;
  private readonly opts: QueueOptions;
  /** Own ring first, then rings adopted from dead workers. */
  private readonly inboxes: { name: string; j: Joined<Reader>; inbox: Inbox<T> }[] = [];
  private lastAdopt = 0;

  /** @internal Use queue.worker(). */
  constructor(ctx: NodeContext, name: string, type: MessageClass<T>, index: number, j: Joined<Reader>, opts: QueueOptions) {
    super(name);
    this.ctx = ctx;
    this.type = type;
    this.opts = opts;
    this.index = index;
    this.add(regionNames.queue(name, index), j);
  }

  private add(name: string, j: Joined<Reader>): void {
    this.inboxes.push({ name, j, inbox: new Inbox(this.ctx, this, this._stats, j.end, j.ring, this.type, { onInvalid: this.opts.onInvalid ?? this.ctx.onInvalid, verify: true }) });
  }

  /** Rings of this queue adopted from dead workers. */
  get adopted(): number {
    return this.inboxes.length - 1;
  }

  /** Takes over the rings of dead workers of this queue (their queued jobs are handled here). */
  adopt(): number {
    this.lastAdopt = Date.now();
    let n = 0;
    const prefix = regionNames.queuePrefix(this.name);
    const mine = new Set(this.inboxes.map((b) => b.name));
    for (const name of this.ctx.transport.list()) {
      if (!name.startsWith(prefix) || mine.has(name)) continue;
      let o;
      try {
        o = openRing(this.ctx.transport, name, this.type.TYPE_ID);
      } catch {
        continue;
      }
      if (!o) continue;
      const parts = o.ring.participants();
      if (parts.some((p) => p.role === 'consumer' && p.alive)) {
        o.region.close();
        continue;
      }
      try {
        o.ring.sweep();
        const r = o.ring.join('consumer', this.ctx.identity, this.ctx.transport.notifier);
        // Unpublish it: producers stop choosing it at their next re-list, and a new
        // worker gets a fresh ring under this index. This worker keeps its mapping and
        // drains what is queued (and what producers send until they re-list).
        this.ctx.transport.remove(name, o.region);
        this.add(name, { region: o.region, ring: o.ring, end: r, created: false });
        n++;
      } catch {
        o.region.close(); // another worker adopted it first
      }
    }
    // Adopted rings that are empty and have no producer left are finished: drop them.
    for (let i = this.inboxes.length - 1; i >= 1; i--) {
      const b = this.inboxes[i]!;
      if (b.j.ring.participants().some((p) => p.role === 'producer' && p.alive)) continue;
      // Empty: nothing claimed past the released head (docs/ring.md §1.2: tail @128, head
      // @192). Nothing is held here (consume() releases before it calls adopt()), and no
      // live producer is left to claim more.
      const i32 = new Int32Array(b.j.ring.buffer);
      if (Atomics.load(i32, (b.j.ring.byteOffset + 128) >> 2) !== Atomics.load(i32, (b.j.ring.byteOffset + 192) >> 2)) continue;
      b.j.end.close();
      b.j.region.close();
      this.inboxes.splice(i, 1);
    }
    return n;
  }

  /**
   * The next job from any of this worker's rings, or null. The view is valid until the
   * next receive; the job is released (and counts as done) then.
   */
  tryReceive(): T | null {
    this.checkOpen();
    for (const b of this.inboxes) {
      const m = b.inbox.tryReceive();
      if (m) return m;
    }
    return null;
  }

  /**
   * Handles jobs with `handler` until close() (resolves) or `signal` aborts (rejects with
   * its reason, after the running handler settled). One job at a time; a job is released
   * after its handler settles. A handler that throws emits 'error' (the job counts as handled).
   */
  async consume(handler: JobHandler<T>, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const notifier = this.ctx.transport.notifier;
    const own = this.inboxes[0]!;
    const signal = opts.signal;
    while (!this._closed) {
      signal?.throwIfAborted(); // between jobs: a running handler is never interrupted
      if (Date.now() - this.lastAdopt >= 500) this.adopt();
      let got = false;
      for (const b of this.inboxes) {
        const m = b.inbox.tryReceive();
        if (!m) continue;
        got = true;
        try {
          await handler(m);
        } catch (err) {
          if (this.listenerCount('error') > 0) this.emit('error', err);
        } finally {
          b.inbox.release();
        }
        if (this._closed || signal?.aborted) break;
      }
      if (!got && !this._closed) {
        const ms = this.inboxes.length > 1 ? 20 : 200;
        await held(own.j.end.waitDataAsync(ms, notifier, signal), ms, signal);
      }
    }
  }

  close(): void {
    if (this._closed) return;
    this._closed = true;
    for (const b of this.inboxes) {
      b.inbox.release();
      b.j.end.close();
      b.j.region.close();
    }
    this.ctx.untrack(this);
  }
}

export class Queue<T extends MessageCore> {
  constructor(
    private readonly ctx: NodeContext,
    readonly name: string,
    readonly type: MessageClass<T>,
    private readonly opts: QueueOptions,
  ) {}

  /** A producer: sends each job to one worker. */
  async producer(): Promise<QueueProducer<T>> {
    const p = new QueueProducer(this.ctx, this.name, this.type);
    this.ctx.track(p);
    return p;
  }

  /** A worker: takes the lowest free index (or one whose worker died: it adopts its jobs). */
  async worker(): Promise<QueueWorker<T>> {
    const capacity = this.opts.capacity ?? 256 * 1024;
    for (let k = 0; k < 4096; k++) {
      const name = regionNames.queue(this.name, k);
      try {
        const j = acquireRing<Reader>(this.ctx, name, { kind: 'mpsc', capacity, slots: this.opts.slots ?? 64, maxMessage: this.opts.maxMessage ?? 4096, typeId: this.type.TYPE_ID }, 'consumer');
        const w = new QueueWorker(this.ctx, this.name, this.type, k, j, this.opts);
        this.ctx.track(w);
        return w;
      } catch (err) {
        if (err instanceof IsthmusError && err.code === 'ROLE_TAKEN') continue;
        throw err;
      }
    }
    throw new IsthmusError('TRANSPORT', `${this.name}: no free worker index`, this.name);
  }
}

