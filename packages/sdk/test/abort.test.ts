/**
 * AbortSignal on every waiting API (docs/sdk.md "Cancelling a wait"): an aborted wait
 * rejects with exactly `signal.reason`, does not do the operation, and leaves nothing
 * behind (no listener on the signal, no pending timer, no futex waiter, no loan, no
 * correlation entry).
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

/** process.getActiveResourcesInfo() as a sorted list, to compare with a baseline. */
const resources = () => process.getActiveResourcesInfo().slice().sort().join(',');
/** No kind of active resource (timer, handle, request) has more instances than in `base`. */
function withinBaseline(base: string): boolean {
  const count = (list: string[]) => list.reduce((m, r) => m.set(r, (m.get(r) ?? 0) + 1), new Map<string, number>());
  const was = count(base ? base.split(',') : []);
  for (const [r, n] of count(process.getActiveResourcesInfo())) if (n > (was.get(r) ?? 0)) return false;
  return true;
}

/** Sleepers on a ring's notify line (docs/ring.md §1.2: data @260, space @268): parked waiters. */
interface HasRing { ring: { i32: Int32Array } }
const sleepers = (j: HasRing) => Atomics.load(j.ring.i32, 260 >> 2) + Atomics.load(j.ring.i32, 268 >> 2);
const ringOf = (ch: unknown, field = 'j') => (ch as Record<string, HasRing>)[field]!;

/**
 * Aborts `c` after `ms` and checks: the wait rejected with exactly `why`, at once (not at
 * the end of a wait slice or its timeout), with no listener left on the signal; then that
 * the active resources (timers…) are back to `base` and no waiter is parked on `rings`.
 */
async function abortedWith<T>(c: AbortController, p: Promise<T>, why: unknown, base: string, rings: HasRing[] = [], ms = 50): Promise<void> {
  setTimeout(() => c.abort(why), ms);
  const t0 = Date.now();
  await expect(p).rejects.toBe(why);
  expect(Date.now() - t0).toBeLessThan(ms + 1000); // long before the 5 s timeouts the waits were given (a loaded CI machine is slow)
  expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
  await until(() => withinBaseline(base), 1000, `active resources back to the baseline (${base} vs ${resources()})`);
  await until(() => rings.every((j) => sleepers(j) === 0), 1000, 'no parked waiter');
}

/** An already-aborted signal: rejects with its reason at once, having done nothing. */
async function alreadyAborted<T>(op: (s: AbortSignal) => Promise<T>): Promise<void> {
  const why = reason();
  const s = AbortSignal.abort(why);
  await expect(op(s)).rejects.toBe(why);
  expect(getEventListeners(s, 'abort')).toHaveLength(0);
}

