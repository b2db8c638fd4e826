/**
 * Publish/subscribe across real processes over the shm transport: fan-out to three
 * subscriber processes, counters, the overwrite policy's gaps, a full ring under the
 * block policy.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as isthmus from '@isthmus/sdk';
import { BookUpdate } from '../../../schemas/generated/ts/market.ts';
import { killAll, run, tempRoot } from './helpers.ts';

afterEach(killAll);

describe('pub/sub over shm', () => {
  it('fans 2000 messages out to 3 subscriber processes, in order, zero-copy', async () => {
    const { root, cleanup } = tempRoot();
    const node = await isthmus.node({ root });
    try {
      const pub = await node.publisher('book', BookUpdate, { capacity: 1 << 16, policy: 'block' });
      const subs = [0, 1, 2].map(() => run('sub.ts', [root, 'book', '2000']));
      await Promise.all(subs.map((s) => s.waitLine((l) => l === 'ready')));
      // The subscribers joined: the publisher sees them (liveness of real pids).
      expect(pub.subscribers()).toBe(3);
      let expectedSum = 0n;
      for (let i = 1; i <= 2000; i++) {
        await pub.sendAsync((m) => {
          m.side = 1;
          m.seq = BigInt(i);
          m.set_symbol('EURUSD');
        });
        expectedSum += BigInt(i);
      }
      const results = await Promise.all(subs.map((s) => s.waitLine((l) => l.startsWith('{')).then((l) => JSON.parse(l))));
      for (const r of results) {
        expect(r).toMatchObject({ n: 2000, sum: String(expectedSum), inOrder: true, symbols: 2000 });
        expect(r.stats).toMatchObject({ received: 2000, lost: 0, invalid: 0 });
        expect(r.stats.bytesReceived).toBeGreaterThan(2000 * 16);
      }
      const st = pub.stats();
      expect(st.sent).toBe(2000);
      expect(st.bytesSent).toBe(results[0].stats.bytesReceived);
      // A 64 KiB ring and 2000 messages of ~100 bytes: the publisher had to wait for
      // the subscribers at least once, and counted it.
      expect(st.full).toBeGreaterThan(0);
      expect(node.stats().find((s) => s.name === 'book' && s.role === 'publisher')?.sent).toBe(2000);
      await Promise.all(subs.map((s) => s.exited));
    } finally {
      node.close();
      cleanup();
    }
  });

  it('overwrite policy: a slow subscriber loses messages, sees a gap, and reads intact copies', async () => {
    const node = await isthmus.node({ transport: 'inproc' });
    try {
      const pub = await node.publisher('ticks', BookUpdate, { capacity: 4096, policy: 'overwrite' });
      const sub = await node.subscriber('ticks', BookUpdate);
      const gaps: number[] = [];
      sub.on('gap', (n: number) => gaps.push(n));
      for (let i = 0; i < 500; i++) {
        // The publisher never blocks with this policy.
        expect(
          pub.trySend((m) => {
            m.side = 1;
            m.seq = BigInt(i);
          }),
        ).toBe(true);
      }
      const seen: bigint[] = [];
      for (let m = sub.tryReceive(); m; m = sub.tryReceive()) seen.push(m.seq);
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.length).toBeLessThan(500);
      expect(seen.at(-1)).toBe(499n);
      // Whatever was delivered is consecutive after the jump, and the loss is counted.
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBe(seen[i - 1]! + 1n);
      const lost = gaps.reduce((a, b) => a + b, 0);
      expect(lost).toBeGreaterThan(0);
      expect(sub.stats().lost).toBe(lost);
      expect(lost + seen.length).toBe(500);
    } finally {
      node.close();
    }
  });

  it('block policy: loan() throws OverloadedError when a subscriber is a ring behind; tryLoan() returns null', async () => {
    const node = await isthmus.node({ transport: 'inproc' });
    try {
      const pub = await node.publisher('slow', BookUpdate, { capacity: 4096, policy: 'block' });
      const sub = await node.subscriber('slow', BookUpdate);
      let sent = 0;
      while (pub.trySend((m) => { m.side = 1; m.seq = BigInt(sent); })) sent++;
      expect(sent).toBeGreaterThan(10);
      expect(pub.tryLoan()).toBeNull();
      expect(() => pub.loan()).toThrow(isthmus.OverloadedError);
      expect(pub.stats().full).toBeGreaterThanOrEqual(2);
      // Reading frees room.
      let got = 0;
      for (let m = sub.tryReceive(); m; m = sub.tryReceive()) expect(m.seq).toBe(BigInt(got++));
      expect(got).toBe(sent);
      expect(pub.trySend((m) => { m.side = 1; m.seq = 1n; })).toBe(true);
    } finally {
      node.close();
    }
  });

  it('flush() resolves once every subscriber has read what was sent; false on timeout', async () => {
    const node = await isthmus.node({ transport: 'inproc' });
    try {
      const pub = await node.publisher('flushed', BookUpdate, { capacity: 4096 });
      expect(await pub.flush(10)).toBe(true); // nothing sent, nobody to read
      const fast = await node.subscriber('flushed', BookUpdate);
      const slow = await node.subscriber('flushed', BookUpdate);
      for (let i = 0; i < 5; i++) pub.trySend((m) => { m.side = 1; m.seq = BigInt(i); });
      while (fast.tryReceive());
      fast.release();
      expect(await pub.flush(50)).toBe(false); // `slow` has read nothing
      let got = 0;
      const reader = setInterval(() => {
        if (slow.tryReceive()) got++;
        else slow.release();
      }, 5);
      expect(await pub.flush(5000)).toBe(true);
      clearInterval(reader);
      expect(got).toBe(5);
      pub.close();
      await expect(pub.flush()).rejects.toThrow(isthmus.ClosedError);
    } finally {
      node.close();
    }
  });

  it('block policy: a subscriber process killed with SIGKILL stops holding sendAsync back after unblock_ns', async () => {
    const { root, cleanup } = tempRoot();
    const node = await isthmus.node({ root });
    try {
      const pub = await node.publisher('stuck', BookUpdate, { capacity: 4096 });
      const sub = run('sub.ts', [root, 'stuck', '1000000']);
      await sub.waitLine((l) => l === 'ready');
      sub.kill('SIGKILL');
      await sub.exited;
      let sent = 0;
      while (pub.trySend((m) => { m.side = 1; m.seq = BigInt(sent); })) sent++;
      expect(pub.tryLoan()).toBeNull(); // the dead subscriber's cursor holds the ring full
      // sendAsync waits in slices shorter than unblock_ns (1 s): the blocked time adds up.
      const t0 = performance.now();
      await pub.sendAsync((m) => { m.side = 1; m.seq = BigInt(sent); }, { timeoutMs: 10_000 });
      expect(performance.now() - t0).toBeGreaterThanOrEqual(900);
      expect(pub.subscribers()).toBe(0);
    } finally {
      node.close();
      cleanup();
    }
  });

  it('close() ends a pending for-await loop; a closed subscriber refuses tryReceive()', async () => {
    const node = await isthmus.node({ transport: 'inproc' });
    try {
      const pub = await node.publisher('c', BookUpdate);
      const sub = await node.subscriber('c', BookUpdate);
      const seen: bigint[] = [];
      const loop = (async () => {
        for await (const m of sub) seen.push(m.seq);
        return 'ended';
      })();
      pub.trySend((m) => {
        m.side = 1;
        m.seq = 7n;
      });
      await new Promise((r) => setTimeout(r, 50));
      sub.close();
      expect(await loop).toBe('ended');
      expect(seen).toEqual([7n]);
      expect(() => sub.tryReceive()).toThrow(isthmus.ClosedError);
      expect(node.stats().map((s) => s.role)).toEqual(['publisher']);
    } finally {
      node.close();
    }
  });

  it('a subscriber to a channel that does not exist fails with NotFoundError after waitMs', async () => {
    const { root, cleanup } = tempRoot();
    const node = await isthmus.node({ root });
    try {
      const t0 = Date.now();
      const err = await node.subscriber('nobody', BookUpdate, { waitMs: 150 }).catch((e) => e);
      expect(err).toBeInstanceOf(isthmus.NotFoundError);
      expect(err.code).toBe('NOT_FOUND');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
      expect(String(err.message)).toContain(root);
    } finally {
      node.close();
      cleanup();
    }
  });

  it('a subscriber waits for a publisher that appears later', async () => {
    const { root, cleanup } = tempRoot();
    const node = await isthmus.node({ root });
    try {
      const subP = node.subscriber('later', BookUpdate, { waitMs: 5000 });
      setTimeout(() => void node.publisher('later', BookUpdate), 100);
      const sub = await subP;
      expect(sub.name).toBe('later');
    } finally {
      node.close();
      cleanup();
    }
  });
});
