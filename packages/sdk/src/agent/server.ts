/**
 * The node agent (docs/agent.md): a process that owns every region of its socket's
 * peers. It creates regions as sealed memfds and hands them out over SCM_RIGHTS, knows
 * each peer by SO_PEERCRED, enforces the policy, answers liveness questions for peers in
 * other pid namespaces, cleans up after dead peers and samples the rings for metrics.
 *
 * It never blocks: sockets are polled by libuv (FdServer/FdSocket), requests are handled
 * in the callback that received them.
 */
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { userInfo } from 'node:os';
import { checkName, parseRegionName } from '../transport.js';
import { procStartTime } from '../ring/identity.js';
import * as L from '../ring/layout.js';
import { Ring } from '../ring/ring.js';
import { inspectRing } from '../inspect.js';
import { check, Policy, type PeerIdentity, type Rights } from './policy.js';
import { decode, encode, ERROR, errorFrame, Op, OP_NAMES, ProtocolError, REPLY, type AgentErrorCode } from './protocol.js';
import type { AgentNative, AsyncServer, AsyncSocket, MemRegion } from './native.js';
import { pidNamespace } from './client.js';

export interface AgentOptions {
  socket: string;
  /** File mode of the socket (default 0o666: the policy, not the mode, decides who may use it). */
  socketMode?: number;
  policy: Policy;
  /** Largest region a peer may create (default 1 GiB + 1 MiB). */
  maxRegion?: number;
  /** Metrics sampling interval (default 1000 ms). */
  sampleMs?: number;
  log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
}

/** Per-channel metrics (one region), as STAT and /metrics report them. */
export interface ChannelMetrics {
  region: string;
  channel: string;
  kind: string;
  capacity: number;
  fill: number;
  fillRatio: number;
  bytes: number;
  /** Messages committed (null: MPSC rings have no sequence counter). */
  messages: number | null;
  bytesPerSec: number;
  messagesPerSec: number | null;
  participants: Record<string, number>;
  lost: number;
  holders: number;
  creatorPid: number;
}

export interface AgentStats {
  agent: { pid: number; socket: string; policy: string; uptimeS: number; peers: number; deadPeers: number; freedSlots: number; denied: number; regions: number; regionsDropped: number; requests: Record<string, number> };
  peers: { pid: number; uid: number; gid: number; user: string; regions: number; sameNamespace: boolean }[];
  channels: ChannelMetrics[];
}

interface Identity {
  pid: number;
  startTime: bigint;
}

interface Conn {
  id: number;
  sock: AsyncSocket;
  cred: PeerIdentity;
  user: string;
  ident: Identity | null;
  rights: Rights | null;
  sameNamespace: boolean;
  /** Regions this peer holds (created or opened and not yet released), by token. */
  holds: Map<number, number>;
  /** Names this peer is creating (CREATE done, PUBLISH not yet). */
  pending: Set<string>;
}

interface Reg {
  name: string;
  token: number;
  mem: MemRegion;
  size: number;
  ring: Ring | null;
  holders: Set<number>;
  published: boolean;
  creator: number;
  /** CREATE requests of other peers waiting for this pending name to publish or abort. */
  waiters: { conn: Conn; id: number; body: Record<string, unknown> }[];
  // sampling state
  lastTail: number;
  lastSeq: number;
  lastAt: number;
  bytes: number;
  messages: number;
  bytesPerSec: number;
  messagesPerSec: number;
}

const key = (id: Identity) => `${id.pid}:${id.startTime}`;

function groupsOf(pid: number, gid: number): number[] {
  try {
    const m = /^Groups:[ \t]*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    const g = m ? m[1]!.trim().split(/\s+/).filter(Boolean).map(Number) : [];
    return [...new Set([gid, ...g])];
  } catch {
    return [gid];
  }
}

function userName(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (Number(f[2]) === uid && f[0]) return f[0];
    }
  } catch {
    /* no passwd */
  }
  return String(uid);
}

