/**
 * The network transports with real processes over real sockets (TCP loopback and a Unix
 * stream socket): a standalone listener process serving a shm directory, and peers that
 * only change their node's `transport` option. Pub/sub 1→N (network and shm subscribers),
 * request/response (timeout, killed server → PeerDeadError), a hostile peer (garbage frames
 * are refused, invalid messages become dead letters), reconnect after the listener
 * restarts, and backpressure from a slow remote subscriber.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as netlib from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as isthmus from '@isthmus/sdk';
import { BookUpdate } from '../../../schemas/generated/ts/market.ts';
import { killAll, run, sleep, tempRoot, until, type Child } from './helpers.ts';

afterEach(killAll);

type Url = `tcp://${string}`;
let seqNo = 0;

async function freePort(): Promise<number> {
  const s = netlib.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as netlib.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function address(kind: 'tcp' | 'unix'): Promise<Url> {
  if (kind === 'unix') return `unix://${join(tmpdir(), `isthmus-net-${process.pid}-${seqNo++}.sock`)}` as Url;
  return `tcp://127.0.0.1:${await freePort()}`;
}

async function startListener(url: string, root: string): Promise<Child> {
  const l = run('net-listener.ts', [url, root]);
  await l.waitLine((x) => x.startsWith('listening'));
  return l;
}

/** The first line after index `from` matching `pred`. */
async function lineAfter(c: Child, from: number, pred: (l: string) => boolean, ms = 15_000): Promise<string> {
  let hit: string | undefined;
  await until(() => (hit = c.lines.slice(from).find(pred)) !== undefined, ms, `a line of ${c.lines.join(' | ')} ${c.stderr.join('')}`);
  return hit!;
}

const json = (l: string) => JSON.parse(l) as Record<string, any>;

/** docs/ring.md §1.1 region header, written by hand (an independent reading of the contract). */
function ringHeader(kind: number, typeId: bigint, capacity: number, slots: number, maxMessage: number): Buffer {
  const h = Buffer.alloc(128);
  const dataOffset = Math.ceil((384 + 64 * slots) / 4096) * 4096;
  h.write('ISTHRING', 0, 'latin1');
  h.writeUInt32LE(1, 8);
  h.writeUInt32LE(1, 12);
  h.writeBigUInt64LE(BigInt(dataOffset + capacity), 16);
  h.writeBigUInt64LE(typeId, 24);
  h.writeUInt32LE(1, 32);
  h.writeUInt32LE(kind, 36);
  h.writeUInt32LE(slots, 44);
  h.writeUInt32LE(capacity, 64);
  h.writeUInt32LE(maxMessage, 68);
  h.writeBigUInt64LE(BigInt(dataOffset), 72);
  h.writeBigUInt64LE(1_000_000_000n, 80);
  return h;
}

/** docs/net.md §2: length u32, type u16, flags u16, stream u32, body. */
function frame(type: number, stream: number, body: Buffer): Buffer {
  const f = Buffer.alloc(12 + body.length);
  f.writeUInt32LE(12 + body.length, 0);
  f.writeUInt16LE(type, 4);
  f.writeUInt32LE(stream, 8);
  body.copy(f, 12);
  return f;
}

/** A raw socket that collects the frames the listener sends. */
function raw(url: string) {
  const a = isthmus.parseNetUrl(url);
  const s = a.kind === 'tcp' ? netlib.connect({ host: a.host!, port: a.port! }) : netlib.connect({ path: a.path! });
  const frames: { type: number; stream: number; body: Buffer }[] = [];
  let buf = Buffer.alloc(0);
  let closed = false;
  s.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 12 && buf.length >= buf.readUInt32LE(0)) {
      const n = buf.readUInt32LE(0);
      frames.push({ type: buf.readUInt16LE(4), stream: buf.readUInt32LE(8), body: buf.subarray(12, n) });
      buf = buf.subarray(n);
    }
  });
  s.on('error', () => {});
  s.on('close', () => (closed = true));
  return { s, frames, isClosed: () => closed };
}

