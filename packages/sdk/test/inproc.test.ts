/**
 * The inproc transport: one SharedArrayBuffer arena shared with worker_threads by posting
 * it; pub/sub and request/response between threads, the same API as across processes.
 */
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as isthmus from '@isthmus/sdk';
import { BookUpdate } from '../../../schemas/generated/ts/market.ts';
import { FIXTURES } from './helpers.ts';

function startThread(data: object): { w: Worker; next(): Promise<unknown> } {
  const w = new Worker(join(FIXTURES, 'thread.ts'), { workerData: data });
  const queue: unknown[] = [];
  const waiters: ((v: unknown) => void)[] = [];
  w.on('message', (m) => (waiters.length ? waiters.shift()!(m) : queue.push(m)));
  w.on('error', (e) => {
    for (const r of waiters) r(e);
  });
  return { w, next: () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r))) };
}

describe('inproc transport with worker_threads', () => {
  it('fans out to 2 worker threads through a posted arena', async () => {
    const t = isthmus.inproc({ size: 8 << 20 });
    const node = await isthmus.node({ transport: t });
    try {
      const pub = await node.publisher('prices', BookUpdate, { capacity: 1 << 14 });
      const threads = [startThread({ arena: t.arena, role: 'sub', count: 5000 }), startThread({ arena: t.arena, role: 'sub', count: 5000 })];
      expect(await Promise.all(threads.map((x) => x.next()))).toEqual(['ready', 'ready']);
      expect(pub.subscribers()).toBe(2);
      let sum = 0n;
      for (let i = 0; i < 5000; i++) {
        await pub.sendAsync((m) => { m.side = 1; m.seq = BigInt(i); });
        sum += BigInt(i);
      }
      const res = (await Promise.all(threads.map((x) => x.next()))) as { n: number; sum: string; stats: isthmus.ChannelStats }[];
      for (const r of res) {
        expect(r.n).toBe(5000);
        expect(r.sum).toBe(String(sum));
        expect(r.stats.received).toBe(5000);
      }
      await Promise.all(threads.map((x) => x.w.terminate()));
      // Both threads see the same names as the main thread.
      expect(t.list()).toContain('prices~pub');
    } finally {
      node.close();
    }
  });

  it('request/response with the server in a worker thread', async () => {
    const t = isthmus.inproc({ size: 8 << 20 });
    const node = await isthmus.node({ transport: t });
    const th = startThread({ arena: t.arena, role: 'server' });
    try {
      expect(await th.next()).toBe('ready');
      const client = await node.client('echo', BookUpdate, BookUpdate);
      for (let i = 0; i < 200; i++) expect((await client.call((q) => { q.side = 1; q.seq = BigInt(i); })).seq).toBe(BigInt(i + 1));
      expect(client.stats()).toMatchObject({ sent: 200, received: 200 });
    } finally {
      th.w.postMessage('stop');
      await th.w.terminate();
      node.close();
    }
  });

  it('a worker thread that ends without closing is a dead peer: its subscriber stops holding the publisher, its publisher is seen gone', async () => {
    const t = isthmus.inproc({ size: 8 << 20 });
    const node = await isthmus.node({ transport: t });
    try {
      const pub = await node.publisher('prices', BookUpdate, { capacity: 4096 });
      const th = startThread({ arena: t.arena, role: 'hold' });
      expect(await th.next()).toBe('ready');
      const ticks = await node.subscriber('ticks', BookUpdate);
      expect(pub.subscribers()).toBe(1);
      expect(ticks.publisherAlive()).toBe(true);
      // The thread's slots carry its own id, not the process's: they are not this thread's.
      const entry = node.list().find((c) => c.name === 'ticks' && c.kind === 'pubsub')!;
      expect(entry.participants.find((p) => p.role === 'subscriber')!.pid).toBe(process.pid);
      expect(entry.participants.find((p) => p.role === 'publisher')!.pid).not.toBe(process.pid);
      let sent = 0;
      while (pub.trySend((m) => { m.side = 1; m.seq = BigInt(sent); })) sent++;
      expect(pub.tryLoan()).toBeNull(); // the idle subscriber holds the ring full
      await th.w.terminate();
      expect(ticks.publisherAlive()).toBe(false);
      expect(pub.subscribers()).toBe(0);
      // A blocked send frees the dead subscriber's slot after unblock_ns and goes on.
      await pub.sendAsync((m) => { m.side = 1; m.seq = BigInt(sent); }, { timeoutMs: 5000 });
    } finally {
      node.close();
    }
  });

  it('an arena that is not one is refused', () => {
    expect(() => isthmus.inproc({ arena: new SharedArrayBuffer(65536) })).toThrow(/not an Isthmus arena/);
  });
});
