/**
 * The network transports: `tcp://host:port` and `unix:///path` (a Unix stream socket), for
 * peers that cannot share memory. Application code is unchanged; only the node's
 * `transport` option changes. The wire format is the contract of docs/net.md (net/wire.ts).
 *
 * How it fits the Transport interface without the channel layer knowing:
 *
 *   connector process                         listener process (isthmus.listen)
 *   ┌──────────────────────────┐   frames    ┌──────────────────────────────────┐
 *   │ channel ends             │ ◄─────────► │ backing transport (shm / inproc) │
 *   │   on local copies        │   TCP/UDS   │   rings shared with local procs  │
 *   │ (one SAB per region)     │             │ proxies joined per remote role   │
 *   │ proxies + pumps          │             │ pumps                            │
 *   └──────────────────────────┘             └──────────────────────────────────┘
 *
 * Every region exists as a **copy** on each side of a link, and each side's channel ends
 * use their own copy as an ordinary ring. Per (link, region) a **binding** (stream id)
 * tells each side which roles the other side's participants hold: `readers` (a consumer, or
 * any subscriber) and the list of writer slots (producers, the publisher). Each side then
 * joins its own copy with **proxies**, participant slots held by this process on behalf of
 * remote participants:
 *
 *   - a writer proxy per remote writer slot: records that arrive in DATA frames are written
 *     through it (so the `sender` a local reader sees is the proxy's slot);
 *   - a reader proxy when the remote side has readers: a pump reads the local copy through it
 *     and forwards each record (except those its own writer proxies wrote) as a DATA frame.
 *
 * Liveness is therefore the ring's own (docs/ring.md §5): a remote participant is "alive"
 * exactly while its proxy holds a slot. When a connection is lost, or the peer reports that a
 * role is gone (its process died, or it closed), the proxy leaves its slot and the local
 * `peerAlive()` becomes false — PeerDeadError, `publisherAlive() === false`, queue producers
 * dropping a dead worker — with no hook in the Transport interface.
 *
 * Response rings `<svc>~res~<slot>` are named after a slot in the request ring; slots differ
 * per side, so a receiver translates `<svc>~res~<k>` (the sender's name) to
 * `<svc>~res~<p>`, p being its writer proxy for the sender's slot k in `<svc>~req`.
 *
 * Flow control: per binding and direction, the receiving side grants a window of bytes
 * (32 + payload per record) in BIND/BOUND, and returns credit (CREDIT frames) as it writes
 * received records into its copy. A sender forwards only while it holds credit, so a slow
 * remote reader leaves records in the sender's ring, which fills and blocks its writers
 * exactly as a slow local reader would. A receiver buffers at most one window per binding.
 */
import { EventEmitter } from 'node:events';
import * as netlib from 'node:net';
import { IsthmusError } from '../errors.js';
import { formatRing, isAlive, markReady, Ring, RingError, ringLayout as L, regionSize, selfIdentity, inProcessNotifier, type Identity, type Notifier, type Reader, type RingParams, type Writer } from '../ring/index.js';
import type { Region, Transport } from '../transport.js';
import * as W from '../net/wire.js';

// ---------------------------------------------------------------------------------------
// Errors and addresses

/** A network failure: carries the address and the system error code (`ECONNREFUSED`, …). */
export class NetError extends IsthmusError {
  readonly url: string;
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly path: string | undefined;
  /** `ECONNREFUSED`, `ENOENT`, `ETIMEDOUT`, … when the system reported one. */
  readonly errno: string | undefined;
  constructor(addr: NetAddress, message: string, errno?: string, options?: { cause?: unknown }) {
    super('TRANSPORT', `${addr.url}: ${message}`, undefined, options);
    this.name = 'NetError';
    this.url = addr.url;
    this.host = addr.host;
    this.port = addr.port;
    this.path = addr.path;
    this.errno = errno;
  }
}

export interface NetAddress {
  url: string;
  kind: 'tcp' | 'unix';
  host?: string;
  port?: number;
  path?: string;
}

/** Parses `tcp://host:port` or `unix:///absolute/path`. */
export function parseNetUrl(url: string): NetAddress {
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})\/?$/.exec(url);
  if (tcp) {
    const port = Number(tcp[2]);
    if (port < 1 || port > 65535) throw new TypeError(`invalid transport URL ${JSON.stringify(url)}: port ${port} outside 1..65535`);
    return { url, kind: 'tcp', host: tcp[1]!.replace(/^\[|\]$/g, ''), port };
  }
  const unix = /^unix:\/\/(\/.+)$/.exec(url);
  if (unix) return { url, kind: 'unix', path: unix[1]! };
  throw new TypeError(`invalid transport URL ${JSON.stringify(url)}: expected tcp://host:port or unix:///path`);
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Bounds of the reconnect backoff (docs/net.md §6). */
export const RECONNECT_INITIAL_MS = 50;
export const RECONNECT_MAX_MS = 2000;
/** Keepalive: a PING every second; a link that received nothing for 5 s is dead. */
export const PING_MS = 1000;
export const SILENCE_MS = 5000;
/** How often each side rescans the participant tables of bound regions (roles, liveness). */
export const ROLES_SCAN_MS = 50;
/** How often a listener lists its backing transport (directory). */
export const DIR_SCAN_MS = 100;

/** Counters of one side (connector transport or listener), since it started. */
export interface NetStats {
  connects: number;
  disconnects: number;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  recordsIn: number;
  recordsOut: number;
  /** Records that arrived while the local copy was full and were buffered (credit-bounded). */
  queued: number;
  /** Most bytes buffered for one binding at once (≤ its window). */
  maxQueuedBytes: number;
  /** Records that could not be delivered (no writer proxy, too large for the peer, still queued when their binding closed). */
  dropped: number;
  /** Connections closed for a protocol violation (garbage, bad frames). */
  protocolErrors: number;
  /** ERROR frames received. */
  errorsIn: number;
}

function emptyNetStats(): NetStats {
  return { connects: 0, disconnects: 0, framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, recordsIn: 0, recordsOut: 0, queued: 0, maxQueuedBytes: 0, dropped: 0, protocolErrors: 0, errorsIn: 0 };
}

// ---------------------------------------------------------------------------------------
// Copies, sides, roles

/** One region as this side has it. */
class Copy {
  readonly bindings = new Set<Binding>();
  /** Connector: how to bind it again after a reconnect (BIND_OPEN / BIND_CREATE), or -1. */
  want = -1;
  /** Listener: what the directory last said about it (undefined: not listed). */
  dirKey: string | undefined = undefined;
  readonly header: Buffer;
  constructor(
    readonly name: string,
    readonly region: Region,
    readonly ring: Ring,
  ) {
    this.header = Buffer.from(ring.buffer, ring.byteOffset, L.HEADER_SIZE);
  }
}

interface Roles {
  readers: boolean;
  writers: number[];
}

function sameRoles(a: Roles | null, b: Roles): boolean {
  if (!a || a.readers !== b.readers || a.writers.length !== b.writers.length) return false;
  for (let i = 0; i < a.writers.length; i++) if (a.writers[i] !== b.writers[i]) return false;
  return true;
}

/** What a link needs from the side it belongs to. */
abstract class Side extends EventEmitter {
  readonly identity: Identity = selfIdentity();
  readonly stats: NetStats = emptyNetStats();
  abstract readonly notifier: Notifier;
  /** Even stream ids for connectors, odd for listeners. */
  abstract readonly sidParity: number;
  abstract readonly helloRole: number;
  abstract readonly peerRole: number;
  protected readonly dirty = new Set<Copy>();
  private dirtyQueued = false;

