/**
 * Request/response (docs/ring.md §7). A service `name` is one MPSC request ring
 * (`name~req`, the server is its consumer) plus, per client, one SPSC response ring
 * (`name~res~<slot>`, created by the client, which consumes it; the server produces).
 * `<slot>` is the client's participant slot in the request ring, which is also the
 * `sender` of each of its requests, so the server finds the response ring from the
 * request alone. Requests carry a correlation id (a per-client counter from 1); the
 * response echoes it. An error response has flags bit 0 set and a UTF-8 reason as payload.
 *
 * A slot changes hands when a client leaves and another joins. The server caches one
 * response writer per slot together with the slot holder's (pid, start time), re-reads
 * those two words from the slot table for each request, and reopens the response ring
 * when they changed or when the cached ring's state is no longer ready: a closing client
 * marks its response ring closed before it frees its request slot, which tells apart two
 * clients of one process that hold the same slot one after the other.
 */
import type { MessageCore } from '@isthmus/runtime';
import { utf8Decode, utf8Length, utf8Write } from '@isthmus/runtime';
import { Channel, Inbox, acquireRing, awaitRing, held, openRing, slotIdentity, wakeData, type Joined, type MessageClass, type NodeContext, type OnInvalid } from './channel.js';
import { ClosedError, InvalidMessageError, IsthmusError, OverloadedError, PeerDeadError, RejectedError, TimeoutError } from './errors.js';
import { RingError, markClosed, ringLayout, type Reader, type Ring, type Writer } from './ring/index.js';

const RING_READY = ringLayout.STATE_READY;
import type { Region } from './transport.js';
import { regionNames } from './transport.js';

const FLAG_ERROR = 1;

/** What a handler learns about the request besides its body. */
export interface RequestContext {
  /** The client's slot in the request ring. */
  readonly sender: number;
  /** The client's pid (its thread id for a client in a worker_thread, docs/ring.md §5). */
  readonly pid: number;
  readonly correlation: bigint;
}

/**
 * Fills `res` (a builder over the client's response ring) from `req` (a zero-copy view of
 * the request, valid until the handler returns or its promise settles). Throwing sends an
 * error response: the client's call() rejects with RejectedError carrying the message.
 */
export type Handler<Req extends MessageCore, Res extends MessageCore> = (req: Req, res: Res, ctx: RequestContext) => void | Promise<void>;

export interface ServeOptions {
  /** Request ring data bytes (power of two ≥ 4096; default 256 KiB). */
  capacity?: number;
  /** Largest request (default 4096). Each request occupies maxRequest + 32 bytes of ring while queued. */
  maxRequest?: number;
  /** Participant slots: 1 server + up to slots − 1 clients (default 64). */
  slots?: number;
  onInvalid?: OnInvalid;
  /** How long to wait for room in a client's response ring before dropping the answer (default 1000 ms). */
  responseTimeoutMs?: number;
}

export interface ClientOptions {
  /** How long to wait for the service to appear (default 5000 ms). */
  waitMs?: number;
  /** Aborts the wait for the service to exist (rejecting with the signal's reason). */
  signal?: AbortSignal;
  /** Response ring data bytes (power of two ≥ 4096; default 256 KiB). */
  responseCapacity?: number;
  /** Largest response (default min(64 KiB, responseCapacity/2 − 32)). */
  maxResponse?: number;
  /** Default timeout of call() (default 5000 ms). */
  timeoutMs?: number;
  onInvalid?: OnInvalid;
}

export interface CallOptions {
  timeoutMs?: number;
  /**
   * Aborts the call: it rejects with `signal.reason`. Already aborted: nothing is sent.
   * Aborted after sending: the server may still answer; that late response is dropped
   * (counted in `dropped` when the client next reads its response ring), never delivered.
   */
  signal?: AbortSignal;
}

interface Responder {
  j: Joined<Writer>;
  /** The response ring's `state` word (docs/ring.md §1.1, offset 12). */
  state: Int32Array;
  pid: number;
  st0: number;
  st1: number;
}

