// A peer inside a test "container" (test/container/enter.sh). Prints JSON lines.
// Usage: peer.ts <socket> <mode> <channel> [n] [probe-json]
//   pub     publisher: waits for a subscriber, sends n messages, then holds
//   sub     subscriber: receives n messages, reports their seqs, then holds
//   serve   serves <channel>: answers seq+1000 with the caller's symbol, holds
//   call    calls <channel> n times, reports the answers, then holds
//   denied  connects and reports the agent's error
// Every peer first reports {"probe": …}: what the container lets it see (network
// interfaces and their state, /dev/shm, the host paths named in probe-json, a TCP connect
// to probe-json.tcp), and {"id": …}: its pid here and as the agent sees it.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import * as isthmus from '@isthmus/sdk';
import { BookUpdate } from '../../schemas/generated/ts/market.ts';

const [socket, mode, channel, count, probeJson] = process.argv.slice(2) as [string, string, string, string?, string?];
const n = Number(count ?? 10);
const hidden = JSON.parse(probeJson ?? '{}') as { paths?: string[]; tcp?: { host: string; port: number } };
const out = (o: unknown) => console.log(JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));

async function probe() {
  const ifaces = readdirSync('/sys/class/net').map((i) => ({ name: i, state: readFileSync(`/sys/class/net/${i}/operstate`, 'utf8').trim(), flags: Number(readFileSync(`/sys/class/net/${i}/flags`, 'utf8')) }));
  const ls = (p: string) => {
    try {
      return readdirSync(p);
    } catch (err) {
      return (err as NodeJS.ErrnoException).code ?? 'error';
    }
  };
  const paths = Object.fromEntries((hidden.paths ?? []).map((p) => [p, existsSync(p) ? ls(p) : null]));
  let tcp: string | null = null;
  if (hidden.tcp) {
    tcp = await new Promise<string>((resolve) => {
      const s = connect(hidden.tcp!.port, hidden.tcp!.host);
      s.once('connect', () => (s.destroy(), resolve('connected')));
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      setTimeout(() => (s.destroy(), resolve('timeout')), 2000);
    });
  }
  return { pid: process.pid, uid: process.getuid!(), hostname: readFileSync('/proc/sys/kernel/hostname', 'utf8').trim(), ifaces, devShm: readdirSync('/dev/shm'), paths, tcp, pidns: readFileSync('/proc/self/stat', 'utf8').split(' ')[0] };
}

/** The memfd mappings of this process (/proc/self/maps): inode and name. */
function memfds(): { inode: number; name: string }[] {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.includes('/memfd:'))
    .map((l) => {
      const f = l.trim().split(/\s+/);
      return { inode: Number(f[4]), name: f.slice(5).join(' ') };
    });
}

out({ probe: await probe() });
let node: isthmus.IsthmusNode;
try {
  node = await isthmus.node({ transport: 'agent', socket });
} catch (err) {
  out({ error: (err as Error).message });
  process.exit(0);
}
const t = node.transport as isthmus.AgentTransport;
out({ id: { pid: process.pid, agentPid: node.identity.pid, sameNamespace: t.sameNamespace } });
const hold = () => setInterval(() => {}, 1000);

if (mode === 'pub') {
  const pub = await node.publisher(channel, BookUpdate, { capacity: 1 << 16 });
  out({ ready: true, maps: memfds() });
  while (pub.subscribers() === 0) await new Promise((r) => setTimeout(r, 5));
  for (let i = 1; i <= n; i++) await pub.sendAsync((m) => ((m.side = 1), (m.seq = BigInt(i)), m.set_symbol(`S${i}`)), { timeoutMs: 5000 });
  out({ sent: n });
  hold();
} else if (mode === 'sub') {
  const sub = await node.subscriber(channel, BookUpdate, { waitMs: 20000 });
  out({ ready: true, maps: memfds() });
  const got: string[] = [];
  while (got.length < n) {
    const m = await sub.receive(20000);
    if (!m) break;
    got.push(`${m.seq}:${m.symbol}`);
  }
  out({ got, subscribers: node.list().find((c) => c.region === `${channel}~pub`)?.participants.map((p) => ({ ...p })) });
  hold();
} else if (mode === 'serve') {
  await node.serve(channel, BookUpdate, BookUpdate, (req, res) => {
    res.seq = req.seq + 1000n;
    res.side = 2;
    res.set_symbol(req.symbol);
  });
  out({ ready: true });
  hold();
} else if (mode === 'call') {
  const client = await node.client(channel, BookUpdate, BookUpdate, { waitMs: 20000 });
  const answers: string[] = [];
  for (let i = 1; i <= n; i++) answers.push(await client.callWith((q) => ((q.seq = BigInt(i)), (q.side = 1), q.set_symbol(`C${i}`)), (r) => `${r.seq}:${r.symbol}`, { timeoutMs: 5000 }));
  out({ answers, maps: memfds() });
  hold();
}
