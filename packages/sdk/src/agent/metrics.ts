/**
 * Renders the agent's statistics: the Prometheus text format (docs/agent.md §5 lists the
 * names) and the table `isthmus stat` prints.
 */
import type { AgentStats } from './server.js';

const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function prometheus(s: AgentStats): string {
  const out: string[] = [];
  const family = (name: string, type: 'gauge' | 'counter', help: string, rows: [Record<string, string>, number | null][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of rows) {
      if (v === null) continue;
      const l = Object.entries(labels).map(([k, x]) => `${k}="${esc(x)}"`).join(',');
      out.push(`${name}${l ? `{${l}}` : ''} ${Number.isFinite(v) ? v : 0}`);
    }
  };
  const a = s.agent;
  family('isthmus_agent_peers', 'gauge', 'Connected peers.', [[{}, a.peers]]);
  family('isthmus_agent_dead_peers_total', 'counter', 'Peers whose connection closed while they held regions or slots.', [[{}, a.deadPeers]]);
  family('isthmus_agent_freed_slots_total', 'counter', 'Participant slots of dead peers freed by the agent.', [[{}, a.freedSlots]]);
  family('isthmus_agent_denied_total', 'counter', 'Requests refused by the policy.', [[{}, a.denied]]);
  family('isthmus_agent_regions', 'gauge', 'Published regions.', [[{}, a.regions]]);
  family('isthmus_agent_regions_dropped_total', 'counter', 'Regions dropped (no live holder, removed, or shutdown).', [[{}, a.regionsDropped]]);
  family('isthmus_agent_requests_total', 'counter', 'Requests by op.', Object.entries(a.requests).map(([op, n]) => [{ op }, n]));
  const ch = (f: (c: AgentStats['channels'][number]) => number | null) => s.channels.map((c) => [{ region: c.region, channel: c.channel, kind: c.kind }, f(c)] as [Record<string, string>, number | null]);
  family('isthmus_channel_capacity_bytes', 'gauge', 'Data area of the ring.', ch((c) => c.capacity));
  family('isthmus_channel_fill_bytes', 'gauge', 'Bytes written and not yet released by the slowest reader.', ch((c) => c.fill));
  family('isthmus_channel_fill_ratio', 'gauge', 'fill_bytes / capacity_bytes.', ch((c) => c.fillRatio));
  family('isthmus_channel_bytes_total', 'counter', 'Record bytes committed (padding included) since the agent saw the ring.', ch((c) => c.bytes));
  family('isthmus_channel_messages_total', 'counter', 'Messages committed since the agent saw the ring (SPSC and broadcast rings).', ch((c) => c.messages));
  family('isthmus_channel_bytes_per_second', 'gauge', 'Committed bytes per second over the last sampling interval.', ch((c) => c.bytesPerSec));
  family('isthmus_channel_messages_per_second', 'gauge', 'Messages per second over the last sampling interval.', ch((c) => c.messagesPerSec));
  family('isthmus_channel_lost_total', 'counter', 'Messages subscribers lost to overwriting (overwrite policy).', ch((c) => c.lost));
  family('isthmus_channel_holders', 'gauge', 'Peers holding the region.', ch((c) => c.holders));
  out.push('# HELP isthmus_channel_participants Participant slots held, by role.', '# TYPE isthmus_channel_participants gauge');
  for (const c of s.channels) for (const [role, n] of Object.entries(c.participants)) out.push(`isthmus_channel_participants{region="${esc(c.region)}",channel="${esc(c.channel)}",kind="${c.kind}",role="${role}"} ${n}`);
  return out.join('\n') + '\n';
}

const num = (v: number | null, digits = 0) => (v === null ? '-' : v >= 1e6 ? `${(v / 1e6).toFixed(1)}M` : v >= 1e4 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(digits));

export function table(s: AgentStats): string {
  const a = s.agent;
  const lines = [
    `isthmus agent pid ${a.pid} on ${a.socket}, up ${a.uptimeS.toFixed(0)} s, policy ${a.policy}`,
    `peers ${a.peers}  dead peers ${a.deadPeers}  freed slots ${a.freedSlots}  denied ${a.denied}  regions ${a.regions}  dropped ${a.regionsDropped}`,
    '',
  ];
  const head = ['REGION', 'KIND', 'CAPACITY', 'FILL', 'FILL%', 'MESSAGES', 'MSG/S', 'BYTES', 'B/S', 'LOST', 'HOLDERS', 'PARTICIPANTS'];
  const rows = s.channels.map((c) => [
    c.region,
    c.kind,
    num(c.capacity),
    num(c.fill),
    (c.fillRatio * 100).toFixed(1),
    num(c.messages),
    num(c.messagesPerSec, 1),
    num(c.bytes),
    num(c.bytesPerSec, 1),
    String(c.lost),
    String(c.holders),
    Object.entries(c.participants).map(([r, n]) => `${r}:${n}`).join(' ') || '-',
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((x, i) => (i === 0 || i === 1 || i === r.length - 1 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join('  ').trimEnd();
  lines.push(fmt(head), ...rows.map(fmt));
  if (rows.length === 0) lines.push('(no channels)');
  return lines.join('\n') + '\n';
}