export class Server<Req extends MessageCore, Res extends MessageCore> extends Channel {
  readonly role = 'server';
  private readonly ctx: NodeContext;
  private readonly j: Joined<Reader>;
  private readonly i32: Int32Array;
  private readonly inbox: Inbox<Req>;
  private readonly resType: MessageClass<Res>;
  private readonly res: Res;
  private readonly responders = new Map<number, Responder>();
  private readonly idScratch = new Int32Array(2);
  private readonly responseTimeoutMs: number;
  private readonly handler: Handler<Req, Res>;
  /** Settles when the serving loop has stopped (after close()). */
  readonly done: Promise<void>;

  /** @internal Use node.serve(). */
  constructor(ctx: NodeContext, name: string, reqType: MessageClass<Req>, resType: MessageClass<Res>, handler: Handler<Req, Res>, j: Joined<Reader>, opts: ServeOptions) {
    super(name);
    this.ctx = ctx;
    this.j = j;
    this.i32 = new Int32Array(j.ring.buffer);
    this.resType = resType;
    this.res = new resType();
    this.handler = handler;
    this.responseTimeoutMs = opts.responseTimeoutMs ?? 1000;
    const policy = opts.onInvalid ?? ctx.onInvalid;
    this.inbox = new Inbox(ctx, this, this._stats, j.end, j.ring, reqType, {
      // 'throw' has nobody to throw to in a server: invalid requests are dead-lettered.
      onInvalid: policy === 'throw' ? 'dead-letter' : policy,
      verify: true,
      hook: (_code, reason) => this.replyError(j.end.sender, j.end.correlation, `invalid request: ${reason}`),
    });
    this.done = this.run().catch((err: unknown) => {
      this.error = err instanceof Error ? err : new Error(String(err));
      if (this.listenerCount('error') > 0) this.emit('error', this.error);
    });
  }

  /** Why the serving loop stopped, if it stopped on its own (also emitted as 'error'). */
  error: Error | undefined;

  private async run(): Promise<void> {
    const reader = this.j.end;
    const notifier = this.ctx.transport.notifier;
    while (!this._closed) {
      // Throws IsthmusError CORRUPT when a hostile or broken client wrote a bad record
      // header: the next request can not be found, so the loop stops (see `error`).
      const req = this.inbox.tryReceive();
      if (!req) {
        await held(reader.waitDataAsync(200, notifier), 200);
        continue;
      }
      try {
        await this.handleOne(req, reader.sender, reader.correlation);
      } finally {
        this.inbox.release();
      }
    }
  }

  /** The response writer of the client holding `slot`, opened or reopened as needed; null if unreachable. */
  private responder(slot: number): Responder | null {
    const id = this.idScratch;
    const pid = slotIdentity(this.j.ring, this.i32, slot, id);
    let r = this.responders.get(slot);
    // Same holder identity and its ring still open (a client marks its ring closed before
    // leaving the slot, so a new client of the same process is told apart).
    if (r && r.pid === pid && r.st0 === id[0] && r.st1 === id[1] && Atomics.load(r.state, 0) === RING_READY) return r;
    if (r) {
      this.responders.delete(slot);
      r.j.end.close();
      r.j.region.close();
      r = undefined;
    }
    if (pid === 0) return null;
    const name = regionNames.res(this.name, slot);
    let o: { region: Region; ring: Ring } | null;
    try {
      o = openRing(this.ctx.transport, name, this.resType.TYPE_ID);
    } catch {
      return null;
    }
    if (!o) return null;
    // The ring must belong to the client that holds the slot now.
    const owner = o.ring.participants().find((p) => p.role === 'consumer' && p.alive);
    if (!owner || owner.pid !== pid) {
      o.region.close();
      return null;
    }
    try {
      const w = o.ring.join('producer', this.ctx.identity, this.ctx.transport.notifier);
      r = { j: { region: o.region, ring: o.ring, end: w, created: false }, pid, st0: id[0]!, st1: id[1]!, state: new Int32Array(o.region.buffer, o.region.byteOffset + ringLayout.H_STATE, 1) };
    } catch {
      o.region.close();
      return null;
    }
    this.responders.set(slot, r);
    return r;
  }

