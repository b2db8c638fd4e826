/**
 * The agent transport: regions come from the node agent (`isthmus agent`, docs/agent.md)
 * over its Unix socket, as sealed memfds mapped with `openFd`. This is the transport for
 * processes the shm transport cannot connect: other users (the agent's policy decides
 * who may do what) and containers (other mount, ipc, pid namespaces; only the agent's
 * socket is mounted in). Waiting uses the shared futex on the memfd's pages, which works
 * across pid namespaces.
 *
 *   const node = await isthmus.node({ transport: 'agent', socket: '/run/isthmus/agent.sock' });
 *
 * create/open/list/remove are synchronous (the Transport interface): each is one round
 * trip to the local agent, bounded by `timeoutMs`. The connection must stay open while
 * this process uses the agent's regions: the agent treats a closed connection as a dead
 * peer (it frees the peer's slots and drops regions nobody else holds).
 *
 * Identity and liveness (docs/ring.md §5): participant slots in agent regions carry pids
 * as the agent sees them. The agent says at HELLO what this process's pid and start time
 * are there; the node joins rings with that identity. In another pid namespace this
 * process's /proc cannot judge those pids, so the transport installs a liveness hook that
 * asks the agent (ALIVE): an identity with an open connection is alive, one whose
 * connections all closed is dead, others are left to /proc.
 */
import { IsthmusError } from '../errors.js';
import { AgentConnection, AgentError } from '../agent/client.js';
import { defaultSocket } from '../agent/cli.js';
import { loadAgentNative, type AgentNative, type MemRegion } from '../agent/native.js';
import { Op } from '../agent/protocol.js';
import { addLivenessHook, type Identity } from '../ring/identity.js';
import type { Notifier } from '../ring/index.js';
import type { Region, Transport } from '../transport.js';

export interface AgentTransportOptions {
  /** The agent's socket (default `$ISTHMUS_AGENT_SOCKET`, `$XDG_RUNTIME_DIR/isthmus/agent.sock`, `/run/isthmus/agent.sock`). */
  socket?: string;
  /** Bound on each round trip to the agent (default 5000 ms). */
  timeoutMs?: number;
}

interface AgentRegion extends Region {
  readonly token: number;
}

export class AgentTransport implements Transport {
  readonly kind = 'agent';
  readonly where: string;
  readonly notifier: Notifier;
  /** This process as the agent sees it: the identity to join rings with. */
  readonly identity: Identity;
  /** Whether this process is in the agent's pid namespace. */
  readonly sameNamespace: boolean;
  private readonly n: AgentNative;
  private readonly conn: AgentConnection;
  private unhook: (() => void) | null = null;
  private readonly cache = new Map<string, { alive: boolean | undefined; at: number }>();

  constructor(n: AgentNative, conn: AgentConnection, hello: { pid: number; uid: number; startTime: string; sameNamespace: boolean }) {
    this.n = n;
    this.conn = conn;
    this.where = `isthmus agent at ${conn.socket}`;
    this.identity = { pid: hello.pid, uid: hello.uid, startTime: BigInt(hello.startTime) };
    this.sameNamespace = hello.sameNamespace;
    this.notifier = {
      wait: (buf, off, expected, timeoutMs) => n.futexWait(buf, off, expected, timeoutMs),
      waitAsync: (buf, off, expected, timeoutMs) => n.futexWaitAsync(buf, off, expected, timeoutMs),
      wake: (buf, off, count) => n.futexWake(buf, off, count),
    };
    if (!this.sameNamespace) this.unhook = addLivenessHook((pid, st) => this.alive(pid, st));
  }

  /** ALIVE through the agent, cached for 20 ms (liveness is a slow-path question). */
  private alive(pid: number, startTime: bigint): boolean | undefined {
    if (this.conn.closed) return undefined;
    const k = `${pid}:${startTime}`;
    const c = this.cache.get(k);
    const now = Date.now();
    if (c && now - c.at < 20) return c.alive;
    let alive: boolean | undefined;
    try {
      const r = this.conn.request(Op.ALIVE, { ids: [[pid, startTime.toString()]] });
      const v = (r.body.alive as (boolean | null)[])[0];
      alive = v === null || v === undefined ? undefined : v;
    } catch {
      alive = undefined;
    }
    if (this.cache.size > 1024) this.cache.clear();
    this.cache.set(k, { alive, at: now });
    return alive;
  }

