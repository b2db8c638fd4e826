/**
 * What `isthmus stat`, `isthmus top` and the metrics endpoint print from a SystemReport
 * (inspect.ts): a table, JSON (type ids as hex strings), and the Prometheus text format.
 * The metric names are listed in docs/counters.md §4.
 */
import { COUNTER_NAMES, type EndCounters } from '../counters.js';
import { inspect, type ChannelReport, type SystemReport } from '../inspect.js';
import type { Transport } from '../transport.js';

/** The report as JSON-safe values (bigint type ids as `0x…` strings). */
export function reportJson(r: SystemReport): unknown {
  return JSON.parse(JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16).padStart(16, '0')}` : v)));
}

export const bytes = (n: number): string =>
  n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1 << 10 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
export const count = (n: number): string => (n >= 1e9 ? `${(n / 1e9).toFixed(2)}G` : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(Math.round(n)));

/** Columns padded to their widest cell; the first `left` columns and the last are left-aligned, numbers right. */
export function columns(head: string[], rows: string[][], left: number): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => r.map((x, i) => (i < left || i === r.length - 1 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join('  ').trimEnd();
  return [fmt(head), ...rows.map(fmt)];
}

function participants(c: ChannelReport): string {
  const parts: string[] = [];
  for (const r of c.regions) {
    for (const p of r.participants) {
      if (r.role === 'response') continue; // one per client; the client's own line says enough
      parts.push(`${p.role} ${p.pid}${p.alive ? '' : ' DEAD'}${p.lag !== undefined ? ` lag ${bytes(p.lag)}` : ''}${p.lost ? ` lost ${p.lost}` : ''}`);
    }
  }
  return parts.join(', ') || '-';
}

/** `isthmus stat`: one block per channel (its rings, then its open ends' counters). */
export function table(r: SystemReport): string {
  const alive = r.nodes.filter((n) => n.alive).length;
  const out = [`${r.where}: ${r.channels.length} channel${r.channels.length === 1 ? '' : 's'}, ${alive} live node${alive === 1 ? '' : 's'}${r.nodes.length > alive ? ` (${r.nodes.length - alive} dead: isthmus stat --sweep removes them)` : ''}`, ''];
  if (r.channels.length === 0) out.push('(no channels)');
  const rows = r.channels.flatMap((c) =>
    c.regions.map((g) => [c.name, c.type || '-', g.region, g.kind, g.policy, bytes(g.capacity), `${((100 * g.fill) / g.capacity).toFixed(1)}%`, g.messages === null ? '-' : count(g.messages), participants({ ...c, regions: [g] })]),
  );
  if (rows.length) out.push(...columns(['CHANNEL', 'TYPE', 'REGION', 'KIND', 'POLICY', 'CAPACITY', 'FILL', 'MSGS', 'PARTICIPANTS'], rows, 5));
  const ends = r.channels.flatMap((c) => c.ends.map((e) => [c.name, e.role, String(e.pid), ...COUNTER_NAMES.map((k) => (k.startsWith('bytes') ? bytes(e[k]) : count(e[k])))]));
  if (ends.length) {
    out.push('', ...columns(['CHANNEL', 'END', 'PID', 'SENT', 'RECEIVED', 'BYTES OUT', 'BYTES IN', 'FULL', 'INVALID', 'DEAD LETTERS', 'LOST', 'DROPPED', 'REJECTED', 'TIMEOUTS'], ends, 2));
  }
  for (const u of r.unreadable) out.push(`unreadable: ${u.region}: ${u.error}`);
  const over = r.nodes.reduce((a, n) => a + n.overflow, 0);
  if (over) out.push(`${over} channel end${over === 1 ? '' : 's'} found no counters slot and are not shown`);
  return out.join('\n') + '\n';
}

const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (l: Record<string, string | number>) => `{${Object.entries(l).map(([k, v]) => `${k}="${esc(String(v))}"`).join(',')}}`;

/** Counter families: name, help, field. */
const COUNTER_FAMILIES: [string, string, (typeof COUNTER_NAMES)[number]][] = [
  ['isthmus_messages_sent_total', 'Messages this channel end committed to a ring.', 'sent'],
  ['isthmus_messages_received_total', 'Valid messages this channel end delivered to the application.', 'received'],
  ['isthmus_sent_bytes_total', 'Payload bytes sent.', 'bytesSent'],
  ['isthmus_received_bytes_total', 'Payload bytes received.', 'bytesReceived'],
  ['isthmus_ring_full_total', 'Sends that found the ring full (backpressure).', 'full'],
  ['isthmus_messages_invalid_total', 'Received messages that failed verification.', 'invalid'],
  ['isthmus_dead_letters_total', 'Invalid messages written to the dead-letter ring.', 'deadLetters'],
  ['isthmus_messages_lost_total', 'Messages overwritten before this subscriber read them.', 'lost'],
  ['isthmus_messages_dropped_total', 'Requests or responses that could not be delivered.', 'dropped'],
  ['isthmus_responses_rejected_total', 'Error responses sent (server) or received (client).', 'rejected'],
  ['isthmus_calls_timed_out_total', 'Calls that timed out (client).', 'timeouts'],
];

/**
 * The Prometheus text exposition of a report: per channel end counters (labels channel,
 * role, pid, type), per ring gauges (channel, region, kind) and per reader lag.
 */
export function prometheusText(r: SystemReport): string {
  const out: string[] = [];
  const head = (name: string, type: 'counter' | 'gauge', help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  const ends: [ChannelReport, EndCounters][] = r.channels.flatMap((c) => c.ends.map((e) => [c, e] as [ChannelReport, EndCounters]));
  for (const [name, help, field] of COUNTER_FAMILIES) {
    head(name, 'counter', help);
    for (const [c, e] of ends) out.push(`${name}${labels({ channel: c.name, role: e.role, pid: e.pid, type: e.type })} ${e[field]}`);
  }
  const rings = r.channels.flatMap((c) => c.regions.map((g) => ({ c, g, l: { channel: c.name, region: g.region, kind: g.kind } })));
  head('isthmus_ring_capacity_bytes', 'gauge', 'Data area of the ring.');
  for (const { g, l } of rings) out.push(`isthmus_ring_capacity_bytes${labels(l)} ${g.capacity}`);
  head('isthmus_ring_fill_bytes', 'gauge', 'Bytes written and not yet released by the slowest reader.');
  for (const { g, l } of rings) out.push(`isthmus_ring_fill_bytes${labels(l)} ${g.fill}`);
  head('isthmus_ring_participants', 'gauge', 'Participant slots held, by role and liveness.');
  for (const { g, l } of rings) {
    const n = new Map<string, number>();
    for (const p of g.participants) n.set(`${p.role}|${p.alive}`, (n.get(`${p.role}|${p.alive}`) ?? 0) + 1);
    for (const [k, v] of n) {
      const [role, alive] = k.split('|');
      out.push(`isthmus_ring_participants${labels({ ...l, role: role!, alive: alive! })} ${v}`);
    }
  }
  head('isthmus_reader_lag_bytes', 'gauge', 'Bytes committed and not yet read, per reader.');
  for (const { g, l } of rings) for (const p of g.participants) if (p.lag !== undefined) out.push(`isthmus_reader_lag_bytes${labels({ ...l, role: p.role, pid: p.pid, slot: p.slot })} ${p.lag}`);
  head('isthmus_nodes', 'gauge', 'Nodes with a counters region under the root, by liveness.');
  const alive = r.nodes.filter((n) => n.alive).length;
  out.push(`isthmus_nodes{alive="true"} ${alive}`, `isthmus_nodes{alive="false"} ${r.nodes.length - alive}`);
  return out.join('\n') + '\n';
}

/**
 * The Prometheus text of everything under `t` now (for a user's own HTTP server):
 * `res.end(isthmus.metricsText(node.transport))`. Slow path: it maps every region.
 */
export function metricsText(t: Transport): string {
  return prometheusText(inspect(t));
}
