/**
 * A running system seen from outside with no daemon (docs/counters.md): `isthmus stat`,
 * `isthmus stat --serve` and `isthmus top`, each a real process of the `isthmus` command,
 * reading a publisher process and a subscriber process over the shm transport: their
 * rings' headers and the counters regions of their nodes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CI } from '../../../test/ci.ts';
import * as sdk from '@isthmus/sdk';
import { BookUpdate } from '../../../schemas/generated/ts/market.ts';
import { killAll, NODE, ROOT, run, tempRoot, until, watch } from './helpers.ts';

const CLI = join(ROOT, 'packages', 'sdk', 'bin', 'isthmus.js');
const isthmus = (...args: string[]) => spawnSync(NODE, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
const has = (cmd: string, arg = '--version') => spawnSync(cmd, [arg], { stdio: 'ignore' }).status === 0;

afterEach(killAll);

interface Report {
  where: string;
  channels: { name: string; type: string; regions: { region: string; kind: string; capacity: number; fill: number; messages: number; participants: { role: string; pid: number; alive: boolean; lag?: number }[] }[]; ends: { role: string; pid: number; type: string; sent: number; received: number; bytesSent: number; bytesReceived: number; full: number }[] }[];
  nodes: { region: string; pid: number; alive: boolean; ends: number }[];
}
const stat = (root: string): Report => {
  const r = isthmus('stat', '--root', root, '--json');
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as Report;
};

/** A publisher and a subscriber process that exchanged `n` messages and now hold. */
async function pair(root: string, n: number) {
  const sub = run('stat-peer.ts', [root, 'sub', 'book', String(n)]);
  const pub = run('stat-peer.ts', [root, 'pub', 'book', String(n)]);
  await pub.waitLine((l) => l === `sent ${n}`, 20_000);
  await sub.waitLine((l) => l === `received ${n}`, 20_000);
  return { pub, sub };
}

describe('isthmus stat (shm, no daemon)', () => {
  it('lists the channel, its participants with pid, liveness and lag, and every end\'s counters, read from other processes', async () => {
    const { root, cleanup } = tempRoot();
    try {
      const { pub, sub } = await pair(root, 25);
      const s = stat(root);
      expect(s.where).toBe(root);
      expect(s.channels).toHaveLength(1);
      const c = s.channels[0]!;
      expect(c).toMatchObject({ name: 'book', type: 'market.BookUpdate' });
      expect(c.regions).toHaveLength(1);
      expect(c.regions[0]).toMatchObject({ region: 'book~pub', kind: 'broadcast', capacity: 1 << 16, fill: 0, messages: 25 });
      expect(c.regions[0]!.participants).toEqual([
        { slot: 1, role: 'publisher', pid: pub.proc.pid, alive: true },
        { slot: 2, role: 'subscriber', pid: sub.proc.pid, alive: true, lag: 0, lost: 0 },
      ]);
      const p = c.ends.find((e) => e.role === 'publisher')!;
      const r = c.ends.find((e) => e.role === 'subscriber')!;
      expect(p).toMatchObject({ pid: pub.proc.pid, type: 'market.BookUpdate', sent: 25, received: 0, bytesReceived: 0 });
      expect(r).toMatchObject({ pid: sub.proc.pid, sent: 0, received: 25, bytesSent: 0 });
      expect(p.bytesSent).toBeGreaterThan(25 * 32);
      expect(r.bytesReceived).toBe(p.bytesSent);
      expect(s.nodes.map((x) => [x.pid, x.alive, x.ends]).sort()).toEqual([[pub.proc.pid, true, 1], [sub.proc.pid, true, 1]].sort());

      const text = isthmus('stat', '--root', root);
      expect(text.status).toBe(0);
      expect(text.stdout).toContain(`${root}: 1 channel, 2 live nodes`);
      expect(text.stdout).toMatch(new RegExp(`book\\s+market\\.BookUpdate\\s+book~pub\\s+broadcast\\s+block\\s+64\\.0 KiB\\s+0\\.0%\\s+25\\s+publisher ${pub.proc.pid}, subscriber ${sub.proc.pid} lag 0 B`));
      expect(text.stdout).toMatch(new RegExp(`book\\s+subscriber\\s+${sub.proc.pid}\\s+0\\s+25\\s`));

      // A killed subscriber: DEAD in its ring's slot, its node dead; --sweep removes both.
      sub.kill('SIGKILL');
      await sub.exited;
      const after = stat(root);
      expect(after.channels[0]!.regions[0]!.participants.find((x) => x.pid === sub.proc.pid)).toMatchObject({ alive: false });
      expect(after.channels[0]!.ends.map((e) => e.pid)).toEqual([pub.proc.pid]);
      expect(after.nodes.find((x) => x.pid === sub.proc.pid)).toMatchObject({ alive: false });
      expect(isthmus('stat', '--root', root).stdout).toContain('(1 dead: isthmus stat --sweep removes them)');
      const swept = isthmus('stat', '--root', root, '--sweep', '--json');
      expect(swept.status).toBe(0);
      expect(swept.stderr).toMatch(new RegExp(`^swept: 1 region removed \\(~counters~${sub.proc.pid}\\.\\d+\\.0\\), 1 slot freed\\n$`));
      expect(JSON.parse(swept.stdout).nodes.map((x: { pid: number }) => x.pid)).toEqual([pub.proc.pid]);

    } finally {
      cleanup();
    }
  }, 60_000);

  it('a node makes its counters region with its first channel end and removes it on close()', async () => {
    const { root, cleanup } = tempRoot();
    try {
      const node = await sdk.node({ root });
      expect(readdirSync(root)).toEqual([]);
      const pub = await node.publisher('c', BookUpdate);
      const regions = readdirSync(root).sort();
      expect(regions).toEqual(['c~pub', expect.stringMatching(/^~counters~\d+\.\d+\.0$/)]);
      pub.trySend((m) => { m.seq = 1n; m.side = 1; });
      expect(node.stats()).toEqual([expect.objectContaining({ name: 'c', role: 'publisher', sent: 1 })]);
      node.close();
      expect(readdirSync(root)).toEqual(['c~pub']);
    } finally {
      cleanup();
    }
  });

  it('an empty root, and bad arguments named with exit 2', () => {
    const { root, cleanup } = tempRoot();
    try {
      const r = isthmus('stat', '--root', root);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`${root}: 0 channels, 0 live nodes\n\n(no channels)\n`);
      const bad = isthmus('stat', '--bogus');
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain("isthmus stat: Unknown option '--bogus'");
      const serve = isthmus('stat', '--root', root, '--serve', 'nowhere');
      expect(serve.status).toBe(2);
      expect(serve.stderr).toContain('--serve "nowhere": use HOST:PORT, :PORT, PORT or unix:/PATH');
      const top = isthmus('top', '--interval', '5');
      expect(top.status).toBe(2);
      expect(top.stderr).toContain('--interval must be an integer >= 100 (milliseconds), got "5"');
    } finally {
      cleanup();
    }
  });
});

