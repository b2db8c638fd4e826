/**
 * The container boundary: peers in separate "containers" — `unshare --mount --pid --net
 * --ipc --uts --fork --mount-proc`, each with its own /proc, a fresh private /dev/shm, no
 * network (lo only, down) and the host runtime dir covered, only the node agent's socket
 * bind-mounted in (test/container/enter.sh) — exchange messages through the agent's
 * sealed memfds, zero-copy: both map the same memfd inode and each reads what the other
 * wrote in place. A uid the policy does not list is refused with the agent's error; a
 * peer killed with SIGKILL is cleaned up; `isthmus stat` and /metrics show the channels;
 * SIGTERM leaves no regions and no socket behind.
 *
 * Needs root, unshare, setpriv and mount. Without them the suite is skipped, except with
 * CI=true, where it fails.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CI } from './ci.ts';

const ROOT = join(import.meta.dirname, '..');
const NODE = Number(process.versions.node.split('.')[0]) >= 24 ? process.execPath : join(ROOT, 'node_modules/.bin/node');
const TOOLS = ['unshare', 'setpriv', 'mount'];
const MISSING = [...TOOLS.filter((t) => spawnSync(t, ['--version']).error), ...(process.getuid?.() === 0 ? [] : ['root (uid 0)'])];
const ENTER = join(ROOT, 'test/container/enter.sh');
const PEER = join(ROOT, 'test/container/peer.ts');
const FIX = join(ROOT, 'packages/sdk/test/fixtures');

interface Proc {
  proc: ChildProcess;
  out: Record<string, unknown>[];
  err: string[];
  /** The first JSON line that has `key`. */
  wait<T = unknown>(key: string, timeoutMs?: number): Promise<T>;
  exited: Promise<number | string>;
}

const procs: Proc[] = [];

function start(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Proc {
  const proc = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : process.env });
  const out: Record<string, unknown>[] = [];
  const err: string[] = [];
  const waiters: { key: string; resolve: (v: unknown) => void }[] = [];
  let buf = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line);
      } catch {
        o = { line };
      }
      out.push(o);
      for (let k = waiters.length - 1; k >= 0; k--) if (waiters[k]!.key in o) waiters.splice(k, 1)[0]!.resolve(o[waiters[k]?.key ?? ''] ?? o[Object.keys(o)[0]!]);
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => err.push(d));
  const exited = new Promise<number | string>((r) => proc.on('exit', (c, s) => r(c ?? s ?? -1)));
  const p: Proc = {
    proc,
    out,
    err,
    exited,
    wait<T>(key: string, timeoutMs = 30_000) {
      const seen = out.find((o) => key in o);
      if (seen) return Promise.resolve(seen[key] as T);
      return new Promise<T>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no "${key}" from ${args.join(' ')} within ${timeoutMs} ms; stdout ${JSON.stringify(out)}; stderr ${err.join('')}`)), timeoutMs);
        waiters.push({ key, resolve: (v) => (clearTimeout(t), resolve(v as T)) });
        exited.then((c) => reject(new Error(`exited ${c} before "${key}"; stdout ${JSON.stringify(out)}; stderr ${err.join('')}`)));
      });
    },
  };
  procs.push(p);
  return p;
}

let base: string;
let hostRun: string;
let ctRun: string;
let socket: string;
let policy: string;
let agent: Proc;
let agentLog = () => agent.err.join('');
let metricsPort = 0;
let shmMarker: string;

/** A peer in a fresh container; `asUid` runs it with another uid (setpriv). */
function container(mode: string, channel: string, n: number, asUid?: number): Proc {
  const probe = JSON.stringify({ paths: [hostRun], tcp: { host: '127.0.0.1', port: metricsPort } });
  // Inside, the repository is read through its read-only bind mount at <ctRun>/src (enter.sh),
  // so another uid can run the peer wherever the checkout lives.
  const inCt = (p: string) => (p.startsWith(`${ROOT}/`) ? join(ctRun, 'src', relative(ROOT, p)) : p);
  const cmd = asUid === undefined ? [inCt(NODE)] : ['setpriv', `--reuid=${asUid}`, `--regid=${asUid}`, '--clear-groups', inCt(NODE)];
  return start('unshare', ['--mount', '--pid', '--net', '--ipc', '--uts', '--fork', '--mount-proc', 'sh', ENTER, hostRun, ctRun, ...cmd, inCt(PEER), join(ctRun, 'agent.sock'), mode, channel, String(n), probe], { ISTHMUS_CT_SRC: ROOT });
}

function stat(): Record<string, any> {
  const r = spawnSync(NODE, [join(FIX, 'agent-stat.ts'), '--socket', socket, '--json'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`stat exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function until<T>(what: string, f: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function fetchMetrics(): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port: metricsPort, path: '/metrics' }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(body));
    }).on('error', reject);
  });
}