  private fail(what: string, name: string, err: unknown): never {
    const e = err as AgentError;
    throw new IsthmusError('TRANSPORT', `${this.where}: ${what} ${name}: ${e.code ? `${e.code}: ` : ''}${e.message}`, name.split('~')[0], { cause: err });
  }

  private map(name: string, fds: number[], token: number): AgentRegion {
    if (fds.length !== 1) {
      for (const fd of fds) this.n.closeFd(fd);
      throw new IsthmusError('TRANSPORT', `${this.where}: ${name}: the reply carried ${fds.length} fds, expected 1`, name);
    }
    let mem: MemRegion;
    try {
      mem = this.n.openFd(fds[0]!);
    } finally {
      this.n.closeFd(fds[0]!);
    }
    // A region that can shrink would let another holder make our accesses fault (SIGBUS).
    const s = this.n.seals(mem);
    if (!s.shrink || !s.grow) {
      mem.close();
      throw new IsthmusError('TRANSPORT', `${this.where}: ${name}: the memfd is not sealed against shrinking and growing (seals ${JSON.stringify(s)})`, name);
    }
    let closed = false;
    return {
      name,
      buffer: mem.buffer,
      byteOffset: 0,
      byteLength: mem.size,
      token,
      close: () => {
        if (closed) return;
        closed = true;
        mem.close();
        this.conn.notify(Op.RELEASE, { name, token });
      },
    };
  }

  create(name: string, size: number, init: (region: Region) => void): Region | null {
    let r;
    try {
      r = this.conn.request(Op.CREATE, { name, size });
    } catch (err) {
      if ((err as AgentError).code === 'EXISTS') return null;
      this.fail('cannot create', name, err);
    }
    const region = this.map(name, r.fds, r.body.token as number);
    try {
      init(region);
    } catch (err) {
      try {
        this.conn.request(Op.ABORT, { name });
      } catch {
        /* the connection is gone: the agent aborts it */
      }
      region.close();
      throw err;
    }
    try {
      this.conn.request(Op.PUBLISH, { name });
    } catch (err) {
      region.close();
      this.fail('cannot publish', name, err);
    }
    return region;
  }

  open(name: string): Region | null {
    let r;
    try {
      r = this.conn.request(Op.OPEN, { name });
    } catch (err) {
      if ((err as AgentError).code === 'NOT_FOUND') return null;
      this.fail('cannot open', name, err);
    }
    return this.map(name, r.fds, r.body.token as number);
  }

  list(): string[] {
    try {
      return this.conn.request(Op.LIST).body.names as string[];
    } catch (err) {
      this.fail('cannot list', 'regions', err);
    }
  }

  remove(name: string, expect?: Region): boolean {
    try {
      const token = (expect as AgentRegion | undefined)?.token;
      return this.conn.request(Op.REMOVE, token !== undefined ? { name, token } : { name }).body.removed === true;
    } catch {
      return false;
    }
  }

  close(): void {
    this.unhook?.();
    this.unhook = null;
    this.conn.close();
  }
}

/**
 * Connects to the node agent. Rejects with IsthmusError TRANSPORT when the agent cannot be
 * reached or refuses this process (the message is the agent's: which uid, which policy).
 */
export async function agent(opts: AgentTransportOptions = {}): Promise<AgentTransport> {
  const n = await loadAgentNative();
  const socket = opts.socket ?? defaultSocket();
  let conn: AgentConnection | undefined;
  try {
    conn = new AgentConnection(n, socket, opts.timeoutMs ?? 5000);
    const hello = conn.hello();
    return new AgentTransport(n, conn, hello);
  } catch (err) {
    conn?.close();
    const e = err as AgentError;
    throw new IsthmusError('TRANSPORT', e.code === 'DENIED' ? `DENIED: ${e.message}` : e.message, undefined, { cause: err });
  }
}
