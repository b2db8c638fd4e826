/**
 * AbortSignal on every waiting API (docs/sdk.md "Cancelling a wait"): an aborted wait
 * rejects with exactly `signal.reason`, does not do the operation, and leaves nothing
 * behind (no listener on the signal, no pending timer or futex wait, no loan).
 */
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as isthmus from '@isthmus/sdk';
import { BookUpdate } from '../../../schemas/generated/ts/market.ts';
import { killAll, run, sleep, tempRoot, until } from './helpers.ts';

let root: string;
let cleanup: () => void;
let node: isthmus.IsthmusNode;
beforeEach(async () => {
  ({ root, cleanup } = tempRoot());
  node = await isthmus.node({ root });
});
afterEach(async () => {
  node.close();
  await killAll();
  cleanup();
});

const fill = (seq: bigint) => (m: BookUpdate) => {
  m.seq = seq;
  m.side = 1;
};
/** A reason object only this test made, to check identity. */
const reason = () => Object.assign(new Error('stop waiting'), { mine: Symbol('mine') });
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

/** Aborts `c` after `ms`, and checks that the wait rejected with exactly its reason and left no listener. */
async function abortedWith<T>(c: AbortController, p: Promise<T>, why: unknown, ms = 50): Promise<void> {
  setTimeout(() => c.abort(why), ms);
  await expect(p).rejects.toBe(why);
  expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
}

describe('pub/sub', () => {
  it('receive({ signal }): rejects with the reason, consumes nothing; an aborted signal rejects at once', async () => {
    const pub = await node.publisher('a', BookUpdate);
    const sub = await node.subscriber('a', BookUpdate);
    const base = timers();
    const c = new AbortController();
    const why = reason();
    await abortedWith(c, sub.receive({ signal: c.signal }), why);
    await until(() => timers() <= base, 2000, "the wait's timer to go"); // the futex wait ended with it
    pub.trySend(fill(1n));
    await expect(sub.receive({ signal: c.signal })).rejects.toBe(why); // already aborted: does nothing
    const m = await sub.receive({ timeoutMs: 1000 });
    expect(m?.seq).toBe(1n);
    expect(sub.stats().received).toBe(1);
  });

  it('for await over sub.messages({ signal }) throws the reason', async () => {
    const pub = await node.publisher('a', BookUpdate);
    const sub = await node.subscriber('a', BookUpdate);
    const c = new AbortController();
    const why = reason();
    const seen: bigint[] = [];
    const loop = (async () => {
      for await (const m of sub.messages({ signal: c.signal })) seen.push(m.seq);
    })();
    pub.trySend(fill(1n));
    pub.trySend(fill(2n));
    await until(() => seen.length === 2, 2000, 'two messages');
    await abortedWith(c, loop, why);
    expect(seen).toEqual([1n, 2n]);
  });

  it('sendAsync, ready and flush on a full ring: reject with the reason, nothing is sent, the publisher goes on', async () => {
    const pub = await node.publisher('full', BookUpdate, { capacity: 4096, policy: 'block' });
    const sub = await node.subscriber('full', BookUpdate);
    let seq = 0n;
    while (pub.trySend(fill(++seq)));
    const sent = pub.stats().sent;
    for (const op of [
      (s: AbortSignal): Promise<unknown> => pub.sendAsync(fill(999n), { timeoutMs: 5000, signal: s }),
      (s: AbortSignal) => pub.ready({ timeoutMs: 5000, signal: s }),
      (s: AbortSignal) => pub.flush({ timeoutMs: 5000, signal: s }),
    ]) {
      const c = new AbortController();
      await abortedWith(c, op(c.signal), reason());
    }
    expect(pub.stats().sent).toBe(sent);
    // Everything sent arrives, 999 never; then the publisher sends again.
    const got: bigint[] = [];
    for (let m = sub.tryReceive(); m; m = sub.tryReceive()) got.push(m.seq);
    expect(got).toHaveLength(sent);
    expect(got).not.toContain(999n);
    sub.release();
    expect(pub.trySend(fill(1000n))).toBe(true);
    expect(await pub.flush({ timeoutMs: 1000 })).toBe(false); // sub holds nothing but has not read 1000
    expect((await sub.receive(1000))?.seq).toBe(1000n);
  });

  it('waiting for a channel to exist: subscriber({ signal }) and client({ signal })', async () => {
    for (const open of [
      (s: AbortSignal): Promise<unknown> => node.subscriber('nowhere', BookUpdate, { waitMs: 10_000, signal: s }),
      (s: AbortSignal) => node.client('nowhere', BookUpdate, BookUpdate, { waitMs: 10_000, signal: s }),
    ]) {
      const c = new AbortController();
      await abortedWith(c, open(c.signal), reason());
    }
  });
});

describe('request/response', () => {
  it('call({ signal }): rejects with the reason; the late answer is dropped, not delivered', async () => {
    const server = run('server.ts', [root, 'pricer', 'normal']);
    await server.waitLine((l) => l === 'ready');
    const client = await node.client('pricer', BookUpdate, BookUpdate);
    const c = new AbortController();
    const why = reason();
    // instrument 1: the server answers after 1500 ms.
    await abortedWith(c, client.call((q) => { q.seq = 5n; q.side = 1; q.instrument_id = 1; }, { timeoutMs: 5000, signal: c.signal }), why, 100);
    expect(client.inFlight).toBe(0);
    // An already-aborted signal: nothing is sent.
    const sent = client.stats().sent;
    await expect(client.call((q) => { q.seq = 6n; q.side = 1; }, { signal: c.signal })).rejects.toBe(why);
    expect(client.stats().sent).toBe(sent);
    // The server answers the aborted call at 1500 ms; the next call reads past that answer
    // (dropped: its call is gone) and gets its own.
    await sleep(1700);
    const r = await client.call((q) => { q.seq = 7n; q.side = 1; }, { timeoutMs: 5000 });
    expect(r.seq).toBe(14n);
    expect(client.stats()).toMatchObject({ dropped: 1, received: 1 });
  }, 20_000);
});

describe('queues and dead letters', () => {
  it('worker.consume(handler, { signal }) rejects with the reason while idle, and between jobs', async () => {
    const q = node.queue('jobs', BookUpdate);
    const worker = await q.worker();
    const producer = await q.producer();
    const done: bigint[] = [];
    const c = new AbortController();
    const why = reason();
    const consuming = worker.consume(async (job) => {
      done.push(job.seq);
    }, { signal: c.signal });
    await producer.sendAsync(fill(1n), { timeoutMs: 1000 });
    await until(() => done.length === 1, 2000, 'the first job');
    await abortedWith(c, consuming, why);
    // Not consumed after the abort: the next consume gets it.
    await producer.sendAsync(fill(2n), { timeoutMs: 1000 });
    const c2 = new AbortController();
    const again = worker.consume(async (job) => {
      done.push(job.seq);
      c2.abort('enough');
    }, { signal: c2.signal });
    await expect(again).rejects.toBe('enough');
    expect(done).toEqual([1n, 2n]);
  });

  it('producer.sendAsync({ signal }) with no worker, and deadLetters().receive({ signal })', async () => {
    const q = node.queue('nobody', BookUpdate);
    const producer = await q.producer();
    const c = new AbortController();
    await abortedWith(c, producer.sendAsync(fill(1n), { timeoutMs: 5000, signal: c.signal }), reason());
    const dl = await node.deadLetters('nobody');
    const c2 = new AbortController();
    await abortedWith(c2, dl.receive({ signal: c2.signal }), reason());
  });
});
