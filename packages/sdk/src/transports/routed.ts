/**
 * The routing transport: each region goes to the sub-transport its channel is routed to
 * (the `routes` of isthmus.json, docs/config.md). A region name is `<channel>~<role…>`
 * (transport.ts), so every region of one channel — its publish ring, request ring,
 * response rings, queue worker rings and dead letters — lives in the same sub-transport.
 *
 * Routes: a pattern is an exact channel name, or a prefix followed by `*` (`orders.*`
 * matches `orders.eu` but not `orders`). An exact route beats every prefix; among prefixes
 * the longest wins; a channel no route matches goes to the default transport.
 *
 * What cannot be routed by region name, and how it is handled:
 *
 *   - notifier: the ring layer asks the transport for ONE Notifier and calls it with the
 *     region's (buffer, offset). The routed notifier dispatches on the buffer: every region
 *     this transport hands out (create, open) records its buffer → the owning
 *     sub-transport's notifier (a WeakMap; inproc and vm regions share their arena's buffer,
 *     shm, agent and net regions have one each). A buffer it never handed out is waited on
 *     and woken with the default transport's notifier.
 *   - identity: a node joins every ring with one identity (docs/ring.md §5). The routed
 *     transport has the sub-transports' common identity; if they disagree (the agent in
 *     another pid namespace sees this process under another pid than local transports do;
 *     in a worker thread the local identity is the thread's id, the agent's the process's)
 *     `routed()` throws ConfigError: route every channel of such a node through the agent.
 *   - where: `whereFor(channel)` names the sub-transport of a channel (used in NotFound
 *     messages); `where` lists them all.
 *   - list(): the union over the sub-transports, each contributing only the regions of
 *     channels routed to it (a name found elsewhere would not be opened there, so listing it
 *     would make discovery and sweep look at the wrong transport).
 */
import { ConfigError } from '../errors.js';
import { selfIdentity, type Identity, type Notifier } from '../ring/index.js';
import { parseRegionName, type Region, type Transport } from '../transport.js';
import { ShmTransport } from './shm.js';

/** One route: channels matching `pattern` go to `transport`. */
export interface Route {
  /** An exact channel name, or a prefix ending in `*`. */
  pattern: string;
  transport: Transport;
}

/**
 * The pattern that routes `channel`: the exact name when listed, else the longest matching
 * `prefix*`, else null (the default). Pure; `patterns` in any order.
 */
export function matchRoute(patterns: Iterable<string>, channel: string): string | null {
  let best: string | null = null;
  for (const p of patterns) {
    if (p === channel) return p;
    if (p.endsWith('*') && channel.startsWith(p.slice(0, -1)) && (best === null || p.length > best.length)) best = p;
  }
  return best;
}

function sameIdentity(a: Identity, b: Identity): boolean {
  return a.pid === b.pid && a.startTime === b.startTime;
}

export class RoutedTransport implements Transport {
  readonly kind = 'routed';
  readonly notifier: Notifier;
  /** The identity every sub-transport gives this process (undefined: the node's own, selfIdentity()). */
  readonly identity: Identity | undefined;
  /** The transport of channels no route matches. */
  readonly defaultTransport: Transport;
  readonly routes: readonly Route[];
  /** Every distinct sub-transport, the default first. */
  readonly transports: readonly Transport[];
  private readonly byPattern = new Map<string, Transport>();
  private readonly cache = new Map<string, Transport>();
  private readonly owner = new WeakMap<SharedArrayBuffer, Notifier>();
  private closed = false;