  /** Loans room for a response of up to `n` bytes, waiting up to responseTimeoutMs; -1 on failure. */
  private async loanResponse(r: Responder, n: number): Promise<number> {
    let off = r.j.end.loan(n);
    if (off >= 0) return off;
    this._stats.full++;
    const deadline = Date.now() + this.responseTimeoutMs;
    while (off < 0 && !this._closed) {
      const left = deadline - Date.now();
      if (left <= 0 || !r.j.end.peerAlive()) return -1;
      await held(r.j.end.waitSpaceAsync(n, Math.min(left, 100), this.ctx.transport.notifier), Math.min(left, 100));
      off = r.j.end.loan(n);
    }
    return off;
  }

  private async handleOne(req: Req, sender: number, correlation: bigint): Promise<void> {
    const r = this.responder(sender);
    if (!r) {
      this._stats.dropped++;
      return;
    }
    const max = r.j.ring.maxMessage;
    const off = await this.loanResponse(r, max);
    if (off < 0) {
      this._stats.dropped++;
      return;
    }
    const res = this.res.build(r.j.ring.buffer, off, max);
    let len: number;
    try {
      await this.handler(req, res, { sender, pid: r.pid, correlation });
      len = res.finish();
    } catch (err) {
      r.j.end.abort();
      this.replyError(sender, correlation, err instanceof Error ? err.message : String(err));
      return;
    }
    r.j.end.commit(len, correlation, 0);
    this._stats.sent++;
    this._stats.bytesSent += len;
  }

  /** Sends an error response (flags bit 0, UTF-8 reason). Best effort: never waits, never throws. */
  private replyError(sender: number, correlation: bigint, reason: string): void {
    const r = this.responder(sender);
    if (!r) {
      this._stats.dropped++;
      return;
    }
    const max = r.j.ring.maxMessage;
    if (reason.length > 4096) reason = reason.slice(0, 4096);
    let n = utf8Length(reason);
    if (n > max) {
      reason = reason.slice(0, max >> 2);
      n = utf8Length(reason);
    }
    const off = r.j.end.loan(n);
    if (off < 0) {
      this._stats.dropped++;
      return;
    }
    utf8Write(reason, new Uint8Array(r.j.ring.buffer), off);
    r.j.end.commit(n, correlation, FLAG_ERROR);
    this._stats.rejected++;
  }

  /** Stops serving. Clients see the server as gone (PeerDeadError) from then on. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    // Wake the serving loop if it is parked, so it sees the close at once.
    wakeData(this.j.ring, this.i32, this.ctx.transport.notifier, true);
    void this.done.finally(() => {
      this.inbox.release();
      this.j.end.close();
      this.j.region.close();
      for (const r of this.responders.values()) {
        r.j.end.close();
        r.j.region.close();
      }
      this.responders.clear();
    });
    this.ctx.untrack(this);
  }
}

interface Pending<Res extends MessageCore> {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
  read: ((res: Res) => unknown) | undefined;
}

export class Client<Req extends MessageCore, Res extends MessageCore> extends Channel {
  readonly role = 'client';
  private readonly ctx: NodeContext;
  private readonly req: Joined<Writer>;
  private readonly resp: Joined<Reader>;
  private readonly reqType: MessageClass<Req>;
  private readonly resType: MessageClass<Res>;
  private readonly msg: Req;
  private readonly view: Res;
  private readonly respU8: Uint8Array;
  private readonly pending = new Map<bigint, Pending<Res>>();
  private readonly maxRequest: number;
  private readonly defaultTimeout: number;
  private readonly onInvalid: OnInvalid;
  private next = 1n;
  private loaned = false;
  private pumping = false;

  /** @internal Use node.client(). */
  constructor(ctx: NodeContext, name: string, reqType: MessageClass<Req>, resType: MessageClass<Res>, req: Joined<Writer>, resp: Joined<Reader>, opts: ClientOptions) {
    super(name);
    this.ctx = ctx;
    this.req = req;
    this.resp = resp;
    this.reqType = reqType;
    this.resType = resType;
    this.msg = new reqType();
    this.view = new resType();
    this.respU8 = new Uint8Array(resp.ring.buffer);
    this.maxRequest = req.ring.maxMessage;
    this.defaultTimeout = opts.timeoutMs ?? 5000;
    this.onInvalid = opts.onInvalid ?? ctx.onInvalid;
  }

