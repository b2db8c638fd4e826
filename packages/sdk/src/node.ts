/**
 * A node: one process's (or thread's) entry point to Isthmus. It owns a transport, the
 * process identity used for liveness, the dead-letter writer, and the open channel ends.
 */
import type { MessageCore } from '@isthmus/runtime';
import { hasLiveParticipant, openRing, type Channel, type ChannelStats, type MessageClass, type NodeContext, type OnInvalid } from './channel.js';
import { isCountersRegion, listCounters, NodeCounters, type CounterOwner } from './counters.js';
import { DeadLetterWriter, openDeadLetterReader, type DeadLetterReader } from './deadletter.js';
import { configuredTransport } from './config.js';
import { ClosedError } from './errors.js';
import { openPublisher, openSubscriber, type Publisher, type PublisherOptions, type Subscriber, type SubscriberOptions } from './pubsub.js';
import { Queue, type QueueOptions } from './queue.js';
import { selfIdentity, type Identity } from './ring/index.js';
import { openClient, openServer, type Client, type ClientOptions, type Handler, type Server, type ServeOptions } from './rpc.js';
import { checkName, parseRegionName, type Transport } from './transport.js';
import { arena } from './transports/arena.js';
import { agent } from './transports/agent.js';
import { inproc, InprocTransport } from './transports/inproc.js';
import { connect } from './transports/net.js';
import { RoutedTransport } from './transports/routed.js';
import { shm, ShmTransport } from './transports/shm.js';

export interface NodeOptions {
  /**
   * Where regions live: a Transport object, or 'shm' (region files in `root`) or
   * 'inproc' (a fresh in-process arena; pass `inproc({ arena })` to share one with workers).
   * Without `transport` and `root`, the configuration decides (docs/config.md):
   * `$ISTHMUS_TRANSPORT`, then `isthmus.json` (`$ISTHMUS_CONFIG`, or found walking up from
   * the working directory), then 'shm' under the default root.
   */
  transport?: Transport | 'shm' | 'inproc' | 'vm' | 'agent' | `tcp://${string}` | `unix://${string}`;
  /** Socket of the node agent for `transport: 'agent'` (docs/agent.md; default `$ISTHMUS_AGENT_SOCKET`, else `$XDG_RUNTIME_DIR/isthmus/agent.sock`, else `/run/isthmus/agent.sock`). */
  socket?: string;
  /** Runtime directory of the shm transport (default `$XDG_RUNTIME_DIR/isthmus`, else `/dev/shm/isthmus-<uid>`). */
  root?: string;
  /** Default policy for received messages that fail verify() (default 'dead-letter'). */
  onInvalid?: OnInvalid;
  /** 'vm': the arena file shared with a VM guest (ivshmem backing file) and its size for a new one (transports/arena.ts). */
  path?: string;
  size?: number;
  /** `tcp://`/`unix://`: how long to wait for the first connection (default 5000 ms; then NetError). */
  connectTimeoutMs?: number;
}

/** A channel found under the transport (discovery). */
export interface ChannelEntry {
  /** The channel name. */
  name: string;
  kind: 'pubsub' | 'service' | 'response' | 'queue' | 'dead-letters' | 'other';
  /** The region's own name. */
  region: string;
  /** Live participants, by role (a region with none is stale). */
  participants: { role: string; pid: number; alive: boolean }[];
}

export interface SweepResult {
  /** Regions removed because no live process held them. */
  removed: string[];
  /** Participant slots freed because their holder was dead. */
  freedSlots: number;
}

export class IsthmusNode {
  readonly transport: Transport;
  readonly identity: Identity;
  private readonly open = new Set<Channel>();
  private readonly dead: DeadLetterWriter;
  private readonly counters: NodeCounters;
  private readonly ctx: NodeContext;
  private _closed = false;

  constructor(transport: Transport, opts: NodeOptions = {}) {
    this.transport = transport;
    // A transport may say who this process is to its peers (the agent: its pid there).
    this.identity = (transport as { identity?: Identity }).identity ?? selfIdentity();
    this.dead = new DeadLetterWriter(() => this.ctx);
    this.counters = new NodeCounters(transport, this.identity);
    this.ctx = {
      transport,
      identity: this.identity,
      onInvalid: opts.onInvalid ?? 'dead-letter',
      deadLetters: this.dead,
      track: (ch) => {
        this.open.add(ch);
        this.counters.attach(ch as unknown as CounterOwner);
      },
      untrack: (ch) => {
        this.counters.detach(ch as unknown as CounterOwner);
        this.open.delete(ch);
      },
    };
  }

  private check(name: string): void {
    if (this._closed) throw new ClosedError(name);
    checkName(name);
  }

  /** Creates (or takes over) the publisher end of pub/sub channel `name`. */
  async publisher<T extends MessageCore>(name: string, type: MessageClass<T>, opts: PublisherOptions = {}): Promise<Publisher<T>> {
    this.check(name);
    return openPublisher(this.ctx, name, type, opts);
  }