describe('pub/sub', () => {
  it('receive({ signal }) across processes: rejects with the reason, consumes nothing; the next receive gets the message', async () => {
    const pub = run('abort-pub.ts', [root, 'late', '400']);
    await pub.waitLine((l) => l === 'ready');
    const sub = await node.subscriber('late', BookUpdate);
    const base = resources();
    const c = new AbortController();
    await abortedWith(c, sub.receive({ timeoutMs: 10_000, signal: c.signal }), reason(), base, [ringOf(sub)]);
    await alreadyAborted((s) => sub.receive({ signal: s }));
    expect(sub.stats().received).toBe(0);
    const m = await sub.receive({ timeoutMs: 5000 }); // the options form without a signal
    expect(m?.seq).toBe(1n);
    expect(sub.stats().received).toBe(1);
    expect(await sub.receive(20)).toBeNull(); // the positional form still works
  });

  it('receive({ signal }) on the inproc transport (Atomics.waitAsync)', async () => {
    const local = await isthmus.node({ transport: 'inproc' });
    try {
      const pub = await local.publisher('a', BookUpdate);
      const sub = await local.subscriber('a', BookUpdate);
      const base = resources();
      const c = new AbortController();
      await abortedWith(c, sub.receive({ signal: c.signal }), reason(), base, [ringOf(sub)]);
      pub.trySend(fill(1n));
      await alreadyAborted((s) => sub.receive({ signal: s }));
      expect((await sub.receive({ timeoutMs: 1000 }))?.seq).toBe(1n);
    } finally {
      local.close();
    }
  });

  it('for await over sub.messages({ signal }) throws the reason; an aborted signal ends it before the first message', async () => {
    const pub = await node.publisher('a', BookUpdate);
    const sub = await node.subscriber('a', BookUpdate);
    const base = resources();
    const c = new AbortController();
    const why = reason();
    const seen: bigint[] = [];
    const loop = (async () => {
      for await (const m of sub.messages({ signal: c.signal })) seen.push(m.seq);
    })();
    pub.trySend(fill(1n));
    pub.trySend(fill(2n));
    await until(() => seen.length === 2, 2000, 'two messages');
    await abortedWith(c, loop, why, base, [ringOf(sub)]);
    expect(seen).toEqual([1n, 2n]);
    pub.trySend(fill(3n));
    await alreadyAborted(async (s) => {
      for await (const m of sub.messages({ signal: s })) seen.push(m.seq);
    });
    expect(seen).toEqual([1n, 2n]);
    for await (const m of sub) {
      expect(m.seq).toBe(3n); // still there for the next reader of this end
      break;
    }
  });

  it('sendAsync, ready and flush on a full ring: reject with the reason, nothing is sent, the publisher goes on', async () => {
    const pub = await node.publisher('full', BookUpdate, { capacity: 4096, policy: 'block' });
    const sub = await node.subscriber('full', BookUpdate);
    let seq = 0n;
    while (pub.trySend(fill(++seq)));
    const sent = pub.stats().sent;
    const base = resources();
    for (const op of [
      (s: AbortSignal): Promise<unknown> => pub.sendAsync(fill(999n), { timeoutMs: 5000, signal: s }),
      (s: AbortSignal) => pub.ready({ timeoutMs: 5000, signal: s }),
      (s: AbortSignal) => pub.flush({ timeoutMs: 5000, signal: s }),
    ]) {
      const c = new AbortController();
      await abortedWith(c, op(c.signal), reason(), base, [ringOf(pub)]);
      await alreadyAborted(op);
    }
    expect(pub.stats().sent).toBe(sent);
    expect(pub.tryLoan()).toBeNull(); // no loan is out: a loan is possible again once there is room
    // Everything sent arrives, 999 never; then the publisher sends and flushes again.
    const got: bigint[] = [];
    for (let m = sub.tryReceive(); m; m = sub.tryReceive()) got.push(m.seq);
    expect(got).toHaveLength(sent);
    expect(got).not.toContain(999n);
    sub.release();
    // With room, an already-aborted sendAsync still sends nothing.
    await alreadyAborted((s) => pub.sendAsync(fill(998n), { signal: s }));
    expect(await pub.ready(100)).toBe(true);
    expect(pub.trySend(fill(1000n))).toBe(true);
    const flushed = pub.flush({ timeoutMs: 2000 });
    expect((await sub.receive(1000))?.seq).toBe(1000n);
    sub.release();
    expect(await flushed).toBe(true);
    expect(await pub.flush(100)).toBe(true);
    expect(pub.stats().sent).toBe(sent + 1);
  });

  it('waiting for a channel to exist: subscriber({ signal }) and client({ signal })', async () => {
    const base = resources();
    for (const open of [
      (s: AbortSignal): Promise<unknown> => node.subscriber('nowhere', BookUpdate, { waitMs: 10_000, signal: s }),
      (s: AbortSignal) => node.client('nowhere', BookUpdate, BookUpdate, { waitMs: 10_000, signal: s }),
    ]) {
      const c = new AbortController();
      await abortedWith(c, open(c.signal), reason(), base);
    }
    // Already aborted: does not join even a channel that exists.
    const pub = await node.publisher('here', BookUpdate);
    await alreadyAborted((s) => node.subscriber('here', BookUpdate, { signal: s }));
    expect(pub.subscribers()).toBe(0);
    expect(node.channels()).toHaveLength(1);
  });
});