  /** Finds or makes the copy a BIND names (already translated); throws ProtocolError (NOT_FOUND, TYPE_MISMATCH). */
  abstract ensureCopy(name: string, params: RingParams, mode: number, init: (copy: Copy) => void): Copy;
  /** The local copy of `name` if there is one (a listener opens its backing transport). */
  abstract findCopy(name: string): Copy | null;
  abstract linkUp(link: Link): void;
  abstract linkDown(link: Link, err: Error | null): void;
  onDir(_link: Link, _op: number, _name: string, _b: Buffer, _at: number, _end: number): void {
    throw new W.ProtocolError('DIR frames are sent by listeners only');
  }

  /** Are the holder's pid and start time a live process? Own process: yes, without /proc. */
  alive(pid: number, st: bigint): boolean {
    return (pid === this.identity.pid && st === this.identity.startTime) || isAlive(pid, st);
  }

  /** Proxies of one link changed on `copy`: the roles other links see may have changed. */
  markDirty(copy: Copy): void {
    if (copy.bindings.size === 0) return;
    this.dirty.add(copy);
    if (this.dirtyQueued) return;
    this.dirtyQueued = true;
    setImmediate(() => {
      this.dirtyQueued = false;
      for (const c of this.dirty) for (const b of c.bindings) b.flushRoles();
      this.dirty.clear();
    });
  }
}

// ---------------------------------------------------------------------------------------
// Bindings: one region on one link

interface RxItem {
  /** A copy of a DATA body, or null for a deferred writer-proxy leave. */
  body: Buffer | null;
  leave: number;
}

class Binding {
  reader: Reader | null = null;
  /** Remote writer slot → local writer proxy. */
  readonly writers = new Map<number, Writer>();
  /** Local slots held by this binding's proxies (their records are never echoed back). */
  readonly ownSlots = new Set<number>();
  sent: Roles | null = null;
  private sentSet = new Set<number>();
  /** Bytes this side may still send (the peer's window minus what it has not credited back). */
  credit = 0;
  /** Largest payload the peer's copy takes. */
  remoteMax = 0;
  readonly window: number;
  private pendingGrant = 0;
  private readonly rxq: RxItem[] = [];
  private rxBytes = 0;
  private rxDraining = false;
  private creditWake: (() => void) | null = null;
  closed = false;
  /** The link is gone; the writer proxies stay until the records that arrived are written (finish()). */
  finishing = false;
  /** Request rings: sender slot → the response region bound on this link for it. */
  private readonly resBound = new Map<number, Region>();
  private readonly channel: string | null;
  private readonly ringBuf: Buffer;
  private readonly refused = new Set<number>();

  constructor(
    readonly link: Link,
    readonly copy: Copy,
    readonly sid: number,
  ) {
    const ring = copy.ring;
    this.window = Math.max(2 * (L.RECORD_HEADER + ring.maxMessage), Math.min(ring.capacity, 4 << 20));
    const m = /^(.*)~req$/.exec(copy.name);
    this.channel = m ? m[1]! : null;
    this.ringBuf = Buffer.from(ring.buffer);
    // A region bound again while an earlier link's records still wait: those are dropped,
    // so that the earlier writer proxies free their slots for the new link's writers.
    for (const old of copy.bindings) if (old.finishing) old.close();
    copy.bindings.add(this);
  }

  private get side(): Side {
    return this.link.side;
  }

  /** Roles of this side's participants, leaving out this binding's own proxies. Slow path. */
  computeRoles(): Roles {
    const ring = this.copy.ring;
    const dv = ring.dv;
    let readers = false;
    const writers: number[] = [];
    for (let s = 1; s <= ring.slots; s++) {
      const o = L.slotOffset(s);
      if (Atomics.load(ring.i32, (o + L.S_STATE) >> 2) !== L.SLOT_ACTIVE || this.ownSlots.has(s)) continue;
      const role = dv.getUint32(o + L.S_ROLE, true);
      if (!this.side.alive(dv.getUint32(o + L.S_PID, true), dv.getBigUint64(o + L.S_START, true))) continue;
      if (role === L.ROLE_CONSUMER || role === L.ROLE_SUBSCRIBER) readers = true;
      else if (role === L.ROLE_PRODUCER || role === L.ROLE_PUBLISHER) writers.push(s);
    }
    return { readers, writers };
  }

  /** Sends ROLES when this side's roles changed since the last BIND/BOUND/ROLES. */
  flushRoles(): void {
    if (this.closed || this.finishing) return;
    const r = this.computeRoles();
    if (sameRoles(this.sent, r)) return;
    if (this.sent) for (const s of this.sent.writers) if (!r.writers.includes(s)) this.resBound.delete(s);
    this.noteSent(r);
    this.link.sendRoles(this.sid, r);
  }

  noteSent(r: Roles): void {
    this.sent = r;
    this.sentSet = new Set(r.writers);
  }

  /** Joins or leaves proxies so that they mirror the peer's roles. */
  applyRoles(readers: boolean, writers: number[]): void {
    if (this.closed) return;
    if (readers && !this.reader) this.joinReader();
    else if (!readers && this.reader) this.leaveReader();
    for (const s of writers) if (!this.writers.has(s)) this.joinWriter(s);
    for (const s of [...this.writers.keys()]) {
      if (writers.includes(s)) continue;
      // Records of that writer may still wait in the queue: leave after them.
      if (this.rxq.length > 0) this.rxq.push({ body: null, leave: s });
      else this.leaveWriter(s);
    }
    for (const s of this.refused) if (!writers.includes(s)) this.refused.delete(s);
    this.side.markDirty(this.copy);
  }

  private joinReader(): void {
    const ring = this.copy.ring;
    try {
      const r = ring.join(ring.kind === 'broadcast' ? 'subscriber' : 'consumer', this.side.identity, this.side.notifier);
      this.reader = r;
      this.ownSlots.add(r.slot);
      void this.pumpOut(r);
    } catch (err) {
      this.link.sendError(this.sid, err instanceof RingError && err.code === 'ROLE_TAKEN' ? W.ERR_ROLE_TAKEN : W.ERR_INTERNAL, `${this.copy.name}: cannot join as the remote reader: ${(err as Error).message}`);
    }
  }

  private leaveReader(): void {
    const r = this.reader;
    if (!r) return;
    this.reader = null;
    this.ownSlots.delete(r.slot);
    r.close();
    this.creditWake?.();
  }

  private joinWriter(s: number): Writer | null {
    if (this.refused.has(s)) return null;
    const ring = this.copy.ring;
    try {
      const w = ring.join(ring.kind === 'broadcast' ? 'publisher' : 'producer', this.side.identity, this.side.notifier);
      this.writers.set(s, w);
      this.ownSlots.add(w.slot);
      return w;
    } catch (err) {
      this.refused.add(s);
      this.link.sendError(this.sid, err instanceof RingError && err.code === 'ROLE_TAKEN' ? W.ERR_ROLE_TAKEN : W.ERR_INTERNAL, `${this.copy.name}: cannot join for remote writer slot ${s}: ${(err as Error).message}`);
      return null;
    }
  }

  private leaveWriter(s: number): void {
    const w = this.writers.get(s);
    if (!w) return;
    this.writers.delete(s);
    this.ownSlots.delete(w.slot);
    w.close();
  }

  /** The local slot of the writer proxy standing for the peer's slot `s` (name translation). */
  proxySlot(s: number): number | null {
    return this.writers.get(s)?.slot ?? null;
  }

