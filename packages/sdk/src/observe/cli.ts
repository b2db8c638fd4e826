/**
 * `isthmus stat` and `isthmus top`: a running system seen from outside, with no daemon
 * (inspect.ts reads the rings and the nodes' counters regions under the shm root).
 *
 *   isthmus stat [--root DIR] [--json] [--sweep]     every channel, its rings and its ends' counters
 *   isthmus stat --serve ADDR [--root DIR]           the same as Prometheus text on http://ADDR/metrics
 *   isthmus stat --socket PATH | --agent [--json]    ask the node agent instead (docs/agent.md)
 *   isthmus top [--root DIR] [--interval MS]         a live view; q or Ctrl-C quits
 */
import type { Server } from 'node:http';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { agentStatMain } from '../agent/cli.js';
import { inspect, type SystemReport } from '../inspect.js';
import { IsthmusNode } from '../node.js';
import { shm } from '../transports/shm.js';
import { bytes, columns, count, prometheusText, reportJson, table } from './render.js';
import { serveMetrics } from './serve.js';

export const STAT_USAGE = `usage: isthmus stat [--root DIR] [--json] [--sweep] [--serve ADDR] [--socket PATH | --agent]
  Lists every channel under the shm root (default $XDG_RUNTIME_DIR/isthmus, else
  /dev/shm/isthmus-<uid>): kind, type, capacity, fill, participants with pid, liveness and
  lag, and the counters of every open channel end (docs/counters.md).
  --json          the same as JSON
  --sweep         first remove what dead processes left (node.sweep())
  --serve ADDR    serve Prometheus text on http://ADDR/metrics (HOST:PORT, :PORT, PORT or unix:/PATH)
                  until SIGINT/SIGTERM
  --socket PATH, --agent   ask the node agent on PATH (default socket) instead`;

export const TOP_USAGE = `usage: isthmus top [--root DIR] [--interval MS]
  A live view of the channels under the shm root: per channel msg/s, bytes/s, fill, the
  largest reader lag, dead letters and dead peers, refreshed every MS (default 1000).
  q or Ctrl-C quits.`;

function parse(argv: string[], usage: string, cmd: string, options: ParseArgsOptionsConfig): Record<string, string | boolean | undefined> | number {
  try {
    const v = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true }).values as Record<string, string | boolean | undefined>;
    if (v.help) {
      process.stdout.write(usage + '\n');
      return 0;
    }
    return v;
  } catch (err) {
    process.stderr.write(`isthmus ${cmd}: ${(err as Error).message}\n${usage}\n`);
    return 2;
  }
}

/** `isthmus stat`. Resolves with the exit code. */
export async function statMain(argv: string[]): Promise<number> {
  if (argv.includes('--agent') || argv.some((a) => a === '--socket' || a.startsWith('--socket='))) {
    return agentStatMain(argv.filter((a) => a !== '--agent'));
  }
  const a = parse(argv, STAT_USAGE, 'stat', { root: { type: 'string' }, json: { type: 'boolean' }, sweep: { type: 'boolean' }, serve: { type: 'string' } });
  if (typeof a === 'number') return a;
  let t;
  try {
    t = await shm(typeof a.root === 'string' ? { root: a.root } : {});
  } catch (err) {
    process.stderr.write(`isthmus stat: ${(err as Error).message}\n`);
    return 1;
  }
  if (a.sweep) {
    const r = new IsthmusNode(t).sweep();
    process.stderr.write(`swept: ${r.removed.length} region${r.removed.length === 1 ? '' : 's'} removed${r.removed.length ? ` (${r.removed.join(', ')})` : ''}, ${r.freedSlots} slot${r.freedSlots === 1 ? '' : 's'} freed\n`);
  }
  if (typeof a.serve === 'string') {
    let server: Server;
    try {
      const s = await serveMetrics(a.serve, '--serve', () => prometheusText(inspect(t)));
      server = s.server;
      process.stdout.write(`serving ${s.where} for ${t.where}\n`);
    } catch (err) {
      process.stderr.write(`isthmus stat: ${(err as Error).message}\n`);
      return 2;
    }
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await new Promise<void>((r) => server.close(() => r()));
    return 0;
  }
  const r = inspect(t);
  process.stdout.write(a.json ? JSON.stringify(reportJson(r), null, 2) + '\n' : table(r));
  return 0;
}