describe('request/response', () => {
  it('call({ signal }): rejects with the reason; an aborted call is never sent; a late answer is dropped, not delivered', async () => {
    const server = run('server.ts', [root, 'pricer', 'normal']);
    await server.waitLine((l) => l === 'ready');
    const client = await node.client('pricer', BookUpdate, BookUpdate);
    expect((await client.call(fill(1n), { timeoutMs: 5000 })).seq).toBe(2n); // handled 1
    await sleep(200); // the pump has ended
    const base = resources();
    const c = new AbortController();
    // instrument 1: the server answers after 1500 ms (handled 2).
    const slow = client.call((q) => {
      fill(5n)(q);
      q.instrument_id = 1;
    }, { timeoutMs: 5000, signal: c.signal });
    await abortedWith(c, slow, reason(), base, [ringOf(client, 'resp')], 100);
    expect(client.inFlight).toBe(0); // its correlation entry is gone
    // Already aborted: nothing is sent (neither with a fill function nor with a loaned request).
    const sent = client.stats().sent;
    await alreadyAborted((s) => client.call(fill(6n), { signal: s }));
    const q = client.loan();
    fill(6n)(q);
    await alreadyAborted((s) => client.callWith(q, (r) => r.seq, { signal: s }));
    expect(client.stats().sent).toBe(sent);
    expect(client.inFlight).toBe(0);
    client.loan(); // the loan was given back
    client.abort();
    // The server answers the aborted call at 1500 ms; the next call reads past that answer
    // (dropped: its call is gone) and gets its own (handled 3).
    await sleep(1700);
    expect((await client.call(fill(7n), { timeoutMs: 5000 })).seq).toBe(14n);
    expect(client.stats()).toMatchObject({ dropped: 1, received: 2 });
    server.kill('SIGTERM');
    const report = JSON.parse(await server.waitLine((l) => l.startsWith('{'))) as { handled: number };
    expect(report.handled).toBe(3); // the two already-aborted calls never reached it
  }, 20_000);
});

describe('queues and dead letters', () => {
  it('worker.consume(handler, { signal }): rejects with the reason while idle, and between jobs; an unconsumed job stays queued', async () => {
    const q = node.queue('jobs', BookUpdate);
    const worker = await q.worker();
    const producer = await q.producer();
    const done: bigint[] = [];
    const base = resources();
    const c = new AbortController();
    const consuming = worker.consume(async (job) => {
      done.push(job.seq);
    }, { signal: c.signal });
    await producer.sendAsync(fill(1n), { timeoutMs: 1000 });
    await until(() => done.length === 1, 2000, 'the first job');
    await abortedWith(c, consuming, reason(), base, [ringOf(worker, 'inboxes') && (worker as unknown as { inboxes: { j: HasRing }[] }).inboxes[0]!.j]);
    // Not consumed after the abort, nor by an already-aborted consume: the next consume gets it.
    await producer.sendAsync(fill(2n), { timeoutMs: 1000 });
    await alreadyAborted((s) => worker.consume(async (job) => void done.push(job.seq), { signal: s }));
    expect(done).toEqual([1n]);
    // An abort during a handler: the handler finishes, the job is released, then it rejects.
    await producer.sendAsync(fill(3n), { timeoutMs: 1000 });
    const c2 = new AbortController();
    const again = worker.consume(async (job) => {
      c2.abort('enough');
      await sleep(20);
      done.push(job.seq);
    }, { signal: c2.signal });
    await expect(again).rejects.toBe('enough');
    expect(done).toEqual([1n, 2n]); // 3 is still queued: the abort came between 2 and 3
    expect(worker.tryReceive()?.seq).toBe(3n);
    expect(getEventListeners(c2.signal, 'abort')).toHaveLength(0);
  });

  it('producer.sendAsync({ signal }): with no worker, and on a full worker ring', async () => {
    const q = node.queue('nobody', BookUpdate, { capacity: 4096, maxMessage: 256 });
    const producer = await q.producer();
    const base = resources();
    const c = new AbortController();
    await abortedWith(c, producer.sendAsync(fill(1n), { timeoutMs: 5000, signal: c.signal }), reason(), base);
    const worker = await q.worker();
    await alreadyAborted((s) => producer.sendAsync(fill(2n), { signal: s }));
    expect(worker.tryReceive()).toBeNull(); // nothing was sent
    while (producer.trySend(fill(3n)));
    const sent = producer.stats().sent;
    const base2 = resources();
    const c2 = new AbortController();
    const ring = (worker as unknown as { inboxes: { j: HasRing }[] }).inboxes[0]!.j;
    await abortedWith(c2, producer.sendAsync(fill(4n), { timeoutMs: 5000, signal: c2.signal }), reason(), base2, [ring]);
    expect(producer.stats().sent).toBe(sent);
  });

  it('deadLetters().receive({ signal }) and messages({ signal })', async () => {
    const dl = await node.deadLetters('orders');
    const base = resources();
    const c = new AbortController();
    await abortedWith(c, dl.receive({ signal: c.signal }), reason(), base, [ringOf(dl)]);
    await alreadyAborted((s) => dl.receive({ signal: s }));
    const c2 = new AbortController();
    const loop = (async () => {
      for await (const _ of dl.messages({ signal: c2.signal })) void _;
    })();
    await abortedWith(c2, loop, reason(), base, [ringOf(dl)]);
    expect(await dl.receive(10)).toBeNull();
  });
});