  // --- inbound --------------------------------------------------------------------------

  /** A DATA body at [at, at + len) of `b`: the ring record (header + payload). */
  onData(b: Buffer, at: number, len: number): void {
    if (len < L.RECORD_HEADER) throw new W.ProtocolError(`DATA body of ${len} bytes is shorter than a record header (32)`);
    const plen = b.readUInt32LE(at + L.R_PAYLOAD_LEN);
    if (len !== L.RECORD_HEADER + plen) throw new W.ProtocolError(`DATA payload_len ${plen} does not match the body (${len} bytes)`);
    if (plen > this.copy.ring.maxMessage) throw new W.ProtocolError(`DATA of ${plen} bytes exceeds max_message ${this.copy.ring.maxMessage} of ${this.copy.name}`, W.ERR_TOO_LARGE);
    const flags = b.readUInt32LE(at + L.R_FLAGS);
    if (flags > 1) throw new W.ProtocolError(`DATA record flags 0x${flags.toString(16)}: bits 1–31 must be zero`);
    this.side.stats.recordsIn++;
    if (this.rxq.length === 0 && this.apply(b, at, plen)) return;
    const body = Buffer.allocUnsafe(len);
    b.copy(body, 0, at, at + len);
    this.rxq.push({ body, leave: 0 });
    this.rxBytes += len;
    this.side.stats.queued++;
    if (this.rxBytes > this.side.stats.maxQueuedBytes) this.side.stats.maxQueuedBytes = this.rxBytes;
    if (this.rxBytes > this.window) throw new W.ProtocolError(`peer sent ${this.rxBytes} bytes on ${this.copy.name} beyond its window of ${this.window}`);
    if (!this.rxDraining) void this.drainRx();
  }

  /** Writes one record through the writer proxy of its sender; false when the copy is full. */
  private apply(b: Buffer, at: number, plen: number): boolean {
    const sender = b.readUInt32LE(at + L.R_SENDER);
    const w = this.writers.get(sender) ?? this.joinWriter(sender);
    if (!w) {
      this.side.stats.dropped++;
      this.grant(L.RECORD_HEADER + plen);
      return true;
    }
    const off = w.loan(plen);
    if (off < 0) return false;
    b.copy(this.ringBuf, off, at + L.RECORD_HEADER, at + L.RECORD_HEADER + plen);
    const corr = (b.readUInt32LE(at + L.R_CORRELATION) | b.readUInt32LE(at + L.R_CORRELATION + 4)) === 0 ? 0n : b.readBigUInt64LE(at + L.R_CORRELATION);
    w.commit(plen, corr, b.readUInt32LE(at + L.R_FLAGS));
    this.grant(L.RECORD_HEADER + plen);
    return true;
  }

  private async drainRx(): Promise<void> {
    this.rxDraining = true;
    try {
      while (this.rxq.length > 0 && !this.closed) {
        const it = this.rxq[0]!;
        if (!it.body) {
          this.rxq.shift();
          this.leaveWriter(it.leave);
          continue;
        }
        const plen = it.body.length - L.RECORD_HEADER;
        if (this.apply(it.body, 0, plen)) {
          this.rxq.shift();
          this.rxBytes -= it.body.length;
          continue;
        }
        const w = this.writers.get(it.body.readUInt32LE(L.R_SENDER));
        // Finishing with no live local reader: nobody will make room (and nobody would read).
        if (this.finishing && w && !w.peerAlive()) break;
        if (w) await w.waitSpaceAsync(plen, 100, this.side.notifier);
      }
      if (this.finishing) this.close();
      else this.link.flushSoon();
    } finally {
      this.rxDraining = false;
    }
  }

  private grant(n: number): void {
    if (this.finishing) return;
    this.pendingGrant += n;
    if (this.pendingGrant >= this.window >>> 2) this.flushGrant();
    else this.link.grantLater(this);
  }

  flushGrant(): void {
    if (this.pendingGrant === 0 || this.closed) return;
    this.link.sendCredit(this.sid, this.pendingGrant);
    this.pendingGrant = 0;
  }

  onCredit(n: number): void {
    this.credit += n;
    if (this.credit > this.remoteWindow) throw new W.ProtocolError(`CREDIT of ${n} bytes on ${this.copy.name} raises credit to ${this.credit}, beyond the window ${this.remoteWindow}`);
    const w = this.creditWake;
    this.creditWake = null;
    w?.();
  }

  remoteWindow = 0;

  // --- outbound -------------------------------------------------------------------------

  /** Forwards the records local writers commit, while the peer grants credit. */
  private async pumpOut(r: Reader): Promise<void> {
    const link = this.link;
    const ring = this.copy.ring;
    const src = r.inShared ? this.ringBuf : Buffer.from(r.copyBuffer!);
    const notifier = this.side.notifier;
    for (;;) {
      if (this.closed || this.reader !== r || link.closed) return;
      const limit = Math.min(ring.maxMessage, this.remoteMax);
      const need = L.RECORD_HEADER + limit;
      let n = 0;
      try {
        while (this.credit >= need && !link.blocked && n < 1024) {
          const off = r.receive();
          if (off < 0) break;
          n++;
          const sender = r.sender;
          if (this.ownSlots.has(sender)) {
            r.releaseLazy(); // written by our own proxy: it came from the peer
            continue;
          }
          if (!this.sentSet.has(sender)) this.flushRoles();
          if (this.channel !== null) this.ensureResponseRing(sender);
          const len = r.length;
          if (len > limit) {
            this.side.stats.dropped++;
          } else {
            link.sendData(this.sid, src, off - L.RECORD_HEADER, L.RECORD_HEADER + len);
            this.credit -= L.RECORD_HEADER + len;
          }
          r.releaseLazy();
        }
        r.flush();
      } catch (err) {
        // A corrupt local ring: the reader can not go on (docs/ring.md §4.1).
        link.sendError(this.sid, W.ERR_INTERNAL, `${this.copy.name}: ${(err as Error).message}`);
        this.leaveReader();
        return;
      }
      if (n > 0) link.flushSoon();
      if (n >= 1024) {
        await new Promise<void>((res) => setImmediate(res));
      } else if (this.credit < need) {
        await new Promise<void>((res) => {
          this.creditWake = res;
        });
      } else if (link.blocked) {
        await link.drained();
      } else if (n === 0) {
        await r.waitDataAsync(100, notifier);
      }
    }
  }

  /**
   * Before the peer sees a request from `sender`, it must have that client's response ring
   * (`<svc>~res~<sender>`), bound on this link; the peer names it after its own proxy slot.
   */
  private ensureResponseRing(sender: number): void {
    const name = `${this.channel}~res~${sender}`;
    const c = this.side.findCopy(name);
    if (!c || this.resBound.get(sender) === c.region) return;
    const old = this.link.byName.get(name);
    if (old && old.copy === c) {
      this.resBound.set(sender, c.region);
      return;
    }
    if (old) old.unbind();
    this.link.bind(c, W.BIND_CREATE);
    this.resBound.set(sender, c.region);
  }

  /** Tells the peer and drops the proxies. */
  unbind(): void {
    if (this.closed) return;
    this.link.sendFrame(W.FRAME_UNBIND, this.sid, 0);
    this.close();
  }

  /**
   * The link ended without a protocol violation: the records that arrived are complete, so
   * they are still written into the copy (backpressure as before: a slow local reader makes
   * this wait), then the writer proxies leave as close() does. The reader proxy leaves at once.
   */
  finish(): void {
    if (this.closed || this.finishing) return;
    this.leaveReader();
    this.detach();
    if (this.rxq.length === 0) return this.close();
    this.finishing = true;
    if (!this.rxDraining) void this.drainRx();
  }