  /** `source`: where the routes came from, for errors (default `routes`; config.ts passes the file). */
  constructor(defaultTransport: Transport, routes: readonly Route[], source = 'routes') {
    this.defaultTransport = defaultTransport;
    this.routes = routes;
    const all = new Set<Transport>([defaultTransport]);
    for (const r of routes) {
      if (this.byPattern.has(r.pattern)) throw new ConfigError(source, `route ${JSON.stringify(r.pattern)} is given twice`, { value: r.pattern });
      this.byPattern.set(r.pattern, r.transport);
      all.add(r.transport);
    }
    this.transports = [...all];

    const ids = this.transports.map((t) => ({ t, id: (t as { identity?: Identity }).identity }));
    const named = ids.filter((x) => x.id !== undefined) as { t: Transport; id: Identity }[];
    const self = selfIdentity();
    const first = named[0]?.id;
    if (first) {
      // Transports without an identity of their own join with selfIdentity().
      const odd = ids.find((x) => !sameIdentity(x.id ?? self, first));
      if (odd) {
        throw new ConfigError(
          source,
          `${named[0]!.t.where} sees this process as pid ${first.pid}, ${odd.t.where} as pid ${(odd.id ?? self).pid} (an agent in another pid namespace, or a worker thread, whose local identity is its thread id): a node joins every ring with one identity, so route every channel of this node through transports that agree (e.g. all through the agent)`,
        );
      }
    }
    this.identity = first;

    const notifiers = new Set(this.transports.map((t) => t.notifier));
    if (notifiers.size === 1) {
      this.notifier = defaultTransport.notifier;
    } else {
      const of = (buf: SharedArrayBuffer): Notifier => this.owner.get(buf) ?? this.defaultTransport.notifier;
      this.notifier = {
        wait: (buf, off, expected, timeoutMs) => of(buf).wait(buf, off, expected, timeoutMs),
        waitAsync: (buf, off, expected, timeoutMs) => of(buf).waitAsync(buf, off, expected, timeoutMs),
        wake: (buf, off, count) => of(buf).wake(buf, off, count),
      };
    }
  }

  /** The sub-transport of channel `channel` (cached per channel). */
  transportFor(channel: string): Transport {
    let t = this.cache.get(channel);
    if (t) return t;
    const p = matchRoute(this.byPattern.keys(), channel);
    t = p === null ? this.defaultTransport : this.byPattern.get(p)!;
    if (this.cache.size > 4096) this.cache.clear();
    this.cache.set(channel, t);
    return t;
  }

  private of(region: string): Transport {
    return this.transportFor(parseRegionName(region).channel);
  }

  /** Where channel `channel` lives (its sub-transport's `where`). */
  whereFor(channel: string): string {
    return this.transportFor(channel).where;
  }

  /** Every route and where it leads, then the default (`orders.* → tcp://…; * → /dev/shm/…`). */
  get where(): string {
    return [...this.routes.map((r) => `${r.pattern} → ${r.transport.where}`), `(other channels) → ${this.defaultTransport.where}`].join('; ');
  }

  private own(t: Transport, r: Region): void {
    this.owner.set(r.buffer, t.notifier);
  }

  create(name: string, size: number, init: (region: Region) => void): Region | null {
    const t = this.of(name);
    // Register before init: the creator joins (and may wait or wake) inside init.
    return t.create(name, size, (r) => {
      this.own(t, r);
      init(r);
    });
  }

  open(name: string): Region | null {
    const t = this.of(name);
    const r = t.open(name);
    if (r) this.own(t, r);
    return r;
  }

  list(): string[] {
    const out = new Set<string>();
    for (const t of this.transports) for (const name of t.list()) if (this.of(name) === t) out.add(name);
    return [...out];
  }

  remove(name: string, expect?: Region): boolean {
    return this.of(name).remove(name, expect);
  }

  /** Removes the shm sub-transports' leftover temporaries (ShmTransport.sweepTemporaries). */
  sweepTemporaries(): number {
    let n = 0;
    for (const t of this.transports) if (t instanceof ShmTransport) n += t.sweepTemporaries();
    return n;
  }

  /** Closes every sub-transport (all of them, then throws the first error, if any). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    let first: unknown;
    for (const t of this.transports) {
      try {
        t.close();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }
}

/** A transport that sends each channel's regions to the transport of the route that matches it. */
export function routed(defaultTransport: Transport, routes: readonly Route[], source?: string): RoutedTransport {
  return new RoutedTransport(defaultTransport, routes, source);
}
