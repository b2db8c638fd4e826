/**
 * Request/response with the server in its own process: answers, and the four typed
 * failures — TimeoutError, RejectedError, PeerDeadError (kill -9), OverloadedError.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as isthmus from '@isthmus/sdk';
import { BookUpdate } from '../../../schemas/generated/ts/market.ts';
import { killAll, run, tempRoot } from './helpers.ts';

afterEach(killAll);

async function setup(mode: string) {
  const { root, cleanup } = tempRoot();
  const server = run('server.ts', [root, 'pricer', mode]);
  await server.waitLine((l) => l === 'ready');
  const node = await isthmus.node({ root });
  const client = await node.client('pricer', BookUpdate, BookUpdate, { waitMs: 5000 });
  return {
    root,
    server,
    node,
    client,
    done() {
      node.close();
      cleanup();
    },
  };
}

describe('request/response across processes', () => {
  it('answers calls with typed responses, matched by correlation id', async () => {
    const t = await setup('normal');
    try {
      const r = await t.client.call((req) => {
        req.side = 1;
        req.seq = 21n;
        req.instrument_id = 7;
        req.set_symbol('EURUSD');
      });
      expect(r).toBeInstanceOf(BookUpdate);
      expect(r.seq).toBe(42n);
      expect(r.symbol).toBe('EURUSD');
      expect(r.verify()).toBeNull();
      // Many calls in flight at once, answered in order.
      const many = await Promise.all(Array.from({ length: 50 }, (_, i) => t.client.call((req) => { req.side = 1; req.seq = BigInt(i); })));
      expect(many.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => BigInt(2 * i)));
      // Zero-copy read inside a callback.
      const seq = await t.client.callWith((req) => { req.side = 1; req.seq = 5n; }, (res) => res.seq);
      expect(seq).toBe(10n);
      // A loaned request works like a fill function.
      const m = t.client.loan();
      m.side = 1;
      m.seq = 100n;
      expect((await t.client.call(m)).seq).toBe(200n);
      const st = t.client.stats();
      expect(st).toMatchObject({ sent: 53, received: 53, rejected: 0, timeouts: 0 });
    } finally {
      t.done();
    }
  });

  it('a client that replaces a closed one in the same process (same slot) gets its own answers', async () => {
    const t = await setup('normal');
    try {
      const ask = (c: typeof t.client, seq: bigint) => c.call((req) => { req.side = 1; req.seq = seq; }, { timeoutMs: 2000 });
      expect((await ask(t.client, 1n)).seq).toBe(2n);
      t.client.close();
      // The new client takes the freed slot: same pid and start time as the old holder.
      const again = await t.node.client('pricer', BookUpdate, BookUpdate, { waitMs: 5000 });
      expect((await ask(again, 3n)).seq).toBe(6n);
      expect((await ask(again, 4n)).seq).toBe(8n);
      again.close();
    } finally {
      t.done();
    }
  });

  it('TimeoutError when the server answers too late; the late answer is dropped, later calls work', async () => {
    const t = await setup('normal');
    try {
      const err = await t.client.call((req) => { req.side = 1; req.instrument_id = 1; }, { timeoutMs: 200 }).catch((e) => e);
      expect(err).toBeInstanceOf(isthmus.TimeoutError);
      expect(err).toBeInstanceOf(isthmus.IsthmusError);
      expect(err.code).toBe('TIMEOUT');
      expect(err.timeoutMs).toBe(200);
      // The server is still alive and answers the next call (after the slow one).
      const r = await t.client.call((req) => { req.side = 1; req.seq = 3n; }, { timeoutMs: 5000 });
      expect(r.seq).toBe(6n);
      expect(t.client.stats().timeouts).toBe(1);
      expect(t.client.stats().dropped).toBe(1); // the late answer to the timed-out call
    } finally {
      t.done();
    }
  });

  it('RejectedError with the reason when the handler throws, and when the request fails verify()', async () => {
    const t = await setup('normal');
    try {
      const err = await t.client.call((req) => {
        req.side = 1;
        req.instrument_id = 2;
        req.seq = 77n;
      }).catch((e) => e);
      expect(err).toBeInstanceOf(isthmus.RejectedError);
      expect(err.code).toBe('REJECTED');
      expect(err.reason).toBe('instrument 2 is not priced here (seq 77)');
      // An invalid request: the symbol reference points outside the message.
      const bad = await t.client.call((req) => {
        req.side = 1;
        req.set_symbol('ABC');
        new DataView(req.bytes().buffer).setUint32(req.byteOffset + 16 + 24, 5000, true);
      }).catch((e) => e);
      expect(bad).toBeInstanceOf(isthmus.RejectedError);
      expect(bad.reason).toMatch(/^invalid request: BAD_REF|OUT_OF_BOUNDS/);
      expect(bad.reason).toContain('symbol');
      expect(t.client.stats().rejected).toBe(2);
      // The invalid request went to the service's dead letters.
      const dl = await t.node.deadLetters('pricer');
      const d = await dl.receive(2000);
      expect(d).not.toBeNull();
      expect(d!.channel).toBe('pricer');
      expect(d!.path).toContain('symbol');
      expect(d!.expected_type_id).toBe(BookUpdate.TYPE_ID);
      expect(d!.payload.length).toBeGreaterThan(16);
      // And the server keeps serving.
      expect((await t.client.call((req) => { req.side = 1; req.seq = 1n; })).seq).toBe(2n);
    } finally {
      t.done();
    }
  });

  it('PeerDeadError when the server is killed with SIGKILL, for calls in flight and new calls', async () => {
    const t = await setup('normal');
    try {
      expect((await t.client.call((req) => { req.side = 1; req.seq = 1n; })).seq).toBe(2n);
      expect(t.client.serverAlive()).toBe(true);
      // A slow call is in flight when the server dies.
      const inflight = t.client.call((req) => { req.side = 1; req.instrument_id = 1; }, { timeoutMs: 10_000 }).catch((e) => e);
      await new Promise((r) => setTimeout(r, 100));
      t.server.kill('SIGKILL');
      await t.server.exited;
      const t0 = Date.now();
      const err = await inflight;
      expect(err).toBeInstanceOf(isthmus.PeerDeadError);
      expect(err.code).toBe('PEER_DEAD');
      expect(err.pid).toBe(t.server.proc.pid);
      expect(Date.now() - t0).toBeLessThan(2000); // found by liveness, not by the 10 s timeout
      expect(t.client.serverAlive()).toBe(false);
      const err2 = await t.client.call((req) => { req.side = 1; req.seq = 1n; }, { timeoutMs: 10_000 }).catch((e) => e);
      expect(err2).toBeInstanceOf(isthmus.PeerDeadError);
    } finally {
      t.done();
    }
  });

  it('OverloadedError when the request ring is full; nothing is sent', async () => {
    const t = await setup('stuck');
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => t.client.call((req) => { req.side = 1; req.seq = BigInt(i); }, { timeoutMs: 1000 }).catch((e) => e)),
      );
      const overloaded = results.filter((e) => e instanceof isthmus.OverloadedError);
      const timedOut = results.filter((e) => e instanceof isthmus.TimeoutError);
      // 4096-byte ring, 512-byte requests: only a handful fit.
      expect(overloaded.length).toBeGreaterThan(5);
      expect(timedOut.length + overloaded.length).toBe(20);
      expect(overloaded[0]!.code).toBe('OVERLOADED');
      expect(t.client.stats().full).toBe(overloaded.length);
      expect(t.client.stats().sent).toBe(timedOut.length);
    } finally {
      t.done();
    }
  });

  it('a client of a service that does not exist fails with NotFoundError', async () => {
    const { root, cleanup } = tempRoot();
    const node = await isthmus.node({ root });
    try {
      await expect(node.client('none', BookUpdate, BookUpdate, { waitMs: 50 })).rejects.toBeInstanceOf(isthmus.NotFoundError);
    } finally {
      node.close();
      cleanup();
    }
  });
});
