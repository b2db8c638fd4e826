/**
 * Looking at a running system from outside, with no daemon: every channel under a
 * transport, read from the rings' own headers (docs/ring.md §1–§2: fill, participants,
 * per-reader lag) and from the nodes' counters regions (docs/counters.md: per channel end
 * sent, received, bytes, full, lost, invalid, dead letters). Read-only and slow path: it
 * maps each region, reads it and lets it go; it never joins a ring.
 */
import { openRing } from './channel.js';
import { isCountersRegion, listCounters, type EndCounters } from './counters.js';
import * as L from './ring/layout.js';
import type { Ring } from './ring/index.js';
import { parseRegionName, type Transport } from './transport.js';

/** A participant slot of a ring, with what a reader has left to read. */
export interface ParticipantInfo {
  slot: number;
  role: 'producer' | 'consumer' | 'publisher' | 'subscriber';
  pid: number;
  alive: boolean;
  /** Readers (subscriber, consumer): bytes committed and not yet read by this reader. */
  lag?: number;
  /** Subscribers of an overwrite ring: messages lost to overwriting so far. */
  lost?: number;
}

/** One ring's state, from its header (docs/ring.md §1, §2). */
export interface RingInfo {
  kind: 'spsc' | 'mpsc' | 'broadcast';
  policy: 'block' | 'overwrite';
  typeId: bigint;
  capacity: number;
  maxMessage: number;
  /** Bytes written and not yet released by the slowest reader (≤ capacity). */
  fill: number;
  /** The producer position (bytes committed, modulo 2^32). */
  tail: number;
  /** Messages committed, modulo 2^32 (null: MPSC rings keep no sequence counter). */
  messages: number | null;
  participants: ParticipantInfo[];
}

/** The state of `ring` now. */
export function inspectRing(ring: Ring): RingInfo {
  const tail = Atomics.load(ring.i32, L.TAIL >> 2) >>> 0;
  const head = Atomics.load(ring.i32, L.HEAD >> 2) >>> 0;
  const participants: ParticipantInfo[] = [];
  let minCursor: number | null = null;
  for (const p of ring.participants()) {
    const info: ParticipantInfo = { slot: p.slot, role: p.role, pid: p.pid, alive: p.alive };
    if (p.role === 'subscriber') {
      const o = L.slotOffset(p.slot);
      const cur = Atomics.load(ring.i32, (o + L.S_CURSOR) >> 2) >>> 0;
      info.lag = Math.min((tail - cur) >>> 0, ring.capacity);
      info.lost = ring.dv.getUint32(o + L.S_LOST, true);
      if (minCursor === null || ((cur - minCursor) | 0) < 0) minCursor = cur;
    } else if (p.role === 'consumer') {
      info.lag = Math.min((tail - head) >>> 0, ring.capacity);
    }
    participants.push(info);
  }
  const fill = ring.kind === 'broadcast' ? (minCursor === null ? 0 : (tail - minCursor) >>> 0) : (tail - head) >>> 0;
  return {
    kind: ring.kind,
    policy: ring.policy,
    typeId: ring.typeId,
    capacity: ring.capacity,
    maxMessage: ring.maxMessage,
    fill: Math.min(fill, ring.capacity),
    tail,
    messages: ring.kind === 'mpsc' ? null : Atomics.load(ring.i32, L.SEQ >> 2) >>> 0,
    participants,
  };
}

/** What a region is for (the suffix of its name, docs/ring.md §8). */
export type RegionRole = 'pubsub' | 'service' | 'response' | 'queue' | 'dead-letters' | 'other';

export interface RegionReport extends RingInfo {
  region: string;
  role: RegionRole;
}

/** One channel: its rings and the counters of every open end of it, in any process. */
export interface ChannelReport {
  name: string;
  /** The message type's name, from the ends' counters ('' when no end is open). */
  type: string;
  regions: RegionReport[];
  ends: EndCounters[];
}

export interface SystemReport {
  /** Where the regions live (the transport's `where`). */
  where: string;
  /** Milliseconds since the epoch when it was read. */
  at: number;
  channels: ChannelReport[];
  /** Nodes whose counters region is there (alive or not; a sweep removes dead ones). */
  nodes: { region: string; pid: number; alive: boolean; ends: number; overflow: number }[];
  /** Regions that could not be read as rings (name and why). */
  unreadable: { region: string; error: string }[];
}

const ROLE_OF: Record<ReturnType<typeof parseRegionName>['kind'], RegionRole> = { pub: 'pubsub', req: 'service', res: 'response', queue: 'queue', dead: 'dead-letters', other: 'other' };

/** Reads every channel under `t` (and every node's counters). */
export function inspect(t: Transport): SystemReport {
  const channels = new Map<string, ChannelReport>();
  const channel = (name: string) => {
    let c = channels.get(name);
    if (!c) channels.set(name, (c = { name, type: '', regions: [], ends: [] }));
    return c;
  };
  const unreadable: SystemReport['unreadable'] = [];
  for (const region of t.list().sort()) {
    if (isCountersRegion(region)) continue;
    const p = parseRegionName(region);
    try {
      const o = openRing(t, region);
      if (!o) continue; // removed meanwhile
      try {
        channel(p.channel).regions.push({ region, role: ROLE_OF[p.kind], ...inspectRing(o.ring) });
      } finally {
        o.region.close();
      }
    } catch (err) {
      unreadable.push({ region, error: (err as Error).message });
    }
  }
  const nodes: SystemReport['nodes'] = [];
  for (const c of listCounters(t)) {
    nodes.push({ region: c.region, pid: c.pid, alive: c.alive, ends: c.ends.length, overflow: c.overflow });
    if (!c.alive) continue; // a dead node's ends are not open
    for (const e of c.ends) {
      const ch = channel(e.channel);
      ch.ends.push(e);
      if (!ch.type && e.type) ch.type = e.type;
    }
  }
  const list = [...channels.values()].sort((a, b) => a.name.localeCompare(b.name));
  for (const c of list) c.ends.sort((a, b) => a.role.localeCompare(b.role) || a.pid - b.pid);
  return { where: t.where, at: Date.now(), channels: list, nodes: nodes.sort((a, b) => a.pid - b.pid), unreadable };
}
