/**
 * The client of the boundary tests (test/boundaries.test.ts): the host side of the
 * contract (test/boundaries/contract.ts) as a program of its own. It calls
 * `isthmus.node()` with no arguments: its transport comes from its environment
 * (`ISTHMUS_TRANSPORT`, docs/config.md), and nothing in this file knows which one it got.
 * test/boundaries/boundaries.ts runs this file, unchanged, against every peer (a worker
 * thread, a child process, a process in a container, the C guest in a VM, a network peer);
 * only ISTHMUS_TRANSPORT differs (the test checks that this file names no transport outside
 * its comments).
 *
 * The run: subscribe <p>.g2h, publish N messages on <p>.h2g and check each echo (order,
 * seq + 1000000, fields); request/response on <p>.rpc including an error response
 * (RejectedError); the hostile message, after which the peer publishes an invalid message
 * (side = 99) and then a normal echo: the invalid one is in node.deadLetters('<p>.g2h')
 * with code BAD_ENUM and the stream goes on; then the stop message, after which it waits
 * for the peer to leave <p>.h2g.
 *
 * Environment: ISTHMUS_TRANSPORT (read by isthmus.node()); ISTHMUS_PEER_PREFIX, the
 * channel prefix (default "vm"). Prints `client: OPEN: <kind> <where>, …` once its node is
 * up, then one result line: `client: PASS: <kind>: …` and exit code 0, or
 * `client: FAIL: <error>` and exit code 1. Runs as a process or as a worker thread (a
 * worker with ISTHMUS_TRANSPORT=inproc: attaches to the default arena it inherits).
 */
import assert from 'node:assert/strict';
import { isMainThread } from 'node:worker_threads';
import * as isthmus from '@isthmus/sdk';
import { BookUpdate } from '../../schemas/generated/ts/market.ts';
import { BAD_SIDE, fillSmall, handshake, HOSTILE_INSTRUMENT, PREFIX, PUB_OPTIONS, STOP_INSTRUMENT, TRANSFORM_DELTA } from './contract.ts';

/** Messages streamed out and back. */
const N = 500;
/** Request/response round trips (plus the full one and the rejected one). */
const CALLS = 20;
/** How long the peer may take to leave after the stop message (the VM powers off). */
const LEAVE_MS = 20_000;

const say = (line: string) => console.log(`client: ${line}`);