  /** No more frames for this binding reach it through the link. */
  private detach(): void {
    this.link.bindings.delete(this.sid);
    if (this.link.byName.get(this.copy.name) === this) this.link.byName.delete(this.copy.name);
  }

  /** Drops the proxies (their slots become free: the peer's roles vanish locally). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.finishing = false;
    this.leaveReader();
    for (const s of [...this.writers.keys()]) this.leaveWriter(s);
    for (const it of this.rxq) if (it.body) this.side.stats.dropped++;
    this.rxq.length = 0;
    this.rxBytes = 0;
    this.copy.bindings.delete(this);
    this.detach();
    const w = this.creditWake;
    this.creditWake = null;
    w?.();
    this.side.markDirty(this.copy);
  }
}

// ---------------------------------------------------------------------------------------
// Links: one connection

const STAGE = 64 * 1024;

export class Link {
  readonly bindings = new Map<number, Binding>();
  readonly byName = new Map<string, Binding>();
  closed = false;
  blocked = false;
  /** The peer's HELLO arrived. */
  greeted = false;
  peerPid = 0;
  private nextSid: number;
  private pending: Buffer | null = null;
  private stage: Buffer = Buffer.allocUnsafe(STAGE);
  private used = 0;
  private flushQueued = false;
  private readonly grants = new Set<Binding>();
  private drainWaiters: (() => void)[] = [];
  private lastIn = Date.now();
  private readonly ping: NodeJS.Timeout;
  private readonly flushFn = () => this.flush();