describe('isthmus stat --serve (Prometheus, no agent)', () => {
  const promtool = has('promtool');
  it.skipIf(!promtool && !CI)('serves the counters and ring gauges; promtool check metrics accepts them', async () => {
    if (!promtool) throw new Error('promtool is not installed (apt-get install prometheus)');
    const { root, cleanup } = tempRoot();
    try {
      const { pub, sub } = await pair(root, 7);
      const server = watch(spawn(NODE, [CLI, 'stat', '--root', root, '--serve', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] }), 'stat --serve');
      try {
        const line = await server.waitLine((l) => l.startsWith('serving '), 10_000);
        const url = /^serving (http:\/\/\S+)/.exec(line)![1]!;
        const res = await fetch(url);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
        const text = await res.text();
        expect(text).toContain(`isthmus_messages_sent_total{channel="book",role="publisher",pid="${pub.proc.pid}",type="market.BookUpdate"} 7\n`);
        expect(text).toContain(`isthmus_messages_received_total{channel="book",role="subscriber",pid="${sub.proc.pid}",type="market.BookUpdate"} 7\n`);
        expect(text).toContain('isthmus_ring_capacity_bytes{channel="book",region="book~pub",kind="broadcast"} 65536\n');
        expect(text).toContain(`isthmus_reader_lag_bytes{channel="book",region="book~pub",kind="broadcast",role="subscriber",pid="${sub.proc.pid}",slot="2"} 0\n`);
        expect(text).toContain('isthmus_nodes{alive="true"} 2\n');
        const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
        expect(check.stdout + check.stderr).toBe('');
        expect(check.status).toBe(0);
        expect((await fetch(url.replace('/metrics', '/other'))).status).toBe(404);
      } finally {
        server.kill('SIGTERM');
        expect(await server.exited).toBe(0);
      }
    } finally {
      cleanup();
    }
  }, 60_000);
});

describe('isthmus top (in a real terminal: tmux)', () => {
  const tmux = has('tmux', '-V');
  it.skipIf(!tmux && !CI)('refreshes per channel rates, fill and readers, and quits on q', async () => {
    if (!tmux) throw new Error('tmux is not installed (apt-get install tmux)');
    const { root, cleanup } = tempRoot();
    const session = `isthmus-top-${process.pid}`;
    const sock = join(root, '..', `${session}.tmux`);
    const tm = (...args: string[]) => spawnSync('tmux', ['-S', sock, ...args], { encoding: 'utf8' });
    try {
      const stream = run('stat-peer.ts', [root, 'stream', 'ticks']);
      await stream.waitLine((l) => l === 'streaming');
      expect(tm('new-session', '-d', '-s', session, '-x', '160', '-y', '30', `${NODE} ${CLI} top --root ${root} --interval 200`).status).toBe(0);
      let screen = '';
      // A few refreshes: the rate needs two frames.
      await until(() => {
        screen = tm('capture-pane', '-p', '-t', session).stdout;
        const row = screen.split('\n').find((l) => l.startsWith('ticks '));
        return row !== undefined && !/^ticks\s+market\.BookUpdate\s+0\s/.test(row);
      }, 15_000, 'a frame with a non-zero rate');
      expect(screen).toContain(`isthmus top  ${root}`);
      expect(screen).toMatch(/CHANNEL\s+TYPE\s+MSG\/S\s+BYTES\/S\s+FILL\s+MAX LAG\s+READERS\s+DEAD LETTERS\s+DEAD PEERS/);
      expect(screen).toMatch(/\nticks\s+market\.BookUpdate\s+[\d.]+[kM]?\s+[\d.]+ (B|KiB|MiB)\/s\s+[\d.]+%\s+[\d.]+ (B|KiB|MiB)\s+1\s+0\s+0\n/);
      expect(screen).toContain('1 live nodes');
      tm('send-keys', '-t', session, 'q');
      await until(() => tm('has-session', '-t', session).status !== 0, 5_000, 'top to quit on q');
    } finally {
      tm('kill-server');
      cleanup();
    }
  }, 60_000);
});