/** Per channel sums that top turns into rates. */
function totals(r: SystemReport): Map<string, { msgs: number; bytes: number }> {
  const m = new Map<string, { msgs: number; bytes: number }>();
  for (const c of r.channels) {
    let msgs = 0, b = 0;
    if (c.ends.length) {
      for (const e of c.ends) {
        msgs += e.sent;
        b += e.bytesSent;
      }
    } else {
      // No counters (the ends are on another transport): the rings' own positions.
      for (const g of c.regions) {
        msgs += g.messages ?? 0;
        b += g.tail;
      }
    }
    m.set(c.name, { msgs, bytes: b });
  }
  return m;
}

/** One frame of `isthmus top`. */
export function topFrame(r: SystemReport, prev: { at: number; totals: Map<string, { msgs: number; bytes: number }> } | null, intervalMs: number): string {
  const now = totals(r);
  const dt = prev ? (r.at - prev.at) / 1000 : 0;
  const rows = r.channels.map((c) => {
    const t = now.get(c.name)!;
    const p = prev?.totals.get(c.name);
    const rate = (x: number, y: number | undefined) => (p && dt > 0 && y !== undefined ? Math.max(0, (x - y) / dt) : 0);
    const fill = c.regions.reduce((a, g) => Math.max(a, g.fill / g.capacity), 0);
    const lag = Math.max(0, ...c.regions.flatMap((g) => g.participants.map((x) => x.lag ?? 0)));
    const readers = c.regions.reduce((a, g) => a + g.participants.filter((x) => x.role === 'subscriber' || x.role === 'consumer').length, 0);
    const dead = c.regions.reduce((a, g) => a + g.participants.filter((x) => !x.alive).length, 0);
    const letters = c.ends.reduce((a, e) => a + e.deadLetters, 0);
    return [c.name, c.type || '-', count(rate(t.msgs, p?.msgs)), bytes(rate(t.bytes, p?.bytes)) + '/s', `${(100 * fill).toFixed(1)}%`, bytes(lag), String(readers), String(letters), String(dead)];
  });
  const when = new Date(r.at).toISOString().slice(11, 19);
  const lines = [`isthmus top  ${r.where}  ${when}  every ${(intervalMs / 1000).toFixed(1)} s  (q quits)`, ''];
  lines.push(...columns(['CHANNEL', 'TYPE', 'MSG/S', 'BYTES/S', 'FILL', 'MAX LAG', 'READERS', 'DEAD LETTERS', 'DEAD PEERS'], rows, 2));
  if (rows.length === 0) lines.push('(no channels)');
  const deadNodes = r.nodes.filter((n) => !n.alive).length;
  lines.push('', `${r.nodes.length - deadNodes} live nodes${deadNodes ? `, ${deadNodes} dead (isthmus stat --sweep)` : ''}`);
  return lines.join('\n');
}

/** `isthmus top`. Resolves with the exit code when q, Ctrl-C, SIGINT or SIGTERM ends it. */
export async function topMain(argv: string[]): Promise<number> {
  const a = parse(argv, TOP_USAGE, 'top', { root: { type: 'string' }, interval: { type: 'string' } });
  if (typeof a === 'number') return a;
  const intervalMs = a.interval !== undefined ? Number(a.interval) : 1000;
  if (!Number.isInteger(intervalMs) || intervalMs < 100) {
    process.stderr.write(`isthmus top: --interval must be an integer >= 100 (milliseconds), got ${JSON.stringify(a.interval)}\n${TOP_USAGE}\n`);
    return 2;
  }
  let t;
  try {
    t = await shm(typeof a.root === 'string' ? { root: a.root } : {});
  } catch (err) {
    process.stderr.write(`isthmus top: ${(err as Error).message}\n`);
    return 1;
  }
  const out = process.stdout;
  const tty = out.isTTY === true;
  if (tty) out.write('\x1b[?1049h\x1b[?25l'); // the alternate screen, no cursor
  let prev: { at: number; totals: ReturnType<typeof totals> } | null = null;
  const draw = () => {
    const r = inspect(t);
    out.write((tty ? '\x1b[H\x1b[2J' : '') + topFrame(r, prev, intervalMs) + '\n');
    prev = { at: r.at, totals: totals(r) };
  };
  draw();
  const timer = setInterval(draw, intervalMs);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
    if (process.stdin.isTTY) {
      process.stdin.setRawMode(true);
      process.stdin.on('data', (d: Buffer) => {
        if (d.includes(0x71 /* q */) || d.includes(0x03 /* Ctrl-C */)) resolve();
      });
    }
  });
  clearInterval(timer);
  if (process.stdin.isTTY) process.stdin.setRawMode(false);
  process.stdin.pause();
  if (tty) out.write('\x1b[?25h\x1b[?1049l');
  return 0;
}