  constructor(
    readonly side: Side,
    readonly socket: netlib.Socket,
    readonly peer: string,
  ) {
    this.nextSid = side.sidParity === 0 ? 2 : 1;
    socket.on('data', (d: Buffer) => this.onChunk(d));
    socket.on('drain', () => {
      this.blocked = false;
      const ws = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of ws) w();
    });
    socket.on('error', (err) => this.close(err));
    socket.on('close', () => this.close(null));
    try {
      socket.setNoDelay(true);
    } catch {
      /* not TCP */
    }
    this.ping = setInterval(() => {
      if (Date.now() - this.lastIn > SILENCE_MS) {
        this.close(new Error(`no frame from ${peer} for ${SILENCE_MS} ms`));
        return;
      }
      const b = this.reserve(W.FRAME_HEADER + 8);
      W.writeFrameHeader(b, this.used, W.FRAME_HEADER + 8, W.FRAME_PING, 0);
      b.writeDoubleLE(Date.now(), this.used + W.FRAME_HEADER);
      this.commit(W.FRAME_HEADER + 8);
    }, PING_MS);
    this.ping.unref();
    const hello = W.helloBody(side.helloRole);
    this.sendBody(W.FRAME_HELLO, 0, hello, 0, hello.length);
  }

  // --- output ---------------------------------------------------------------------------

  /** Room for `n` bytes at `this.used` in the staging buffer. */
  private reserve(n: number): Buffer {
    if (this.used + n > this.stage.length) {
      this.flush();
      if (n > this.stage.length) this.stage = Buffer.allocUnsafe(n);
    }
    return this.stage;
  }

  private commit(n: number): void {
    this.used += n;
    this.side.stats.framesOut++;
    this.flushSoon();
  }

  flushSoon(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(this.flushFn);
  }

  /** Writes the staged frames (one socket write per batch) and the pending credit grants. */
  flush(): void {
    this.flushQueued = false;
    if (this.grants.size > 0) {
      const gs = [...this.grants];
      this.grants.clear();
      for (const g of gs) g.flushGrant();
    }
    if (this.used === 0 || this.closed) return;
    const out = this.stage.subarray(0, this.used);
    this.side.stats.bytesOut += this.used;
    // The socket keeps `out` until written: the next frames go to a fresh staging buffer.
    this.stage = Buffer.allocUnsafe(STAGE);
    this.used = 0;
    if (!this.socket.write(out)) this.blocked = true;
  }

  drained(): Promise<void> {
    if (!this.blocked || this.closed) return Promise.resolve();
    return new Promise((res) => this.drainWaiters.push(res));
  }

  sendFrame(type: number, sid: number, bodyLen: number): Buffer {
    const b = this.reserve(W.FRAME_HEADER + bodyLen);
    W.writeFrameHeader(b, this.used, W.FRAME_HEADER + bodyLen, type, sid);
    if (bodyLen === 0) this.commit(W.FRAME_HEADER);
    return b;
  }

  private sendBody(type: number, sid: number, src: Buffer, at: number, len: number): void {
    const b = this.reserve(W.FRAME_HEADER + len);
    W.writeFrameHeader(b, this.used, W.FRAME_HEADER + len, type, sid);
    src.copy(b, this.used + W.FRAME_HEADER, at, at + len);
    this.commit(W.FRAME_HEADER + len);
  }

  /** DATA: the record (32-byte header + payload) copied verbatim from the local ring. */
  sendData(sid: number, src: Buffer, at: number, len: number): void {
    this.side.stats.recordsOut++;
    this.sendBody(W.FRAME_DATA, sid, src, at, len);
  }

  sendCredit(sid: number, n: number): void {
    const b = this.sendFrame(W.FRAME_CREDIT, sid, 4);
    b.writeUInt32LE(n, this.used + W.FRAME_HEADER);
    this.commit(W.FRAME_HEADER + 4);
  }

  grantLater(b: Binding): void {
    this.grants.add(b);
    this.flushSoon();
  }

  sendRoles(sid: number, r: Roles): void {
    const n = W.rolesSize(r.writers);
    const b = this.sendFrame(W.FRAME_ROLES, sid, n);
    W.writeRoles(b, this.used + W.FRAME_HEADER, r.readers, r.writers);
    this.commit(W.FRAME_HEADER + n);
  }

  sendError(sid: number, code: number, message: string): void {
    const msg = Buffer.from(message.slice(0, 1000), 'utf8');
    const b = this.sendFrame(W.FRAME_ERROR, sid, 4 + msg.length);
    b.writeUInt16LE(code, this.used + W.FRAME_HEADER);
    b.writeUInt16LE(msg.length, this.used + W.FRAME_HEADER + 2);
    msg.copy(b, this.used + W.FRAME_HEADER + 4);
    this.commit(W.FRAME_HEADER + 4 + msg.length);
  }

  /** DIR entry (listener → connector). */
  sendDir(op: number, name: string, header: Buffer | null, r: Roles | null): void {
    const nb = Buffer.from(name, 'utf8');
    const len = 4 + nb.length + (op === W.DIR_PUT ? L.HEADER_SIZE + W.rolesSize(r!.writers) : 0);
    const b = this.sendFrame(W.FRAME_DIR, 0, len);
    let p = this.used + W.FRAME_HEADER;
    b.writeUInt8(op, p);
    b.writeUInt8(0, p + 1);
    b.writeUInt16LE(nb.length, p + 2);
    nb.copy(b, p + 4);
    p += 4 + nb.length;
    if (op === W.DIR_PUT) {
      header!.copy(b, p, 0, L.HEADER_SIZE);
      W.writeRoles(b, p + L.HEADER_SIZE, r!.readers, r!.writers);
    }
    this.commit(W.FRAME_HEADER + len);
  }

  /** Binds local copy `copy` on this link: BIND (mode, name, header, window, roles). */
  bind(copy: Copy, mode: number, preRoles?: Roles): Binding {
    const sid = this.nextSid;
    this.nextSid += 2;
    const bd = new Binding(this, copy, sid);
    this.bindings.set(sid, bd);
    this.byName.set(copy.name, bd);
    if (preRoles) bd.applyRoles(preRoles.readers, preRoles.writers);
    const r = bd.computeRoles();
    bd.noteSent(r);
    const nb = Buffer.from(copy.name, 'utf8');
    const len = 4 + nb.length + L.HEADER_SIZE + 4 + W.rolesSize(r.writers);
    const b = this.sendFrame(W.FRAME_BIND, sid, len);
    let p = this.used + W.FRAME_HEADER;
    b.writeUInt8(mode, p);
    b.writeUInt8(0, p + 1);
    b.writeUInt16LE(nb.length, p + 2);
    nb.copy(b, p + 4);
    p += 4 + nb.length;
    copy.header.copy(b, p, 0, L.HEADER_SIZE);
    b.writeUInt32LE(bd.window, p + L.HEADER_SIZE);
    W.writeRoles(b, p + L.HEADER_SIZE + 4, r.readers, r.writers);
    this.commit(W.FRAME_HEADER + len);
    return bd;
  }

  // --- input ----------------------------------------------------------------------------

  private onChunk(d: Buffer): void {
    if (this.closed) return;
    this.lastIn = Date.now();
    this.side.stats.bytesIn += d.length;
    let b = d;
    if (this.pending) {
      b = Buffer.concat([this.pending, d]);
      this.pending = null;
    }
    let p = 0;
    try {
      while (b.length - p >= W.FRAME_HEADER) {
        const len = b.readUInt32LE(p);
        if (len < W.FRAME_HEADER || len > W.MAX_FRAME) throw new W.ProtocolError(`frame length ${len} outside [${W.FRAME_HEADER}, ${W.MAX_FRAME}]`);
        if (b.length - p < len) break;
        const type = b.readUInt16LE(p + 4);
        const flags = b.readUInt16LE(p + 6);
        if (flags !== 0) throw new W.ProtocolError(`frame flags 0x${flags.toString(16)} (type ${type}) must be zero`);
        this.side.stats.framesIn++;
        this.onFrame(type, b.readUInt32LE(p + 8), b, p + W.FRAME_HEADER, len - W.FRAME_HEADER);
        p += len;
        if (this.closed) return;
      }
    } catch (err) {
      this.fail(err);
      return;
    }
    if (p < b.length) this.pending = b.subarray(p);
    this.flush();
  }

  /** A peer that broke the contract: ERROR, then close. The process goes on. */
  private fail(err: unknown): void {
    const code = err instanceof W.ProtocolError ? err.wireCode : W.ERR_INTERNAL;
    if (err instanceof W.ProtocolError) this.side.stats.protocolErrors++;
    try {
      this.sendError(0, code, (err as Error).message);
      this.flush();
    } catch {
      /* the socket is going away anyway */
    }
    this.close(err instanceof Error ? err : new Error(String(err)));
  }

  private binding(sid: number, type: number): Binding | undefined {
    const b = this.bindings.get(sid);
    if (!b && sid === 0) throw new W.ProtocolError(`${W.FRAME_NAMES[type]} frame needs a stream id`);
    return b; // unknown non-zero ids: frames that crossed our UNBIND; ignored
  }

  private onFrame(type: number, sid: number, b: Buffer, at: number, len: number): void {
    const end = at + len;
    if (!this.greeted) {
      if (type !== W.FRAME_HELLO) throw new W.ProtocolError(`first frame is type ${type} (${W.FRAME_NAMES[type] ?? 'unknown'}), expected HELLO`);
      this.peerPid = W.checkHello(b, at, len, this.side.peerRole).pid;
      this.greeted = true;
      this.side.linkUp(this);
      return;
    }
    switch (type) {
      case W.FRAME_DATA: {
        this.binding(sid, type)?.onData(b, at, len);
        return;
      }
      case W.FRAME_CREDIT: {
        if (len !== 4) throw new W.ProtocolError(`CREDIT body is ${len} bytes, expected 4`);
        this.binding(sid, type)?.onCredit(b.readUInt32LE(at));
        return;
      }
      case W.FRAME_ROLES: {
        const r = W.readRoles(b, at, end);
        if (r.next !== end) throw new W.ProtocolError(`ROLES body has ${end - r.next} trailing bytes`);
        this.binding(sid, type)?.applyRoles(r.readers, r.writers);
        return;
      }
      case W.FRAME_BIND:
        return this.onBind(sid, b, at, end);
      case W.FRAME_BOUND: {
        if (len < L.HEADER_SIZE + 4 + 4) throw new W.ProtocolError(`BOUND body of ${len} bytes is too short`);
        const params = W.parseHeader(b, at);
        const bd = this.binding(sid, type);
        if (!bd) return;
        this.checkType(bd.copy, params);
        bd.remoteMax = params.maxMessage;
        bd.remoteWindow = b.readUInt32LE(at + L.HEADER_SIZE);
        bd.credit = bd.remoteWindow;
        const r = W.readRoles(b, at + L.HEADER_SIZE + 4, end);
        bd.applyRoles(r.readers, r.writers);
        bd.onCredit(0);
        return;
      }
      case W.FRAME_UNBIND: {
        this.binding(sid, type)?.close();
        return;
      }
      case W.FRAME_DIR: {
        if (len < 4) throw new W.ProtocolError(`DIR body of ${len} bytes is too short`);
        const op = b.readUInt8(at);
        if (op === W.DIR_SYNCED) return this.side.onDir(this, op, '', b, at, end);
        const [name, p] = W.readName(b, at + 2, end);
        return this.side.onDir(this, op, name, b, p, end);
      }
      case W.FRAME_ERROR: {
        if (len < 4) throw new W.ProtocolError(`ERROR body of ${len} bytes is too short`);
        const code = b.readUInt16LE(at);
        const n = Math.min(b.readUInt16LE(at + 2), len - 4);
        const msg = b.toString('utf8', at + 4, at + 4 + n);
        this.side.stats.errorsIn++;
        const err = new IsthmusError('TRANSPORT', `peer ${this.peer} reported error ${code}${sid ? ` on stream ${sid}` : ''}: ${msg}`);
        if (this.side.listenerCount('error') > 0) this.side.emit('error', err);
        if (sid === 0) this.close(err);
        else this.bindings.get(sid)?.close();
        return;
      }
      case W.FRAME_PING: {
        if (len !== 8) throw new W.ProtocolError(`PING body is ${len} bytes, expected 8`);
        const o = this.sendFrame(W.FRAME_PONG, 0, 8);
        b.copy(o, this.used + W.FRAME_HEADER, at, at + 8);
        this.commit(W.FRAME_HEADER + 8);
        return;
      }
      case W.FRAME_PONG:
        return;
      case W.FRAME_HELLO:
        throw new W.ProtocolError('second HELLO');
      default:
        throw new W.ProtocolError(`unknown frame type ${type} (stream ${sid}, ${len} body bytes)`);
    }
  }

  private checkType(copy: Copy, params: RingParams): void {
    const ring = copy.ring;
    if (params.kind !== ring.kind) throw new W.ProtocolError(`${copy.name}: the peer's region is a ${params.kind} ring, this side's a ${ring.kind} ring`, W.ERR_TYPE_MISMATCH);
    if (params.typeId !== 0n && ring.typeId !== 0n && params.typeId !== ring.typeId)
      throw new W.ProtocolError(`${copy.name}: type_id 0x${params.typeId.toString(16).padStart(16, '0')} from the peer, 0x${ring.typeId.toString(16).padStart(16, '0')} here`, W.ERR_TYPE_MISMATCH);
  }

  /** BIND: translate the name, find or make the copy, join proxies, answer BOUND (or ERROR). */
  private onBind(sid: number, b: Buffer, at: number, end: number): void {
    if (sid === 0 || (sid & 1) === this.side.sidParity || this.bindings.has(sid)) throw new W.ProtocolError(`BIND with stream id ${sid}: zero, of this side's parity, or in use`);
    const mode = b.readUInt8(at);
    if (mode > 1) throw new W.ProtocolError(`BIND mode ${mode}, expected 0 or 1`);
    const [name, p] = W.readName(b, at + 2, end);
    if (p + L.HEADER_SIZE + 4 > end) throw new W.ProtocolError(`BIND of ${name}: body too short for header and window`);
    const params = W.parseHeader(b, p);
    const window = b.readUInt32LE(p + L.HEADER_SIZE);
    if (window < L.RECORD_HEADER + params.maxMessage) throw new W.ProtocolError(`BIND of ${name}: window ${window} is smaller than one record (${L.RECORD_HEADER + params.maxMessage})`);
    const roles = W.readRoles(b, p + L.HEADER_SIZE + 4, end);
    const local = this.translate(name);
    if (local === null) {
      this.sendError(sid, W.ERR_UNMAPPED, `${name}: no request-ring slot maps this response ring (send ROLES of the request ring first)`);
      return;
    }
    let bd: Binding | undefined;
    try {
      this.side.ensureCopy(local, params, mode, (copy) => {
        this.checkType(copy, params);
        const old = this.byName.get(local);
        if (old) old.close();
        bd = new Binding(this, copy, sid);
        this.bindings.set(sid, bd);
        this.byName.set(local, bd);
        bd.remoteMax = params.maxMessage;
        bd.remoteWindow = window;
        bd.credit = window;
        bd.applyRoles(roles.readers, roles.writers);
      });
    } catch (err) {
      if (err instanceof W.ProtocolError && err.wireCode !== W.ERR_PROTOCOL) {
        this.sendError(sid, err.wireCode, err.message);
        return;
      }
      throw err;
    }
    const r = bd!.computeRoles();
    bd!.noteSent(r);
    const len = L.HEADER_SIZE + 4 + W.rolesSize(r.writers);
    const o = this.sendFrame(W.FRAME_BOUND, sid, len);
    const q = this.used + W.FRAME_HEADER;
    bd!.copy.header.copy(o, q, 0, L.HEADER_SIZE);
    o.writeUInt32LE(bd!.window, q + L.HEADER_SIZE);
    W.writeRoles(o, q + L.HEADER_SIZE + 4, r.readers, r.writers);
    this.commit(W.FRAME_HEADER + len);
  }

  /** The peer's region name → this side's: `<svc>~res~<k>` becomes `<svc>~res~<proxy slot of k>`. */
  private translate(name: string): string | null {
    const m = /^(.*)~res~(\d+)$/.exec(name);
    if (!m) return name;
    const req = this.byName.get(`${m[1]}~req`);
    const slot = req?.proxySlot(Number(m[2]));
    return slot ? `${m[1]}~res~${slot}` : null;
  }

  /** Closes the connection; every binding drops its proxies (peers vanish locally). */
  close(err: Error | null): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    clearInterval(this.ping);
    // A peer that broke the contract gets nothing more written; otherwise what arrived is kept.
    const violated = err instanceof W.ProtocolError;
    for (const b of [...this.bindings.values()]) if (violated) b.close();
    else b.finish();
    const ws = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of ws) w();
    // end(): frames already handed to the socket still go out (the ERROR frame of a
    // violation, the last DATA before a close); destroy() if the peer does not take them.
    if (!this.socket.destroyed) {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 2000).unref();
    }
    this.side.linkDown(this, err);
  }
}