describe.skipIf(MISSING.length > 0 && !CI)('container boundary (node agent)', () => {
  beforeAll(async () => {
    expect(MISSING, `missing: ${MISSING.join(', ')}`).toEqual([]);
    if (!existsSync(join(ROOT, 'packages/sdk/dist/agent/cli.js'))) throw new Error('packages/sdk/dist is missing: run `npx tsc -b` first');
    base = mkdtempSync('/tmp/isthmus-ct-');
    chmodSync(base, 0o755); // the refused peer (uid 65534) must reach the socket
    hostRun = join(base, 'host-run');
    ctRun = join(base, 'ct-run');
    mkdirSync(hostRun, { mode: 0o755 });
    mkdirSync(ctRun, { mode: 0o755 });
    socket = join(hostRun, 'agent.sock');
    policy = join(base, 'policy.json');
    writeFileSync(policy, JSON.stringify({ rules: [{ match: { uid: 0 }, allow: { publish: ['ct.*'], subscribe: ['ct.*'], serve: ['ct.*'], call: ['ct.*'] }, stat: true }] }));
    // Something a container must not see: a file in the host's /dev/shm.
    shmMarker = join('/dev/shm', `isthmus-ct-marker-${process.pid}`);
    writeFileSync(shmMarker, 'host only');
    agent = start(NODE, [join(FIX, 'agent.ts'), '--socket', socket, '--policy', policy, '--metrics', '127.0.0.1:0', '--sample-ms', '100']);
    await until('the agent to listen', () => /metrics on http:\/\/127\.0\.0\.1:(\d+)/.exec(agentLog()), 20_000);
    metricsPort = Number(/metrics on http:\/\/127\.0\.0\.1:(\d+)/.exec(agentLog())![1]);
  });

  afterAll(async () => {
    for (const p of procs) {
      if (p === agent) continue;
      const id = p.out.find((o) => 'id' in o)?.id as { agentPid?: number } | undefined;
      if (id?.agentPid) {
        try {
          process.kill(id.agentPid, 'SIGKILL'); // pid 1 of its namespace: the container dies
        } catch {
          /* gone */
        }
      }
      p.proc.kill('SIGKILL');
    }
    if (agent && agent.proc.exitCode === null) agent.proc.kill('SIGKILL');
    if (shmMarker) rmSync(shmMarker, { force: true });
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it('a publisher and a subscriber in two containers exchange messages zero-copy through the agent', async () => {
    const sub = container('sub', 'ct.book', 20);
    await sub.wait('id'); // connected; it waits for the channel to appear
    const pub = container('pub', 'ct.book', 20);
    const got = await sub.wait<string[]>('got');
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `${i + 1}:S${i + 1}`));
    expect(await pub.wait('sent')).toBe(20);

    // Two pid namespaces: each is pid 1 at home; the agent knows their real pids.
    const sid = (await sub.wait<{ pid: number; agentPid: number; sameNamespace: boolean }>('id'))!;
    const pid = (await pub.wait<{ pid: number; agentPid: number; sameNamespace: boolean }>('id'))!;
    expect(sid.pid).toBe(1);
    expect(pid.pid).toBe(1);
    expect(sid.sameNamespace).toBe(false);
    expect(sid.agentPid).not.toBe(pid.agentPid);

    // Zero copy: both processes map the same memfd (same inode), named after the region.
    const smaps = sub.out.find((o) => 'maps' in o)!.maps as { inode: number; name: string }[];
    const pmaps = pub.out.find((o) => 'maps' in o)!.maps as { inode: number; name: string }[];
    const sm = smaps.find((m) => m.name.startsWith('/memfd:isthmus:ct.book~pub'));
    const pm = pmaps.find((m) => m.name.startsWith('/memfd:isthmus:ct.book~pub'));
    expect(sm, JSON.stringify(smaps)).toBeDefined();
    expect(sm!.inode).toBeGreaterThan(0);
    expect(sm!.inode).toBe(pm!.inode);

    // Liveness across pid namespaces (through the agent): the subscriber sees both
    // participants alive, under the pids the agent sees.
    const parts = sub.out.find((o) => 'got' in o)!.subscribers as { role: string; pid: number; alive: boolean }[];
    expect(parts.sort((a, b) => a.role.localeCompare(b.role))).toEqual([
      { role: 'publisher', pid: pid.agentPid, alive: true },
      { role: 'subscriber', pid: sid.agentPid, alive: true },
    ]);
  });

  it('a container peer has no other path: lo only (down), a private empty /dev/shm, the host runtime dir hidden, no network', async () => {
    const p = container('sub', 'ct.nothing', 0);
    const probe = await p.wait<Record<string, any>>('probe');
    expect(probe.pid).toBe(1);
    expect(probe.hostname).toBe('isthmus-ct');
    expect(probe.ifaces).toEqual([{ name: 'lo', state: 'down', flags: expect.any(Number) }]);
    expect(probe.ifaces[0].flags & 1).toBe(0); // IFF_UP clear
    expect(probe.devShm).toEqual([]); // the host's marker file is not there
    expect(probe.paths[hostRun]).toEqual([]); // covered: the host's agent.sock is not visible
    expect(probe.tcp).toBe('ENETUNREACH'); // the agent's metrics port on the host is unreachable
    expect(existsSync(shmMarker)).toBe(true);
  });

  it('request/response across containers: the server answers in the client’s response ring', async () => {
    const server = container('serve', 'ct.pricer', 0);
    await server.wait('ready');
    const client = container('call', 'ct.pricer', 5);
    expect(await client.wait('answers')).toEqual(['1001:C1', '1002:C2', '1003:C3', '1004:C4', '1005:C5']);
  });

  it('a uid the policy does not list is refused with the agent’s error', async () => {
    const p = container('pub', 'ct.book', 1, 65534);
    const probe = await p.wait<{ uid: number }>('probe');
    expect(probe.uid).toBe(65534);
    const err = await p.wait<string>('error');
    expect(err).toMatch(/DENIED: the isthmus agent refuses pid \d+ uid 65534 \(nobody\) gid 65534: no rule of the policy .*policy\.json matches uid 65534/);
    await until('the agent to log the refusal', () => /denied pid \d+ uid 65534/.test(agentLog()));
  });

  it('isthmus stat and the Prometheus endpoint show the channels and counters', async () => {
    const s = await until('ct.book~pub in stat', () => {
      const x = stat();
      return x.channels.some((c: { region: string; messages: number }) => c.region === 'ct.book~pub' && c.messages === 20) && x;
    });
    const book = s.channels.find((c: { region: string }) => c.region === 'ct.book~pub');
    expect(book).toMatchObject({ kind: 'broadcast', capacity: 65536, messages: 20, participants: { publisher: 1, subscriber: 1 }, holders: 2 });
    expect(book.bytes).toBeGreaterThanOrEqual(20 * 64);
    expect(s.agent.denied).toBeGreaterThanOrEqual(1);
    const table = spawnSync(NODE, [join(FIX, 'agent-stat.ts'), '--socket', socket], { encoding: 'utf8' });
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/^REGION\s+KIND\s+CAPACITY\s+FILL\s+FILL%\s+MESSAGES/m);
    expect(table.stdout).toMatch(/^ct\.book~pub\s+broadcast\s+65\.5k\s+\d+\s+[\d.]+\s+20\s.*publisher:1 subscriber:1$/m);
    expect(table.stdout).toMatch(/^ct\.pricer~req\s+mpsc\s/m);
    const m = await fetchMetrics();
    expect(m).toMatch(/^isthmus_channel_messages_total\{region="ct\.book~pub",channel="ct\.book",kind="broadcast"\} 20$/m);
    expect(m).toMatch(/^isthmus_channel_capacity_bytes\{region="ct\.book~pub",channel="ct\.book",kind="broadcast"\} 65536$/m);
    expect(m).toMatch(/^isthmus_channel_participants\{region="ct\.book~pub",channel="ct\.book",kind="broadcast",role="subscriber"\} 1$/m);
    expect(m).toMatch(/^isthmus_agent_denied_total [1-9]/m);
    expect(m).toMatch(/^# TYPE isthmus_channel_fill_ratio gauge$/m);
  });

  it('cleans up after a container peer killed with SIGKILL: its slot is freed, then the region no one holds is dropped', async () => {
    const before = stat();
    const sub = procs.find((p) => p.out.some((o) => 'got' in o))!;
    const pub = procs.find((p) => p.out.some((o) => 'sent' in o))!;
    const sid = (await sub.wait<{ agentPid: number }>('id'))!;
    const pid = (await pub.wait<{ agentPid: number }>('id'))!;
    process.kill(sid.agentPid, 'SIGKILL');
    const after = await until('the subscriber slot freed', () => {
      const x = stat();
      const c = x.channels.find((k: { region: string }) => k.region === 'ct.book~pub');
      return c && !c.participants.subscriber && x;
    });
    expect(after.agent.deadPeers).toBe(before.agent.deadPeers + 1);
    expect(after.agent.freedSlots).toBeGreaterThan(before.agent.freedSlots);
    expect(after.channels.find((k: { region: string }) => k.region === 'ct.book~pub')).toMatchObject({ participants: { publisher: 1 }, holders: 1 });
    // (stderr of the agent arrives asynchronously: wait for the line)
    await until('the agent to log the dead peer', () => new RegExp(`peer pid ${sid.agentPid} uid 0 \\(root\\) gid 0 is gone \\(connection closed\\) holding 1 regions; freed 1 slots in ct\\.book~pub`).test(agentLog()));
    process.kill(pid.agentPid, 'SIGKILL');
    await until('ct.book~pub dropped', () => !stat().channels.some((k: { region: string }) => k.region === 'ct.book~pub'));
    await until('the agent to log the drop', () => /region ct\.book~pub dropped: no live peer holds it/.test(agentLog()));
    await until('the killed containers to exit', () => sub.proc.exitCode !== null && pub.proc.exitCode !== null);
  });

  it('SIGTERM: the agent drops every region, unlinks its socket and exits 0', async () => {
    const hold = container('pub', 'ct.held', 0);
    await hold.wait('ready');
    expect(stat().channels.some((c: { region: string }) => c.region === 'ct.held~pub')).toBe(true);
    agent.proc.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(existsSync(socket)).toBe(false);
    expect(agentLog()).toMatch(/SIGTERM: shutting down/);
    expect(agentLog()).toMatch(/region ct\.held~pub dropped: agent shutdown/);
    expect(agentLog()).toMatch(/stopped: closed \d+ connections; 0 peers, 0 regions left/);
  });
});