function hello(): Buffer {
  const b = Buffer.alloc(24);
  b.write('ISTHNET1', 0, 'latin1');
  b.writeUInt16LE(1, 8); // wire version
  b.writeUInt16LE(1, 10); // ring version
  b.writeUInt16LE(1, 12); // layout version
  b.writeUInt16LE(0, 14); // connector
  b.writeUInt32LE(process.pid, 16);
  b.writeUInt32LE(16 << 20, 20);
  return b;
}

describe.each([['tcp' as const], ['unix' as const]])('net transport over %s', (kind) => {
  it('publish/subscribe 1 → N: two network subscribers and one shm subscriber see every message in order', async () => {
    const { root, cleanup } = tempRoot();
    try {
      const url = await address(kind);
      await startListener(url, root);
      const subs = [run('net-peer.ts', ['sub', url, 'book', '300', '0']), run('net-peer.ts', ['sub', url, 'book', '300', '0'])];
      const pub = run('net-peer.ts', ['pub', url, 'book', '300', '1', String(1 << 16)]);
      await Promise.all([...subs, pub].map((c) => c.waitLine((l) => l === 'ready')));
      // A process on the listener's host reads the same channel through shm.
      const local = await isthmus.node({ root });
      const shmSub = await local.subscriber('book', BookUpdate, { waitMs: 5000 });
      await sleep(300); // joins propagate (one roles scan, ROLES_SCAN_MS)
      pub.proc.kill('SIGUSR2');
      for (const s of subs) {
        const r = json(await s.waitLine((l) => l.startsWith('{'), 30_000));
        expect(r).toMatchObject({ n: 300, first: '0', last: '299', contiguous: true });
        expect(r.stats.invalid).toBe(0);
        expect(r.net.recordsIn).toBe(300);
      }
      let n = 0;
      let prev = -1n;
      while (n < 300) {
        const m = await shmSub.receive(5000);
        expect(m).not.toBeNull();
        expect(m!.seq).toBe(prev + 1n);
        expect(m!.symbol).toBe('EURUSD');
        prev = m!.seq;
        n++;
      }
      const done = json(await pub.waitLine((l) => l.startsWith('{"done"')));
      expect(done.stats.sent).toBe(300);
      local.close();
    } finally {
      cleanup();
    }
  });

  it('request/response: answers, TimeoutError from a slow server, PeerDeadError when the server is killed', async () => {
    const { root, cleanup } = tempRoot();
    try {
      const url = await address(kind);
      await startListener(url, root);
      const server = run('net-peer.ts', ['serve', url, 'pricer']);
      await server.waitLine((l) => l === 'ready');
      const node = await isthmus.node({ transport: url });
      expect(node.transport.kind).toBe(kind);
      const client = await node.client('pricer', BookUpdate, BookUpdate, { waitMs: 5000 });
      const r = await client.call((q) => {
        q.seq = 21n;
        q.side = 2;
      }, { timeoutMs: 3000 });
      expect(r.seq).toBe(42n);
      expect(r.side).toBe(2);
      // Many in flight at once, each answered under its own correlation id.
      const many = await Promise.all(Array.from({ length: 50 }, (_, i) => client.callWith((q) => {
        q.seq = BigInt(i);
        q.side = 1;
      }, (res) => res.seq, { timeoutMs: 5000 })));
      expect(many).toEqual(Array.from({ length: 50 }, (_, i) => BigInt(i) * 2n));
      expect(client.serverAlive()).toBe(true);
      // instrument 1 is answered after 1500 ms: the server is alive, so this is a timeout.
      await expect(client.call((q) => {
        q.instrument_id = 1;
        q.side = 1;
      }, { timeoutMs: 300 })).rejects.toBeInstanceOf(isthmus.TimeoutError);
      server.kill('SIGKILL');
      await server.exited;
      const t0 = Date.now();
      const err = await client.call((q) => {
        q.side = 1;
      }, { timeoutMs: 5000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(isthmus.PeerDeadError);
      expect(Date.now() - t0).toBeLessThan(1500); // liveness, not the 5 s timeout
      expect(client.serverAlive()).toBe(false);
      node.close();
    } finally {
      cleanup();
    }
  });

  it('a hostile peer: garbage is refused with an ERROR frame, invalid records become dead letters, nothing crashes', async () => {
    const { root, cleanup } = tempRoot();
    try {
      const url = await address(kind);
      const listener = await startListener(url, root);
      const node = await isthmus.node({ transport: url });

      // 1. Not the protocol at all.
      const g = raw(url);
      g.s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await until(g.isClosed, 5000, 'the listener to close a garbage connection');
      const err = g.frames.find((f) => f.type === 9);
      expect(err).toBeDefined();
      expect(err!.body.toString('utf8', 4)).toMatch(/frame length|HELLO/);

      // 2. A wrong version in an otherwise good HELLO.
      const v = raw(url);
      const bad = hello();
      bad.writeUInt16LE(7, 8);
      v.s.write(frame(1, 0, bad));
      await until(v.isClosed, 5000, 'the listener to close a wrong-version connection');
      expect(v.frames.find((f) => f.type === 9)!.body.toString('utf8', 4)).toContain('version is 7');

      // 3. A peer that speaks the protocol but publishes invalid messages.
      const h = raw(url);
      h.s.write(frame(1, 0, hello()));
      await until(() => h.frames.some((f) => f.type === 2 && f.body[0] === 3), 5000, 'HELLO and the directory');
      const name = Buffer.from('evil~pub');
      const bind = Buffer.alloc(4 + name.length + 128 + 4 + 6);
      bind.writeUInt8(1, 0); // create
      bind.writeUInt16LE(name.length, 2);
      name.copy(bind, 4);
      ringHeader(3, BookUpdate.TYPE_ID, 65536, 64, 1024).copy(bind, 4 + name.length);
      bind.writeUInt32LE(65536, 4 + name.length + 128);
      bind.writeUInt8(0, 4 + name.length + 132); // no readers
      bind.writeUInt16LE(1, 4 + name.length + 134); // one writer
      bind.writeUInt16LE(1, 4 + name.length + 136); //   in slot 1
      h.s.write(frame(3, 2, bind));
      await until(() => h.frames.some((f) => f.type === 4 && f.stream === 2), 5000, 'BOUND');
      const sub = await node.subscriber('evil', BookUpdate, { waitMs: 5000 });
      const dl = await node.deadLetters('evil');
      await until(() => h.frames.some((f) => f.type === 5 && f.stream === 2 && f.body[0] === 1), 5000, 'ROLES with a reader');
      const rec = Buffer.alloc(32 + 72); // a record whose payload is 72 zero bytes: not a BookUpdate
      rec.writeUInt32LE(((32 + 72 + 7) & ~7) | 2, 0);
      rec.writeUInt32LE(1, 12); // sender slot 1
      rec.writeUInt32LE(72, 24); // payload_len
      h.s.write(frame(6, 2, rec));
      // The subscriber verifies what it reads: the record never reaches the application…
      expect(await sub.receive(1000)).toBeNull();
      // …and is a dead letter, exactly as on shm.
      const d = await dl.receive(5000);
      expect(d).not.toBeNull();
      expect(d!.channel).toBe('evil');
      expect(d!.payload_len).toBe(72);
      expect(sub.stats().invalid).toBe(1);
      expect(sub.stats().deadLetters).toBe(1);
      // A record with reserved flag bits set breaks the framing contract: connection closed.
      rec.writeUInt32LE(4, 28);
      h.s.write(frame(6, 2, rec));
      await until(h.isClosed, 5000, 'the listener to close the hostile connection');
      expect(h.frames.find((f) => f.type === 9)!.body.toString('utf8', 4)).toContain('flags 0x4');

      // The listener and honest peers go on.
      expect(listener.proc.exitCode).toBeNull();
      const pub = await node.publisher('fine', BookUpdate);
      const other = await isthmus.node({ transport: url });
      const s2 = await other.subscriber('fine', BookUpdate, { waitMs: 5000 });
      await sleep(200);
      pub.trySend((m) => {
        m.seq = 7n;
        m.side = 1;
      });
      expect((await s2.receive(5000))?.seq).toBe(7n);
      other.close();
      node.close();
    } finally {
      cleanup();
    }
  });

  it('reconnects after the listener restarts: the subscriber sees the publisher die and come back', async () => {
    const { root, cleanup } = tempRoot();
    try {
      const url = await address(kind);
      let listener = await startListener(url, root);
      const pub = run('net-peer.ts', ['pub-forever', url, 'tick']);
      await pub.waitLine((l) => l === 'ready');
      const w = run('net-peer.ts', ['watch', url, 'tick']);
      await w.waitLine((l) => l.startsWith('seq '));
      listener.kill('SIGKILL');
      await listener.exited;
      const before = w.lines.length;
      await lineAfter(w, before, (l) => l === 'publisher false', 8000);
      const lastSeq = Math.max(...w.lines.filter((l) => l.startsWith('seq ')).map((l) => Number(l.slice(4))));
      await sleep(500); // connectors retry with backoff meanwhile
      listener = await startListener(url, root);
      const back = w.lines.length;
      await lineAfter(w, back, (l) => l === 'publisher true', 10_000);
      const seq = await lineAfter(w, back, (l) => l.startsWith('seq ') && Number(l.slice(4)) > lastSeq, 10_000);
      expect(Number(seq.slice(4))).toBeGreaterThan(lastSeq);
      listener.kill('SIGTERM');
      const stats = json(await listener.waitLine((l) => l.startsWith('{')));
      expect(stats.stats.connects).toBeGreaterThanOrEqual(2);
    } finally {
      cleanup();
    }
  });

  it('backpressure: a slow remote subscriber holds the publisher back, nothing is lost when it closes right after flush(), buffering stays within the window', async () => {
    const { root, cleanup } = tempRoot();
    try {
      const url = await address(kind);
      await startListener(url, root);
      const sub = run('net-peer.ts', ['sub', url, 'bp', '1500', '2']);
      const pub = run('net-peer.ts', ['pub', url, 'bp', '1500', '0', '16384']);
      await Promise.all([sub, pub].map((c) => c.waitLine((l) => l === 'ready')));
      await sleep(300);
      pub.proc.kill('SIGUSR2');
      const p = json(await pub.waitLine((l) => l.startsWith('{"done"'), 60_000));
      const s = json(await sub.waitLine((l) => l.startsWith('{'), 60_000));
      expect(s).toMatchObject({ n: 1500, first: '0', last: '1499', contiguous: true });
      expect(p.flushed).toBe(true); // every message left the publisher's copy before it closed…
      expect(p.stats.full).toBeGreaterThan(0); // the publisher found its ring full…
      expect(p.ms).toBeGreaterThan(1000); // …and was paced by the reader (≥ 2 ms per message)
      // The subscriber's side buffered at most one window (16 KiB ring → 16 KiB window).
      expect(s.net.maxQueuedBytes).toBeLessThanOrEqual(16384);
    } finally {
      cleanup();
    }
  });

  it('no listener: node() fails within connectTimeoutMs with a NetError naming the address and the system error', async () => {
    const url = await address(kind); // nothing listens there
    const t0 = performance.now();
    const err = await isthmus.node({ transport: url, connectTimeoutMs: 400 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(isthmus.NetError);
    const e = err as isthmus.NetError;
    expect(e.code).toBe('TRANSPORT');
    expect(e.url).toBe(url);
    expect(e.errno).toBe(kind === 'tcp' ? 'ECONNREFUSED' : 'ENOENT');
    if (kind === 'tcp') expect(e.port).toBe(Number(url.split(':').pop()));
    else expect(e.path).toBe(url.slice('unix://'.length));
    expect(e.message).toContain(url);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(350); // it retried until the timeout
  });
});