async function run(node: isthmus.IsthmusNode, p: string): Promise<string> {
  const pub = await node.publisher(`${p}.h2g`, BookUpdate, PUB_OPTIONS);
  const sub = await node.subscriber(`${p}.g2h`, BookUpdate, { waitMs: 30_000, onInvalid: 'dead-letter' });
  const dead = await node.deadLetters(`${p}.g2h`);
  const client = await node.client(`${p}.rpc`, BookUpdate, BookUpdate, { waitMs: 30_000, timeoutMs: 10_000, responseCapacity: 16384 });
  const invalid: { code: string; path: string }[] = [];
  sub.on('invalid', (e: { code: string; path: string }) => invalid.push(e));
  const send = async (seq: bigint, instrument: number) => pub.sendAsync((m) => fillSmall(m, seq, instrument), { timeoutMs: 10_000 });
  try {
    // 1. Both joins reached the other side (see handshake()).
    await handshake(pub, sub);

    // 2. A stream out and back: in order, each transformed, at most 32 in flight.
    let next = 0;
    for (let got = 0; got < N; ) {
      while (next < N && next - got < 32 && pub.trySend((m) => fillSmall(m, BigInt(next), 1 + next))) next++;
      const m = await sub.receive(10_000);
      assert.ok(m, `echo ${got}: nothing within 10 s`);
      assert.equal(m.seq, BigInt(got) + TRANSFORM_DELTA, `echo ${got}: seq`);
      assert.equal(m.instrument_id, 1 + got, `echo ${got}: instrument_id`);
      assert.equal(m.side, 2, `echo ${got}: side`);
      assert.equal(m.symbol, 'PING', `echo ${got}: symbol`);
      got++;
    }
    assert.equal(sub.stats().invalid, 0, 'invalid messages during the stream');

    // 3. Request/response, the peer serving, and its error response.
    for (let i = 1; i <= CALLS; i++) {
      const r = await client.callWith((q) => fillSmall(q, BigInt(i), i), (res) => [res.seq, res.instrument_id, res.symbol] as const);
      assert.deepEqual(r, [BigInt(i) + 1n, i + 1, 'PING'], `call ${i}`);
    }
    const full = (await client.call((q) => fillSmall(q, 41n, 41))).toJSON() as Record<string, unknown>;
    assert.deepEqual({ seq: full.seq, instrument_id: full.instrument_id, side: full.side, symbol: full.symbol }, { seq: '42', instrument_id: 42, side: 'ask', symbol: 'PING' }, 'the full response');
    const err = await client.call((q) => fillSmall(q, 1n, 0)).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof isthmus.RejectedError, `instrument 0: expected a RejectedError, got ${String(err)}`);
    assert.equal(err.code, 'REJECTED');
    assert.match(err.reason, /^instrument 0 rejected by the (guest|peer)$/);

    // 4. The hostile message: an invalid message (dead-lettered), then the normal echo.
    const H = 777n;
    await send(H, HOSTILE_INSTRUMENT);
    const echo = await sub.receive(10_000);
    assert.ok(echo, 'the echo after the invalid message');
    assert.equal(echo.seq, H + TRANSFORM_DELTA);
    assert.equal(echo.instrument_id, HOSTILE_INSTRUMENT);
    const stats = sub.stats();
    assert.deepEqual({ invalid: stats.invalid, deadLetters: stats.deadLetters }, { invalid: 1, deadLetters: 1 }, 'subscriber stats after the hostile message');
    assert.equal(invalid.length, 1, `'invalid' events: ${JSON.stringify(invalid)}`);
    assert.equal(invalid[0]!.code, 'BAD_ENUM');
    assert.ok(invalid[0]!.path.includes('side'), `the invalid event's path: ${invalid[0]!.path}`);
    const d = await dead.receive(5000);
    assert.ok(d, 'a dead letter');
    assert.equal(d.channel, `${p}.g2h`);
    assert.equal(d.code, 'BAD_ENUM');
    assert.ok(d.path.includes('side'), `the dead letter's path: ${d.path}`);
    assert.ok(d.reason.includes(`${BAD_SIDE}`), `the dead letter's reason: ${d.reason}`);
    assert.equal(d.expected_type_id, BookUpdate.TYPE_ID);
    // The payload is the peer's bytes: seq (offset 16) and side (offset 16 + 20).
    const bytes = d.payload;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    assert.equal(dv.getBigUint64(16, true), H + TRANSFORM_DELTA, "the dead letter's seq");
    assert.equal(dv.getUint8(16 + 20), BAD_SIDE, "the dead letter's side");
    const deadCode = d.code;
    dead.release();

    // ... and the stream goes on.
    for (let i = 0; i < 10; i++) {
      await send(BigInt(N + i), 3);
      const m = await sub.receive(10_000);
      assert.ok(m, `echo ${N + i} after the hostile message`);
      assert.equal(m.seq, BigInt(N + i) + TRANSFORM_DELTA);
    }
    assert.equal(sub.stats().invalid, 1);

    // 5. Stop, and wait for the peer to leave <p>.h2g: a record still in flight (over a
    // network connection) would be lost if this node closed first.
    await send(0n, STOP_INSTRUMENT);
    const t0 = Date.now();
    while (pub.subscribers() > 0) {
      assert.ok(Date.now() - t0 < LEAVE_MS, `the peer did not leave ${pub.name} within ${LEAVE_MS} ms of the stop message`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return `${N + 10} echoed, ${CALLS + 1} calls answered, 1 rejected, 1 hostile -> 1 dead letter (${deadCode}), stopped the peer (it left after ${Date.now() - t0} ms)`;
  } finally {
    client.close();
    dead.close();
    sub.close();
    pub.close();
  }
}

let code = 1;
try {
  const node = await isthmus.node();
  const what = `${node.transport.kind} ${node.transport.where}`;
  say(`OPEN: ${what}, pid ${process.pid}${isMainThread ? '' : ' (worker thread)'}`);
  try {
    say(`PASS: ${node.transport.kind}: ${await run(node, process.env.ISTHMUS_PEER_PREFIX || PREFIX)}`);
    code = 0;
  } finally {
    node.close();
  }
} catch (err) {
  say(`FAIL: ${(err as Error)?.stack ?? String(err)}`);
}
// (In a worker thread this ends the thread.)
process.exit(code);