export class Agent {
  readonly socket: string;
  readonly policy: Policy;
  private readonly n: AgentNative;
  private readonly maxRegion: number;
  private readonly sampleMs: number;
  private readonly log: NonNullable<AgentOptions['log']>;
  private server: AsyncServer | null = null;
  private readonly conns = new Map<number, Conn>();
  private readonly regions = new Map<string, Reg>();
  private readonly byToken = new Map<number, Reg>();
  /** Identities whose last connection closed (dead for ALIVE), oldest first; bounded. */
  private readonly gone = new Map<string, number>();
  /** Dead identities with slots kept back (an MPSC claim the consumer has not recovered yet). */
  private readonly leftover = new Set<string>();
  private nextConn = 1;
  private stopping = false;
  private nextToken = 1;
  private timer: NodeJS.Timeout | null = null;
  private readonly started = Date.now();
  private readonly myNs = pidNamespace();
  readonly counters = { deadPeers: 0, freedSlots: 0, denied: 0, regionsDropped: 0, requests: {} as Record<string, number> };

  constructor(n: AgentNative, opts: AgentOptions) {
    this.n = n;
    this.socket = opts.socket;
    this.policy = opts.policy;
    this.maxRegion = opts.maxRegion ?? 2 ** 30 + 2 ** 20;
    this.sampleMs = opts.sampleMs ?? 1000;
    this.log = opts.log ?? (() => {});
    this.socketMode = opts.socketMode ?? 0o666;
  }
  private readonly socketMode: number;

  /** Listens on the socket. A socket file nobody listens on (a dead agent's) is replaced. */
  start(): void {
    if (existsSync(this.socket)) {
      let live = false;
      try {
        const fd = this.n.connectSync(this.socket);
        this.n.closeFd(fd);
        live = true;
      } catch {
        /* ECONNREFUSED: stale */
      }
      if (live) throw new Error(`another isthmus agent is listening on ${this.socket}`);
      unlinkSync(this.socket);
      this.log('warn', `removed the stale socket ${this.socket}`);
    }
    const server = new this.n.FdServer(this.socket, { mode: this.socketMode });
    server.on('connection', (s) => this.accept(s));
    server.on('error', (err) => this.log('error', `accept on ${this.socket}: ${err.message}`));
    this.server = server;
    this.timer = setInterval(() => this.sample(), this.sampleMs);
    this.log('info', `listening on ${this.socket} (mode ${this.socketMode.toString(8)}), policy: ${this.policy.source}`);
  }