// ---------------------------------------------------------------------------------------
// The connector: a Transport whose regions are local copies of the listener's

export interface NetOptions {
  /** How long `connect()` waits for the first connection (default 5000 ms). */
  connectTimeoutMs?: number;
}

interface DirEntry {
  header: Buffer;
  params: RingParams;
  roles: Roles;
  live: boolean;
}

/**
 * `isthmus.node({ transport: 'tcp://host:port' })`: regions are private SharedArrayBuffers of
 * this process, mirrored with a listener. One thread (the one that created the transport)
 * uses it; waiting is Atomics.waitAsync. Events: 'connect', 'disconnect' (Error), 'error'.
 */
export class NetTransport extends Side implements Transport {
  readonly kind: 'tcp' | 'unix';
  readonly notifier: Notifier = inProcessNotifier;
  readonly sidParity = 0;
  readonly helloRole = W.ROLE_CONNECTOR;
  readonly peerRole = W.ROLE_LISTENER;
  readonly address: NetAddress;
  private readonly copies = new Map<string, Copy>();
  private readonly dir = new Map<string, DirEntry>();
  private link: Link | null = null;
  private synced = false;
  private closedT = false;
  private attempt = 0;
  private retry: NodeJS.Timeout | null = null;
  private lastError: NetError | null = null;
  private readonly scan: NodeJS.Timeout;
  private readyWaiters: { resolve(): void; reject(e: Error): void }[] = [];

  constructor(address: NetAddress) {
    super();
    this.address = address;
    this.kind = address.kind;
    this.scan = setInterval(() => {
      if (this.link) for (const b of this.link.bindings.values()) b.flushRoles();
    }, ROLES_SCAN_MS);
    this.scan.unref();
    this.on('error', () => {}); // errors are also reported through `lastError` and 'disconnect'
    this.dial();
  }

  get where(): string {
    if (this.link && this.synced) return this.address.url;
    return `${this.address.url} (not connected${this.lastError ? `: ${this.lastError.errno ?? this.lastError.message}` : ''})`;
  }

  /** Is the connection up (handshake and directory done)? */
  get connected(): boolean {
    return this.link !== null && this.synced;
  }