  /** Calls in flight. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Is the server alive? (slow path) */
  serverAlive(): boolean {
    return this.req.end.peerAlive();
  }

  /**
   * A builder over the request ring (the same object each time); pass it to call().
   * Throws OverloadedError when the request ring is full, PeerDeadError when the server is gone.
   */
  loan(): Req {
    this.checkOpen();
    if (this.loaned) throw new Error(`${this.name}: loan() called twice without call() or abort()`);
    const off = this.req.end.loan(this.maxRequest);
    if (off < 0) {
      this._stats.full++;
      if (!this.req.end.peerAlive()) throw new PeerDeadError(this.name, this.serverPid(), 'server');
      throw new OverloadedError(this.name, 'request ring is full');
    }
    this.loaned = true;
    return this.msg.build(this.req.ring.buffer, off, this.maxRequest);
  }

  /** Gives back a loan without sending. */
  abort(): void {
    if (this.loaned) {
      this.loaned = false;
      this.req.end.abort();
    }
  }

  /**
   * Sends a request and resolves with the response: a view over a private copy of the
   * response bytes (valid as long as you keep it). `request` is a fill function
   * `(req) => { req.x = … }`, or the builder from loan().
   *
   * Rejects with TimeoutError, PeerDeadError (the server process is gone), RejectedError
   * (the server refused the request; `.reason`), OverloadedError (request ring full:
   * nothing was sent).
   */
  call(request: ((req: Req) => void) | Req, opts?: CallOptions): Promise<Res> {
    return this.send(request, opts, undefined) as Promise<Res>;
  }

  /**
   * Like call(), but hands the response to `read` as a zero-copy view over the response
   * ring, valid only during `read`; resolves with what `read` returns.
   */
  callWith<R>(request: ((req: Req) => void) | Req, read: (res: Res) => R, opts?: CallOptions): Promise<R> {
    return this.send(request, opts, read as (res: Res) => unknown) as Promise<R>;
  }