  /** Closes every connection and drops every region; unlinks the socket. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.server) {
      this.server.close();
      this.server = null;
      try {
        unlinkSync(this.socket);
      } catch {
        /* already gone */
      }
    }
    this.stopping = true;
    for (const r of [...this.byToken.values()]) this.drop(r, 'agent shutdown');
    const peers = this.conns.size;
    for (const c of [...this.conns.values()]) c.sock.close();
    this.log('info', `stopped: closed ${peers} connections; ${this.conns.size} peers, ${this.byToken.size} regions left`);
  }

  get regionCount(): number {
    return this.regions.size;
  }

  private accept(sock: AsyncSocket): void {
    let cred: { pid: number; uid: number; gid: number };
    try {
      cred = sock.peerCred();
    } catch (err) {
      this.log('warn', `SO_PEERCRED failed: ${(err as Error).message}`);
      sock.close();
      return;
    }
    const conn: Conn = {
      id: this.nextConn++,
      sock,
      cred: { ...cred, groups: groupsOf(cred.pid, cred.gid) },
      user: userName(cred.uid),
      ident: null,
      rights: null,
      sameNamespace: false,
      holds: new Map(),
      pending: new Set(),
    };
    this.conns.set(conn.id, conn);
    sock.on('message', (data, fds) => {
      for (const fd of fds) this.n.closeFd(fd); // peers never send fds to the agent
      this.onFrame(conn, data);
    });
    sock.on('close', () => this.onClose(conn));
  }

  private who(c: Conn): string {
    return `pid ${c.cred.pid} uid ${c.cred.uid} (${c.user}) gid ${c.cred.gid}`;
  }

  private reply(c: Conn, op: number, id: number, body: Record<string, unknown> = {}, fds: number[] = []): void {
    if (!c.sock.closed) c.sock.send(encode(REPLY | op, id, body), fds);
  }

  private fail(c: Conn, id: number, code: AgentErrorCode, message: string): void {
    if (code === 'DENIED') {
      this.counters.denied++;
      this.log('warn', `denied ${this.who(c)}: ${message}`);
    }
    if (!c.sock.closed) c.sock.send(errorFrame(id, code, message));
  }

  private onFrame(c: Conn, data: Buffer): void {
    let f;
    try {
      f = decode(data);
    } catch (err) {
      this.fail(c, 0, 'PROTOCOL', (err as ProtocolError).message);
      c.sock.close();
      return;
    }
    const name = OP_NAMES[f.op] ?? `op ${f.op}`;
    this.counters.requests[name] = (this.counters.requests[name] ?? 0) + 1;
    try {
      if (f.op !== Op.HELLO && !c.ident) return this.fail(c, f.id, 'PROTOCOL', `${name} before HELLO`);
      switch (f.op) {
        case Op.HELLO:
          return this.hello(c, f.id, f.body);
        case Op.CREATE:
          return this.create(c, f.id, f.body);
        case Op.PUBLISH:
          return this.publish(c, f.id, f.body);
        case Op.ABORT:
          return this.abort(c, f.id, f.body);
        case Op.OPEN:
          return this.open(c, f.id, f.body);
        case Op.LIST:
          return this.reply(c, f.op, f.id, { names: [...this.regions.values()].filter((r) => r.published && check(c.rights!, 'open', r.name).ok).map((r) => r.name) });
        case Op.REMOVE:
          return this.remove(c, f.id, f.body);
        case Op.RELEASE:
          return this.release(c, f.body);
        case Op.ALIVE:
          return this.alive(c, f.id, f.body);
        case Op.STAT:
          if (!c.rights!.stat) return this.fail(c, f.id, 'DENIED', `${this.who(c)} may not read the agent's statistics (no matching rule of ${this.policy.source} has "stat": true)`);
          return this.reply(c, f.op, f.id, this.stats() as unknown as Record<string, unknown>);
        default:
          return this.fail(c, f.id, 'PROTOCOL', `unknown op ${f.op}`);
      }
    } catch (err) {
      this.log('error', `${name} from ${this.who(c)}: ${(err as Error).stack ?? err}`);
      this.fail(c, f.id, 'INTERNAL', `${name}: ${(err as Error).message}`);
    }
  }

  private hello(c: Conn, id: number, body: Record<string, unknown>): void {
    if (c.ident) return this.fail(c, id, 'PROTOCOL', 'second HELLO on one connection');
    if (body.version !== 1) return this.fail(c, id, 'PROTOCOL', `protocol version ${JSON.stringify(body.version)} is not supported (the agent speaks 1)`);
    const rights = this.policy.rights(c.cred);
    if (!rights) {
      this.fail(c, id, 'DENIED', `the isthmus agent refuses ${this.who(c)}: no rule of the policy ${this.policy.source} matches uid ${c.cred.uid} or gids ${c.cred.groups.join(',')}`);
      c.sock.close();
      return;
    }
    if (c.cred.pid <= 0) {
      this.fail(c, id, 'DENIED', `the peer (uid ${c.cred.uid}) is in a pid namespace the agent cannot see (SO_PEERCRED pid ${c.cred.pid}): run the agent in the host's (or a parent) pid namespace`);
      c.sock.close();
      return;
    }
    const st = procStartTime(c.cred.pid);
    if (st === null) {
      this.fail(c, id, 'INTERNAL', `cannot read /proc/${c.cred.pid}/stat of the peer`);
      c.sock.close();
      return;
    }
    c.ident = { pid: c.cred.pid, startTime: st };
    c.rights = rights;
    c.sameNamespace = body.pidns === this.myNs && body.pid === c.cred.pid;
    this.gone.delete(key(c.ident));
    this.log('info', `peer ${this.who(c)} connected${c.sameNamespace ? '' : ` from another pid namespace (its pid there: ${String(body.pid)})`}; rules ${rights.rules.join(',')}`);
    this.reply(c, Op.HELLO, id, { pid: c.cred.pid, uid: c.cred.uid, gid: c.cred.gid, startTime: st.toString(), sameNamespace: c.sameNamespace, agentPid: process.pid, rules: rights.rules });
  }

  private name(c: Conn, id: number, body: Record<string, unknown>): string | null {
    const name = body.name;
    const channel = typeof name === 'string' ? name.split('~')[0]! : '';
    try {
      if (typeof name !== 'string' || name.length > 200 || !/^[A-Za-z0-9._~-]+$/.test(name)) throw new TypeError(`bad region name ${JSON.stringify(name)}`);
      checkName(channel);
    } catch (err) {
      this.fail(c, id, 'BAD_REQUEST', (err as Error).message);
      return null;
    }
    return name;
  }

  private deny(c: Conn, id: number, action: string, region: string): boolean {
    const r = check(c.rights!, action as 'create', region);
    if (r.ok) return false;
    this.fail(c, id, 'DENIED', `${this.who(c)} may not ${action} region ${JSON.stringify(region)}: that needs the right ${r.need.map((v) => JSON.stringify(v)).join(' or ')} on channel ${JSON.stringify(r.channel)}, which no matching rule of ${this.policy.source} (rules ${c.rights!.rules.join(',')}) grants`);
    return true;
  }

  private create(c: Conn, id: number, body: Record<string, unknown>): void {
    const name = this.name(c, id, body);
    if (name === null || this.deny(c, id, 'create', name)) return;
    const size = body.size;
    if (!Number.isInteger(size) || (size as number) < 4096 || (size as number) > this.maxRegion) return this.fail(c, id, 'TOO_LARGE', `region ${name}: size ${JSON.stringify(size)} is outside 4096..${this.maxRegion} bytes`);
    const existing = this.regions.get(name);
    if (existing?.published) return this.fail(c, id, 'EXISTS', `region ${name} exists`);
    if (existing) {
      // Being created by another peer: answer when it is published (EXISTS) or aborted (retry).
      existing.waiters.push({ conn: c, id, body });
      return;
    }
    let mem: MemRegion;
    try {
      mem = this.n.createMemfd(`isthmus:${name}`, size as number);
    } catch (err) {
      return this.fail(c, id, 'INTERNAL', `memfd_create for ${name} (${size} bytes): ${(err as Error).message}`);
    }
    const reg: Reg = { name, token: this.nextToken++, mem, size: size as number, ring: null, holders: new Set([c.id]), published: false, creator: c.id, waiters: [], lastTail: 0, lastSeq: 0, lastAt: Date.now(), bytes: 0, messages: 0, bytesPerSec: 0, messagesPerSec: 0 };
    this.regions.set(name, reg);
    this.byToken.set(reg.token, reg);
    c.holds.set(reg.token, 1);
    c.pending.add(name);
    this.reply(c, Op.CREATE, id, { size: reg.size, token: reg.token }, [mem.fd]);
  }

  private publish(c: Conn, id: number, body: Record<string, unknown>): void {
    const name = this.name(c, id, body);
    if (name === null) return;
    const reg = this.regions.get(name);
    if (!reg || reg.published || !c.pending.has(name)) return this.fail(c, id, 'BAD_REQUEST', `PUBLISH ${name}: this connection has no pending CREATE of that name`);
    try {
      reg.ring = Ring.open(reg.mem.buffer, 0, reg.size);
    } catch (err) {
      this.abortPending(c, reg);
      return this.fail(c, id, 'BAD_RING', `PUBLISH ${name}: the region is not a valid ring: ${(err as Error).message}`);
    }
    c.pending.delete(name);
    reg.published = true;
    const t = Atomics.load(reg.ring.i32, L.TAIL >> 2) >>> 0;
    reg.lastTail = t;
    reg.lastSeq = Atomics.load(reg.ring.i32, L.SEQ >> 2) >>> 0;
    this.log('info', `region ${name} (${reg.ring.kind}, ${reg.ring.capacity} bytes) created by ${this.who(c)}`);
    this.reply(c, Op.PUBLISH, id, {});
    for (const w of reg.waiters.splice(0)) if (!w.conn.sock.closed) this.fail(w.conn, w.id, 'EXISTS', `region ${name} exists`);
  }

  private abortPending(c: Conn, reg: Reg): void {
    c.pending.delete(reg.name);
    const waiters = reg.waiters.splice(0);
    this.drop(reg, `creation aborted by ${this.who(c)}`);
    for (const w of waiters) if (!w.conn.sock.closed) this.create(w.conn, w.id, w.body);
  }

  private abort(c: Conn, id: number, body: Record<string, unknown>): void {
    const name = this.name(c, id, body);
    if (name === null) return;
    const reg = this.regions.get(name);
    if (reg && !reg.published && c.pending.has(name)) this.abortPending(c, reg);
    this.reply(c, Op.ABORT, id, {});
  }

  private open(c: Conn, id: number, body: Record<string, unknown>): void {
    const name = this.name(c, id, body);
    if (name === null || this.deny(c, id, 'open', name)) return;
    const reg = this.regions.get(name);
    if (!reg || !reg.published) return this.fail(c, id, 'NOT_FOUND', `no region ${name}`);
    reg.holders.add(c.id);
    c.holds.set(reg.token, (c.holds.get(reg.token) ?? 0) + 1);
    this.reply(c, Op.OPEN, id, { size: reg.size, token: reg.token }, [reg.mem.fd]);
  }

  private remove(c: Conn, id: number, body: Record<string, unknown>): void {
    const name = this.name(c, id, body);
    if (name === null || this.deny(c, id, 'remove', name)) return;
    const reg = this.regions.get(name);
    const token = body.token;
    if (!reg || !reg.published || (token !== undefined && token !== reg.token)) return this.reply(c, Op.REMOVE, id, { removed: false });
    this.unpublish(reg, `removed by ${this.who(c)}`);
    this.reply(c, Op.REMOVE, id, { removed: true });
  }

  private release(c: Conn, body: Record<string, unknown>): void {
    const token = body.token;
    if (typeof token !== 'number') return;
    const n = c.holds.get(token);
    if (n === undefined) return;
    if (n > 1) {
      c.holds.set(token, n - 1);
      return;
    }
    c.holds.delete(token);
    const reg = this.byToken.get(token);
    if (!reg) return;
    reg.holders.delete(c.id);
    if (reg.holders.size === 0 && reg.published) this.drop(reg, 'no live peer holds it');
  }

  private alive(c: Conn, id: number, body: Record<string, unknown>): void {
    const ids = body.ids;
    if (!Array.isArray(ids) || ids.length > 1024) return this.fail(c, id, 'BAD_REQUEST', 'ALIVE needs "ids": an array of at most 1024 [pid, startTime] pairs');
    const live = new Set<string>();
    for (const x of this.conns.values()) if (x.ident) live.add(key(x.ident));
    const alive = ids.map((p: unknown) => {
      if (!Array.isArray(p)) return null;
      const k = `${Number(p[0])}:${String(p[1])}`;
      return live.has(k) ? true : this.gone.has(k) ? false : null;
    });
    this.reply(c, Op.ALIVE, id, { alive });
  }

  /** Takes a region's name away (holders keep their mappings); drops it when nobody holds it. */
  private unpublish(reg: Reg, why: string): void {
    if (this.regions.get(reg.name) === reg) this.regions.delete(reg.name);
    reg.published = false;
    this.log('info', `region ${reg.name} unpublished: ${why}`);
    if (reg.holders.size === 0) this.drop(reg, why);
  }

  /** Forgets a region: closes the agent's fd and mapping handle. */
  private drop(reg: Reg, why: string): void {
    if (!this.byToken.has(reg.token)) return;
    this.byToken.delete(reg.token);
    if (this.regions.get(reg.name) === reg) {
      this.regions.delete(reg.name);
      this.log('info', `region ${reg.name} dropped: ${why}`);
    }
    this.counters.regionsDropped++;
    for (const cid of reg.holders) this.conns.get(cid)?.holds.delete(reg.token);
    reg.holders.clear();
    reg.ring = null;
    reg.mem.close();
  }

  private onClose(c: Conn): void {
    this.conns.delete(c.id);
    if (this.stopping) return;
    for (const name of [...c.pending]) {
      const reg = this.regions.get(name);
      if (reg && !reg.published) this.abortPending(c, reg);
    }
    let freed = 0;
    const where: string[] = [];
    const held = c.holds.size;
    if (c.ident) {
      const k = key(c.ident);
      const still = [...this.conns.values()].some((x) => x.ident && key(x.ident) === k);
      if (!still) {
        this.gone.set(k, Date.now());
        while (this.gone.size > 4096) this.gone.delete(this.gone.keys().next().value!);
        for (const reg of this.byToken.values()) {
          const n = this.freeSlotsOf(reg, c.ident);
          if (n > 0) {
            freed += n;
            where.push(`${reg.name} (${n})`);
          }
        }
      }
    }
    for (const token of c.holds.keys()) {
      const reg = this.byToken.get(token);
      if (!reg) continue;
      reg.holders.delete(c.id);
      if (reg.holders.size === 0) this.drop(reg, 'no live peer holds it');
    }
    c.holds.clear();
    if (freed > 0 || held > 0) {
      this.counters.deadPeers++;
      this.counters.freedSlots += freed;
      this.log('warn', `peer ${this.who(c)} is gone (connection closed) holding ${held} regions; freed ${freed} slots${where.length ? ` in ${where.join(', ')}` : ''}`);
    } else if (c.ident) this.log('info', `peer ${this.who(c)} disconnected`);
  }

  /**
   * Frees the active slots of `id` in `reg`, except an MPSC producer slot whose claim
   * (intent) the consumer has not passed: the consumer needs it to recover the claim
   * (docs/ring.md §6); the next sample frees it once head moved past.
   */
  private freeSlotsOf(reg: Reg, id: Identity): number {
    const ring = reg.ring;
    if (!ring) return 0;
    let n = 0;
    let kept = 0;
    const head = Atomics.load(ring.i32, L.HEAD >> 2) >>> 0;
    for (let s = 1; s <= ring.slots; s++) {
      const o = L.slotOffset(s);
      if (Atomics.load(ring.i32, (o + L.S_STATE) >> 2) !== L.SLOT_ACTIVE) continue;
      if (ring.dv.getUint32(o + L.S_PID, true) !== id.pid || ring.dv.getBigUint64(o + L.S_START, true) !== id.startTime) continue;
      if (ring.kind === 'mpsc' && ring.dv.getUint32(o + L.S_ROLE, true) === L.ROLE_PRODUCER) {
        const len = ring.dv.getUint32(o + L.S_INTENT_LEN, true);
        const end = (ring.dv.getUint32(o + L.S_INTENT_POS, true) + len) >>> 0;
        if (len !== 0 && ((head - end) | 0) < 0) {
          kept++;
          continue;
        }
      }
      if (ring.freeSlot(s)) n++;
    }
    if (kept > 0) this.leftover.add(key(id));
    return n;
  }

  /** Samples every ring (rates, fill) and frees leftover slots of dead identities. */
  sample(): void {
    const now = Date.now();
    // Dead identities whose MPSC claims were kept for the consumer are retried; one leaves
    // the set after a pass that keeps nothing (freeSlotsOf adds it back when it keeps a slot).
    const retry = [...this.leftover];
    this.leftover.clear();
    for (const reg of this.byToken.values()) {
      const ring = reg.ring;
      if (!ring || !reg.published) continue;
      for (const k of retry) {
        const [pid, st] = k.split(':');
        this.counters.freedSlots += this.freeSlotsOf(reg, { pid: Number(pid), startTime: BigInt(st!) });
      }
      const tail = Atomics.load(ring.i32, L.TAIL >> 2) >>> 0;
      const seq = Atomics.load(ring.i32, L.SEQ >> 2) >>> 0;
      const dt = Math.max(1, now - reg.lastAt) / 1000;
      const db = (tail - reg.lastTail) >>> 0;
      const dm = (seq - reg.lastSeq) >>> 0;
      reg.bytes += db;
      reg.messages += dm;
      reg.bytesPerSec = db / dt;
      reg.messagesPerSec = dm / dt;
      reg.lastTail = tail;
      reg.lastSeq = seq;
      reg.lastAt = now;
    }
  }

  private metrics(reg: Reg): ChannelMetrics | null {
    const ring = reg.ring;
    if (!ring) return null;
    const info = inspectRing(ring);
    const tail = info.tail;
    const participants: Record<string, number> = {};
    let lost = 0;
    for (const p of info.participants) {
      participants[p.role] = (participants[p.role] ?? 0) + 1;
      lost += p.lost ?? 0;
    }
    const fill = info.fill;
    const p = parseRegionName(reg.name);
    const mpsc = ring.kind === 'mpsc';
    return {
      region: reg.name,
      channel: p.channel,
      kind: ring.kind,
      capacity: ring.capacity,
      fill,
      fillRatio: fill / ring.capacity,
      bytes: reg.bytes + ((tail - reg.lastTail) >>> 0),
      messages: mpsc ? null : reg.messages + ((info.messages! - reg.lastSeq) >>> 0),
      bytesPerSec: reg.bytesPerSec,
      messagesPerSec: mpsc ? null : reg.messagesPerSec,
      participants,
      lost,
      holders: reg.holders.size,
      creatorPid: ring.dv.getUint32(L.H_CREATOR_PID, true),
    };
  }

  stats(): AgentStats {
    const channels: ChannelMetrics[] = [];
    for (const reg of this.regions.values()) {
      if (!reg.published) continue;
      const m = this.metrics(reg);
      if (m) channels.push(m);
    }
    channels.sort((a, b) => a.region.localeCompare(b.region));
    return {
      agent: {
        pid: process.pid,
        socket: this.socket,
        policy: this.policy.source,
        uptimeS: (Date.now() - this.started) / 1000,
        peers: [...this.conns.values()].filter((c) => c.ident).length,
        deadPeers: this.counters.deadPeers,
        freedSlots: this.counters.freedSlots,
        denied: this.counters.denied,
        regions: this.regions.size,
        regionsDropped: this.counters.regionsDropped,
        requests: { ...this.counters.requests },
      },
      peers: [...this.conns.values()].filter((c) => c.ident).map((c) => ({ pid: c.cred.pid, uid: c.cred.uid, gid: c.cred.gid, user: c.user, regions: c.holds.size, sameNamespace: c.sameNamespace })),
      channels,
    };
  }
}

/** The agent's uid (for the default policy). */
export function agentUid(): number {
  return process.getuid?.() ?? userInfo().uid;
}

export { ERROR };