  /** Resolves once connected; rejects with NetError after `timeoutMs`. */
  ready(timeoutMs = 5000): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = {
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
        reject: (e: Error) => {
          clearTimeout(t);
          reject(e);
        },
      };
      const t = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((x) => x !== w);
        const e = this.lastError;
        reject(new NetError(this.address, `not connected after ${timeoutMs} ms (${this.attempt} attempts)${e ? `: ${e.message}` : ''}`, e?.errno, { cause: e ?? undefined }));
      }, timeoutMs);
      this.readyWaiters.push(w);
    });
  }

  private dial(): void {
    if (this.closedT) return;
    this.attempt++;
    const a = this.address;
    const sock = a.kind === 'tcp' ? netlib.connect({ host: a.host!, port: a.port! }) : netlib.connect({ path: a.path! });
    sock.unref();
    let up = false;
    sock.once('connect', () => {
      up = true;
      this.link = new Link(this, sock, a.url);
    });
    sock.once('error', (err) => {
      if (up) return; // the link reports it
      this.lastError = new NetError(a, `connect failed: ${err.message}`, errnoOf(err), { cause: err });
      sock.destroy();
      this.scheduleRetry();
    });
  }

  private scheduleRetry(): void {
    if (this.closedT || this.retry) return;
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_INITIAL_MS * 2 ** Math.min(this.attempt - 1, 16));
    this.retry = setTimeout(() => {
      this.retry = null;
      this.dial();
    }, delay);
    this.retry.unref();
  }

  linkUp(link: Link): void {
    this.stats.connects++;
    this.attempt = 0;
    this.synced = false;
    void link;
  }

  /** Re-binds what was bound before the connection was lost (and what was made meanwhile). */
  private rebindAll(link: Link): void {
    for (const c of this.copies.values()) {
      if (c.want < 0 || link.byName.has(c.name)) continue;
      if (c.want === W.BIND_OPEN && !this.dir.has(c.name)) continue; // bound when the listener lists it again
      link.bind(c, c.want);
    }
  }

  linkDown(link: Link, err: Error | null): void {
    if (this.link !== link) return;
    this.link = null;
    this.synced = false;
    this.dir.clear();
    this.stats.disconnects++;
    const e = new NetError(this.address, `connection lost${err ? `: ${err.message}` : ''}`, errnoOf(err), { cause: err ?? undefined });
    this.lastError = e;
    if (this.listenerCount('disconnect') > 0) this.emit('disconnect', e);
    this.attempt = 1;
    this.scheduleRetry();
  }

  override onDir(link: Link, op: number, name: string, b: Buffer, at: number, end: number): void {
    if (op === W.DIR_SYNCED) {
      this.synced = true;
      this.rebindAll(link);
      const ws = this.readyWaiters;
      this.readyWaiters = [];
      for (const w of ws) w.resolve();
      if (this.listenerCount('connect') > 0) this.emit('connect');
      return;
    }
    if (op === W.DIR_DEL) {
      this.dir.delete(name);
      return;
    }
    if (op !== W.DIR_PUT || at + L.HEADER_SIZE > end) throw new W.ProtocolError(`DIR op ${op} for ${name}: unknown op or short body`);
    const params = W.parseHeader(b, at);
    const roles = W.readRoles(b, at + L.HEADER_SIZE, end);
    const header = Buffer.from(b.subarray(at, at + L.HEADER_SIZE));
    this.dir.set(name, { header, params, roles: { readers: roles.readers, writers: roles.writers }, live: roles.readers || roles.writers.length > 0 });
    const c = this.copies.get(name);
    if (c && c.want === W.BIND_OPEN && this.synced && !link.byName.has(name)) link.bind(c, W.BIND_OPEN);
  }

  ensureCopy(name: string, params: RingParams, _mode: number, init: (copy: Copy) => void): Copy {
    // Only response rings are bound from the listener's side; they are made here on demand.
    let c = this.copies.get(name);
    if (!c) {
      const region = this.makeRegion(name, regionSize(params), (r) => {
        formatRing(r.buffer, r.byteOffset, params, this.identity, BigInt(Date.now()) * 1_000_000n);
        markReady(r.buffer, r.byteOffset);
      });
      c = new Copy(name, region, Ring.open(region.buffer, 0, region.byteLength, params.typeId));
      this.copies.set(name, c);
    }
    init(c);
    return c;
  }

  findCopy(name: string): Copy | null {
    return this.copies.get(name) ?? null;
  }

  private makeRegion(name: string, size: number, init: (r: Region) => void): Region {
    const r: Region = { name, buffer: new SharedArrayBuffer(size), byteOffset: 0, byteLength: size, close() {} };
    init(r);
    return r;
  }

  // --- Transport ------------------------------------------------------------------------

  create(name: string, size: number, init: (region: Region) => void): Region | null {
    if (this.closedT) throw new NetError(this.address, `transport closed (create ${name})`);
    if (this.copies.has(name)) return null;
    if (this.dir.get(name)?.live) return null; // the listener has it: open() mirrors it
    const region = this.makeRegion(name, size, init);
    const c = new Copy(name, region, Ring.open(region.buffer, 0, size));
    this.copies.set(name, c);
    // Response rings are bound when their first request is forwarded (Binding.ensureResponseRing).
    if (!/~res~\d+$/.test(name)) {
      c.want = W.BIND_CREATE;
      if (this.link && this.synced) this.link.bind(c, W.BIND_CREATE);
    }
    return region;
  }

  open(name: string): Region | null {
    const c = this.copies.get(name);
    if (c) return c.region;
    const d = this.dir.get(name);
    if (!d || !this.link || !this.synced) return null;
    const region = this.makeRegion(name, regionSize(d.params), (r) => {
      formatRing(r.buffer, r.byteOffset, d.params, this.identity, BigInt(Date.now()) * 1_000_000n);
      markReady(r.buffer, r.byteOffset);
    });
    const copy = new Copy(name, region, Ring.open(region.buffer, 0, region.byteLength));
    copy.want = W.BIND_OPEN;
    this.copies.set(name, copy);
    // Proxies for the listener's participants as its directory lists them, at once: the
    // opener sees a live publisher/server/worker (and ROLE_TAKEN) as it would on shm.
    const link = this.link;
    link.bind(copy, W.BIND_OPEN, d.roles);
    // The caller joins right after open() returns: tell the listener soon after.
    setImmediate(() => link.byName.get(name)?.flushRoles());
    return region;
  }

  list(): string[] {
    const out = [...this.copies.keys()];
    for (const n of this.dir.keys()) if (!this.copies.has(n)) out.push(n);
    return out;
  }

  remove(name: string, expect?: Region): boolean {
    const c = this.copies.get(name);
    if (!c || (expect && expect !== c.region)) return false;
    this.copies.delete(name);
    for (const b of [...c.bindings]) b.unbind();
    this.link?.flushSoon();
    return true;
  }

  /** Counters (frames, bytes, records, reconnects, buffered bytes). */
  netStats(): NetStats {
    return { ...this.stats };
  }

  close(): void {
    if (this.closedT) return;
    this.closedT = true;
    clearInterval(this.scan);
    if (this.retry) clearTimeout(this.retry);
    this.link?.close(null);
    const e = new NetError(this.address, 'transport closed');
    for (const w of this.readyWaiters) w.reject(e);
    this.readyWaiters = [];
  }
}

/** Connects to a listener (`tcp://host:port`, `unix:///path`); resolves once connected. */
export async function connect(url: string, opts: NetOptions = {}): Promise<NetTransport> {
  const t = new NetTransport(parseNetUrl(url));
  try {
    await t.ready(opts.connectTimeoutMs ?? 5000);
  } catch (err) {
    t.close();
    throw err;
  }
  return t;
}

// ---------------------------------------------------------------------------------------
// The listener: serves a local transport's regions to connectors

export interface ListenOptions {
  /** TCP port (0: any free port; see `listener.port`). */
  port?: number;
  /** TCP address to bind (default 127.0.0.1; '0.0.0.0' for every interface). */
  host?: string;
  /** A Unix stream socket path instead of TCP (a stale socket file is replaced). */
  path?: string;
  /** The transport whose regions are served (required): an embedding process passes its node's (`node.transport`); the CLI uses shm under its root. */
  transport: Transport;
}

/**
 * Accepts connectors and mirrors the regions of `transport` with them. Embed it next to a
 * node on the same transport, or run it standalone (`node packages/sdk/dist/net/cli.js`).
 */
export class Listener extends Side {
  readonly notifier: Notifier;
  readonly sidParity = 1;
  readonly helloRole = W.ROLE_LISTENER;
  readonly peerRole = W.ROLE_CONNECTOR;
  readonly transport: Transport;
  readonly server: netlib.Server;
  readonly links = new Set<Link>();
  private readonly copies = new Map<string, Copy>();
  private readonly timer: NodeJS.Timeout;
  private tick = 0;
  private closedL = false;
  url = '';
  port = 0;
  path: string | undefined;