  /** Subscribes to channel `name` (waits up to `opts.waitMs` for it to exist). */
  async subscriber<T extends MessageCore>(name: string, type: MessageClass<T>, opts: SubscriberOptions = {}): Promise<Subscriber<T>> {
    this.check(name);
    return openSubscriber(this.ctx, name, type, opts);
  }

  /** Serves requests of type Req on service `name`, answering with Res. */
  async serve<Req extends MessageCore, Res extends MessageCore>(name: string, req: MessageClass<Req>, res: MessageClass<Res>, handler: Handler<Req, Res>, opts: ServeOptions = {}): Promise<Server<Req, Res>> {
    this.check(name);
    return openServer(this.ctx, name, req, res, handler, opts);
  }

  /** A client of service `name` (waits up to `opts.waitMs` for the service to exist). */
  async client<Req extends MessageCore, Res extends MessageCore>(name: string, req: MessageClass<Req>, res: MessageClass<Res>, opts: ClientOptions = {}): Promise<Client<Req, Res>> {
    this.check(name);
    return openClient(this.ctx, name, req, res, opts);
  }

  /** A work queue: `await q.producer()`, `await q.worker()`. */
  queue<T extends MessageCore>(name: string, type: MessageClass<T>, opts: QueueOptions = {}): Queue<T> {
    this.check(name);
    return new Queue(this.ctx, name, type, opts);
  }

  /** Reads the dead letters of channel `name` (one reader per channel at a time). */
  async deadLetters(name: string): Promise<DeadLetterReader> {
    this.check(name);
    return openDeadLetterReader(this.ctx, name);
  }

  /** Every region under the transport, with its participants (discovery; slow path). */
  list(): ChannelEntry[] {
    const out: ChannelEntry[] = [];
    for (const region of this.transport.list()) {
      if (isCountersRegion(region)) continue;
      const p = parseRegionName(region);
      const kind = ({ pub: 'pubsub', req: 'service', res: 'response', queue: 'queue', dead: 'dead-letters', other: 'other' } as const)[p.kind];
      let participants: ChannelEntry['participants'] = [];
      try {
        const o = openRing(this.transport, region);
        if (!o) continue;
        participants = o.ring.participants().map((x) => ({ role: x.role, pid: x.pid, alive: x.alive }));
        o.region.close();
      } catch {
        /* not a ring (or a broken one): listed without participants */
      }
      out.push({ name: p.channel, kind, region, participants });
    }
    return out;
  }

  /**
   * Cleans up after dead processes: frees their participant slots, and removes every
   * region that no live process holds (plus the shm transport's leftover temporaries).
   */
  sweep(): SweepResult {
    const removed: string[] = [];
    let freedSlots = 0;
    for (const c of listCounters(this.transport)) {
      if (!c.alive && this.transport.remove(c.region)) removed.push(c.region);
    }
    for (const region of this.transport.list()) {
      if (isCountersRegion(region)) continue;
      let o;
      try {
        o = openRing(this.transport, region);
      } catch {
        continue; // not ours to judge
      }
      if (!o) continue;
      freedSlots += o.ring.sweep();
      if (!hasLiveParticipant(o.ring) && this.transport.remove(region, o.region)) removed.push(region);
      o.region.close();
    }
    if (this.transport instanceof ShmTransport || this.transport instanceof RoutedTransport) this.transport.sweepTemporaries();
    return { removed, freedSlots };
  }

  /** Counters of every open channel end of this node. */
  stats(): ({ name: string; role: string } & ChannelStats)[] {
    return [...this.open].map((ch) => ({ name: ch.name, role: ch.role, ...ch.stats() }));
  }

  /** Open channel ends. */
  channels(): Channel[] {
    return [...this.open];
  }

  get closed(): boolean {
    return this._closed;
  }

  /** `using node = await isthmus.node()` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes every channel end of this node (and the dead-letter writer). */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    for (const ch of [...this.open]) ch.close();
    this.dead.close();
    this.counters.close();
    this.transport.close();
  }
}

/**
 * Creates a node. An explicit `transport` (or `root`, which means shm there) wins; without
 * either, `await node()` takes its transport from the configuration (config.ts,
 * docs/config.md), by default the shm transport under the default runtime directory.
 */
export async function node(opts: NodeOptions = {}): Promise<IsthmusNode> {
  let t: Transport;
  if (opts.transport === undefined && opts.root === undefined) t = await configuredTransport();
  else if (opts.transport === undefined || opts.transport === 'shm') t = await shm(opts.root !== undefined ? { root: opts.root } : {});
  else if (opts.transport === 'inproc') t = inproc();
  else if (opts.transport === 'agent') t = await agent(opts.socket !== undefined ? { socket: opts.socket } : {});
  else if (opts.transport === 'vm') t = await arena({ path: opts.path ?? '', ...(opts.size !== undefined ? { size: opts.size } : {}) });
  else if (typeof opts.transport === 'string') t = await connect(opts.transport, opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}); // tcp:// or unix:// (docs/net.md)
  else t = opts.transport;
  return new IsthmusNode(t, opts);
}

export { InprocTransport, ShmTransport };