  private send(request: ((req: Req) => void) | Req, opts: CallOptions | undefined, read: ((res: Res) => unknown) | undefined): Promise<unknown> {
    if (this._closed) return Promise.reject(new ClosedError(this.name));
    const signal = opts?.signal;
    if (signal?.aborted) {
      if (typeof request !== 'function' && request === this.msg) this.abort(); // give the loan back
      return Promise.reject(signal.reason);
    }
    let m: Req;
    if (typeof request === 'function') {
      try {
        m = this.loan();
      } catch (err) {
        return Promise.reject(err);
      }
      try {
        request(m);
      } catch (err) {
        this.abort();
        return Promise.reject(err);
      }
    } else {
      if (!this.loaned || request !== this.msg) return Promise.reject(new Error(`${this.name}: call() needs a fill function or the builder returned by loan()`));
      m = request;
    }
    let len: number;
    try {
      len = m.finish();
    } catch (err) {
      this.abort();
      return Promise.reject(err);
    }
    const correlation = this.next++;
    const timeoutMs = opts?.timeoutMs ?? this.defaultTimeout;
    const p = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => this.expire(correlation, timeoutMs), timeoutMs);
      if (signal === undefined) {
        this.pending.set(correlation, { resolve, reject, timer, read });
        return;
      }
      // The listener goes when the call settles, whichever way.
      const onAbort = () => {
        const pe = this.pending.get(correlation);
        if (!pe) return;
        clearTimeout(pe.timer);
        this.pending.delete(correlation); // a late answer is then dropped (pump)
        this.idle();
        reject(signal.reason);
      };
      const off = () => signal.removeEventListener('abort', onAbort);
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.set(correlation, {
        resolve: (v) => {
          off();
          resolve(v);
        },
        reject: (e) => {
          off();
          reject(e);
        },
        timer,
        read,
      });
    });
    try {
      this.loaned = false;
      this.req.end.commit(len, correlation, 0);
    } catch (err) {
      const pe = this.pending.get(correlation)!;
      clearTimeout(pe.timer);
      this.pending.delete(correlation);
      pe.reject(err as Error); // settles p (and removes an abort listener); p itself is not returned
      p.catch(() => {});
      return Promise.reject(err instanceof RingError ? new IsthmusError('TRANSPORT', `${this.name}: ${err.message}`, this.name, { cause: err }) : err);
    }
    this._stats.sent++;
    this._stats.bytesSent += len;
    if (!this.pumping) void this.pump();
    return p;
  }

  private serverPid(): number {
    const s = this.req.ring.participants().find((p) => p.role === 'consumer');
    return s?.pid ?? 0;
  }

  private expire(correlation: bigint, timeoutMs: number): void {
    const p = this.pending.get(correlation);
    if (!p) return;
    this.pending.delete(correlation);
    this.idle();
    if (!this.req.end.peerAlive()) {
      p.reject(new PeerDeadError(this.name, this.serverPid(), 'server'));
      return;
    }
    this._stats.timeouts++;
    p.reject(new TimeoutError(this.name, timeoutMs));
  }

  /** The pump's park ends once no call is pending (or the client closed) and idle() woke it. */
  private readonly pumpStop = () => this.pending.size === 0 || this._closed;

  /**
   * After a call left `pending` by a timer or an abort: with none left, wakes the pump's
   * park on the response ring's data futex (only this client waits on it), so the pump
   * ends now instead of at the end of its 100 ms slice, and leaves no timer or futex wait.
   */
  private idle(): void {
    if (this.pending.size === 0 && this.pumping) this.resp.end.kickData();
  }

  private failAll(err: () => Error): void {
    for (const [c, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(c);
      p.reject(err());
    }
  }

  /** Reads responses while calls are in flight; checks the server's liveness every 100 ms of silence. */
  private async pump(): Promise<void> {
    this.pumping = true;
    const reader = this.resp.end;
    const notifier = this.ctx.transport.notifier;
    let lastCheck = Date.now();
    try {
      while (this.pending.size > 0 && !this._closed) {
        const off = reader.receive();
        if (off >= 0) {
          try {
            this.dispatch(off, reader);
          } finally {
            reader.release();
          }
          lastCheck = Date.now();
          continue;
        }
        if (Date.now() - lastCheck >= 100) {
          lastCheck = Date.now();
          if (!this.req.end.peerAlive()) {
            const pid = this.serverPid();
            this.failAll(() => new PeerDeadError(this.name, pid, 'server'));
            break;
          }
        }
        await held(reader.waitDataAsync(100, notifier, undefined, this.pumpStop), 100);
      }
    } catch (err) {
      this.failAll(() => (err instanceof Error ? err : new Error(String(err))));
    } finally {
      this.pumping = false;
    }
  }

  private dispatch(off: number, reader: Reader): void {
    const p = this.pending.get(reader.correlation);
    const len = reader.length;
    if (!p) {
      this._stats.dropped++; // a late answer to a call that already timed out
      return;
    }
    this.pending.delete(reader.correlation);
    clearTimeout(p.timer);
    const u8 = this.respU8;
    if (reader.flags & FLAG_ERROR) {
      this._stats.rejected++;
      p.reject(new RejectedError(this.name, utf8Decode(u8, off, off + len)));
      return;
    }
    const err = len < 16 ? null : this.resType.verify(u8, off, len);
    if (len < 16 || err) {
      const reason = err ? err.message : `response of ${len} bytes cannot hold a message header`;
      this._stats.invalid++;
      if (this.onInvalid === 'dead-letter' && this.ctx.deadLetters.write(this.name, this.resType.TYPE_ID, err?.code ?? 'TRUNCATED', err?.path ?? '', err?.offset ?? 0, reason, u8.subarray(off, off + len), reader.sender)) {
        this._stats.deadLetters++;
      }
      if (this.listenerCount('invalid') > 0) this.emit('invalid', { code: err?.code ?? 'TRUNCATED', path: err?.path ?? '', offset: err?.offset ?? 0, reason, sender: reader.sender });
      p.reject(new InvalidMessageError(this.name, reason, err));
      return;
    }
    this._stats.received++;
    this._stats.bytesReceived += len;
    try {
      if (p.read) p.resolve(p.read(this.view.wrap(u8, off, len)));
      else p.resolve(this.resType.view(u8.slice(off, off + len)) as unknown);
    } catch (e) {
      p.reject(e as Error);
    }
  }

  /** Closes the client: pending calls reject with ClosedError; its response ring is removed. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    this.abort();
    this.failAll(() => new ClosedError(this.name));
    this.idle();
    // Closed (state 2) before the request slot is freed: a server that cached this ring for
    // the slot sees it is gone even when the next holder of the slot is this same process.
    markClosed(this.resp.region.buffer, this.resp.region.byteOffset);
    this.req.end.close();
    this.req.region.close();
    this.ctx.transport.remove(this.resp.region.name, this.resp.region);
    this.resp.end.close();
    this.resp.region.close();
    this.ctx.untrack(this);
  }
}

export async function openServer<Req extends MessageCore, Res extends MessageCore>(ctx: NodeContext, name: string, reqType: MessageClass<Req>, resType: MessageClass<Res>, handler: Handler<Req, Res>, opts: ServeOptions): Promise<Server<Req, Res>> {
  const j = acquireRing<Reader>(
    ctx,
    regionNames.req(name),
    { kind: 'mpsc', capacity: opts.capacity ?? 256 * 1024, slots: opts.slots ?? 64, maxMessage: opts.maxRequest ?? 4096, typeId: reqType.TYPE_ID },
    'consumer',
  );
  const s = new Server(ctx, name, reqType, resType, handler, j, opts);
  ctx.track(s);
  return s;
}

export async function openClient<Req extends MessageCore, Res extends MessageCore>(ctx: NodeContext, name: string, reqType: MessageClass<Req>, resType: MessageClass<Res>, opts: ClientOptions): Promise<Client<Req, Res>> {
  const req = await awaitRing<Writer>(ctx, regionNames.req(name), name, reqType.TYPE_ID, 'producer', opts.waitMs ?? 5000, opts.signal);
  let resp: Joined<Reader>;
  try {
    const capacity = opts.responseCapacity ?? 256 * 1024;
    resp = acquireRing<Reader>(
      ctx,
      regionNames.res(name, req.end.slot),
      { kind: 'spsc', capacity, slots: 2, maxMessage: opts.maxResponse ?? Math.min(64 * 1024, capacity / 2 - 32), typeId: resType.TYPE_ID },
      'consumer',
      // Left by an earlier holder of this slot: its consumer is gone.
      (ring) => !ring.participants().some((p) => p.role === 'consumer' && p.alive),
    );
  } catch (err) {
    req.end.close();
    req.region.close();
    throw err;
  }
  const c = new Client(ctx, name, reqType, resType, req, resp, opts);
  ctx.track(c);
  return c;
}