  constructor(transport: Transport, server: netlib.Server) {
    super();
    this.transport = transport;
    this.notifier = transport.notifier;
    this.server = server;
    server.on('connection', (sock) => {
      if (this.closedL) return sock.destroy();
      const peer = sock.remoteAddress ? `${sock.remoteAddress}:${sock.remotePort}` : 'unix peer';
      this.links.add(new Link(this, sock, peer));
    });
    this.timer = setInterval(() => this.onTick(), ROLES_SCAN_MS);
    this.on('error', () => {});
  }

  private onTick(): void {
    if (++this.tick % (DIR_SCAN_MS / ROLES_SCAN_MS) === 0) this.scanDir();
    for (const l of this.links) for (const b of l.bindings.values()) b.flushRoles();
  }

  /** Roles of every live participant (directory entries). */
  private allRoles(c: Copy): Roles {
    const ring = c.ring;
    const dv = ring.dv;
    let readers = false;
    const writers: number[] = [];
    for (let s = 1; s <= ring.slots; s++) {
      const o = L.slotOffset(s);
      if (Atomics.load(ring.i32, (o + L.S_STATE) >> 2) !== L.SLOT_ACTIVE) continue;
      if (!this.alive(dv.getUint32(o + L.S_PID, true), dv.getBigUint64(o + L.S_START, true))) continue;
      const role = dv.getUint32(o + L.S_ROLE, true);
      if (role === L.ROLE_CONSUMER || role === L.ROLE_SUBSCRIBER) readers = true;
      else writers.push(s);
    }
    return { readers, writers };
  }

  /** Lists the backing transport and sends directory changes to every connector. */
  private scanDir(): void {
    const names = new Set(this.transport.list().filter((n) => !/~res~\d+$/.test(n)));
    for (const [name, c] of this.copies) {
      if (names.has(name) || /~res~\d+$/.test(name)) continue;
      if (c.dirKey !== undefined) for (const l of this.links) if (l.greeted) l.sendDir(W.DIR_DEL, name, null, null);
      c.dirKey = undefined;
      if (c.bindings.size === 0) {
        this.copies.delete(name);
        c.region.close();
      }
    }
    for (const name of names) {
      const c = this.findCopy(name);
      if (!c) continue;
      const r = this.allRoles(c);
      const key = `${c.header.readBigUInt64LE(L.H_CREATED_NS)}/${r.readers}/${r.writers.join(',')}`;
      if (key === c.dirKey) continue;
      c.dirKey = key;
      for (const l of this.links) if (l.greeted) l.sendDir(W.DIR_PUT, name, c.header, r);
    }
  }

  linkUp(link: Link): void {
    this.stats.connects++;
    for (const [name, c] of this.copies) if (c.dirKey !== undefined) link.sendDir(W.DIR_PUT, name, c.header, this.allRoles(c));
    link.sendDir(W.DIR_SYNCED, '', null, null);
  }

  linkDown(link: Link, err: Error | null): void {
    this.links.delete(link);
    this.stats.disconnects++;
    if (err && this.listenerCount('linkError') > 0) this.emit('linkError', err, link.peer);
  }

  /**
   * The copy of `name` in the backing transport, opened once and kept; re-opened when the
   * name now refers to a newer region (compared by the creation stamp in its header).
   */
  findCopy(name: string): Copy | null {
    const c = this.copies.get(name);
    if (c && c.bindings.size > 0) return c;
    let region: Region | null;
    try {
      region = this.transport.open(name);
    } catch {
      return null;
    }
    if (!region) return null;
    if (c && Buffer.compare(Buffer.from(region.buffer, region.byteOffset, L.HEADER_SIZE), c.header) === 0) {
      region.close();
      return c;
    }
    let ring: Ring;
    try {
      ring = Ring.open(region.buffer, region.byteOffset, region.byteLength);
    } catch {
      region.close();
      return null; // not a ring, or one being torn down
    }
    const n = new Copy(name, region, ring);
    if (c) c.region.close();
    this.copies.set(name, n);
    return n;
  }

  ensureCopy(name: string, params: RingParams, mode: number, init: (copy: Copy) => void): Copy {
    for (let attempt = 0; attempt < 10; attempt++) {
      const c = this.findCopy(name);
      if (c) {
        const compatible = c.ring.kind === params.kind && (params.typeId === 0n || c.ring.typeId === 0n || c.ring.typeId === params.typeId);
        const live = c.bindings.size > 0 || this.allRoles(c).readers || this.allRoles(c).writers.length > 0;
        // Same parameters, or in use: mirror the existing region (response rings are reused
        // so that a server's cached writer keeps reaching the slot's current client).
        const same = c.ring.capacity === params.capacity && c.ring.maxMessage === params.maxMessage && c.ring.slots === params.slots && c.ring.policy === (params.policy ?? 'block');
        if (compatible && (live || same || mode === W.BIND_OPEN)) {
          init(c);
          return c;
        }
        if (mode === W.BIND_OPEN || live) {
          init(c); // checkType in init reports the mismatch with both type ids
          return c;
        }
        // Stale and made with other parameters: replace it, as a local create would.
        this.transport.remove(name, c.region);
        this.copies.delete(name);
        c.region.close();
        continue;
      }
      if (mode === W.BIND_OPEN) throw new W.ProtocolError(`${name}: no such region in ${this.transport.where}`, W.ERR_NOT_FOUND);
      let made: Copy | null = null;
      const region = this.transport.create(name, regionSize(params), (r) => {
        formatRing(r.buffer, r.byteOffset, params, this.identity, BigInt(Date.now()) * 1_000_000n);
        markReady(r.buffer, r.byteOffset);
        made = new Copy(name, r, Ring.open(r.buffer, r.byteOffset, r.byteLength));
        // Join the proxies before the name is published: a local opener never sees it stale.
        init(made);
      });
      if (region && made) {
        this.copies.set(name, made);
        return made;
      }
    }
    throw new W.ProtocolError(`${name}: could not create or open it in ${this.transport.where} (it kept changing)`, W.ERR_INTERNAL);
  }

  netStats(): NetStats {
    return { ...this.stats };
  }

  /** Keeps the process alive while listening (the default)? */
  unref(): this {
    this.server.unref();
    this.timer.unref();
    return this;
  }

  /** Stops listening and drops every connection (connectors see their peers vanish). */
  close(): Promise<void> {
    if (this.closedL) return Promise.resolve();
    this.closedL = true;
    clearInterval(this.timer);
    for (const l of [...this.links]) l.close(null);
    return new Promise((res) => this.server.close(() => res()));
  }
}

/** Starts a listener serving `opts.transport` on a TCP port or a Unix socket path. */
export async function listen(opts: ListenOptions): Promise<Listener> {
  const server = netlib.createServer();
  const l = new Listener(opts.transport, server);
  const addr: NetAddress = opts.path !== undefined ? { url: `unix://${opts.path}`, kind: 'unix', path: opts.path } : { url: `tcp://${opts.host ?? '127.0.0.1'}:${opts.port ?? 0}`, kind: 'tcp', host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 };
  if (opts.path !== undefined) {
    const { rmSync, statSync } = await import('node:fs');
    try {
      if (statSync(opts.path).isSocket()) rmSync(opts.path);
    } catch {
      /* no stale socket */
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new NetError(addr, `cannot listen: ${err.message}`, errnoOf(err), { cause: err })));
    if (opts.path !== undefined) server.listen(opts.path, () => resolve());
    else server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const a = server.address();
  if (a && typeof a === 'object') {
    l.port = a.port;
    l.url = `tcp://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
  } else {
    l.path = opts.path;
    l.url = `unix://${opts.path}`;
  }
  return l;
}
