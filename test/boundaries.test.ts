/**
 * One API across every boundary (docs/boundaries.md): ONE test body, `oneApi(node)`, runs
 * against a peer on the other side of a thread, a process, a container, a VM and a TCP
 * connection. The boundary is chosen only by how the node (and the peer's node) is
 * configured, in test/boundaries/boundaries.ts; the peer is test/boundaries/peer.ts, or
 * the C guest (native/guest/isthmus_guest.c) inside QEMU. The peer contract is in
 * test/boundaries/contract.ts.
 *
 * The body: subscribe <p>.g2h, publish N messages on <p>.h2g and check each echo (order,
 * seq + 1000000, fields); request/response on <p>.rpc including an error response
 * (RejectedError); the hostile message, after which the peer publishes an invalid message
 * (side = 99) and then a normal echo: the invalid one is in node.deadLetters('<p>.g2h')
 * with code BAD_ENUM and the stream goes on; then the stop message, and the peer exits 0.
 *
 * A boundary whose dependencies are missing (qemu/kernel/busybox/gcc for vm, root and
 * unshare for container, the native addon for process/container) is skipped, except with
 * CI=true, where it fails.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as isthmus from '@isthmus/sdk';
import { BookUpdate } from '../schemas/generated/ts/market.ts';
import { BOUNDARIES, handshake, type Started } from './boundaries/boundaries.ts';
import { BAD_SIDE, fillSmall, HOSTILE_INSTRUMENT, PREFIX, PUB_OPTIONS, STOP_INSTRUMENT, TRANSFORM_DELTA } from './boundaries/contract.ts';
import * as vmHost from './vm/host.ts';
import { CI } from './ci.ts';


export interface OneApiOptions {
  /** Channel prefix of the peer (default "vm", the C guest's). */
  prefix?: string;
  /** Messages streamed out and back. */
  n?: number;
}

/**
 * The host side of the contract. Everything here is the plain channel API of `node`;
 * nothing depends on the transport.
 */
export async function oneApi(node: isthmus.IsthmusNode, opts: OneApiOptions = {}): Promise<void> {
  const p = opts.prefix ?? PREFIX;
  const N = opts.n ?? 500;
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
      expect(m, `echo ${got}`).not.toBeNull();
      expect(m!.seq).toBe(BigInt(got) + TRANSFORM_DELTA);
      expect(m!.instrument_id).toBe(1 + got);
      expect(m!.side).toBe(2);
      expect(m!.symbol).toBe('PING');
      got++;
    }
    expect(sub.stats().invalid).toBe(0);

    // 3. Request/response, the peer serving, and its error response.
    for (let i = 1; i <= 20; i++) {
      const r = await client.callWith((q) => fillSmall(q, BigInt(i), i), (res) => [res.seq, res.instrument_id, res.symbol] as const);
      expect(r).toEqual([BigInt(i) + 1n, i + 1, 'PING']);
    }
    const full = await client.call((q) => fillSmall(q, 41n, 41));
    expect(full.toJSON()).toMatchObject({ seq: '42', instrument_id: 42, side: 'ask', symbol: 'PING' });
    const err = await client.call((q) => fillSmall(q, 1n, 0)).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(isthmus.RejectedError);
    expect(err).toMatchObject({ code: 'REJECTED', reason: expect.stringMatching(/^instrument 0 rejected by the (guest|peer)$/) });

    // 4. The hostile message: an invalid message (dead-lettered), then the normal echo.
    const H = 777n;
    await send(H, HOSTILE_INSTRUMENT);
    const echo = await sub.receive(10_000);
    expect(echo, 'the echo after the invalid message').not.toBeNull();
    expect(echo!.seq).toBe(H + TRANSFORM_DELTA);
    expect(echo!.instrument_id).toBe(HOSTILE_INSTRUMENT);
    expect(sub.stats()).toMatchObject({ invalid: 1, deadLetters: 1 });
    expect(invalid).toEqual([expect.objectContaining({ code: 'BAD_ENUM', path: expect.stringContaining('side') })]);
    const d = await dead.receive(5000);
    expect(d, 'a dead letter').not.toBeNull();
    expect(d!.channel).toBe(`${p}.g2h`);
    expect(d!.code).toBe('BAD_ENUM');
    expect(d!.path).toContain('side');
    expect(d!.reason).toContain(`${BAD_SIDE}`);
    expect(d!.expected_type_id).toBe(BookUpdate.TYPE_ID);
    // The payload is the peer's bytes: seq (offset 16) and side (offset 16 + 20).
    const bytes = d!.payload;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(dv.getBigUint64(16, true)).toBe(H + TRANSFORM_DELTA);
    expect(dv.getUint8(16 + 20)).toBe(BAD_SIDE);
    dead.release();

    // ... and the stream goes on.
    for (let i = 0; i < 10; i++) {
      await send(BigInt(N + i), 3);
      const m = await sub.receive(10_000);
      expect(m!.seq).toBe(BigInt(N + i) + TRANSFORM_DELTA);
    }
    expect(sub.stats().invalid).toBe(1);

    // 5. Stop.
    await send(0n, STOP_INSTRUMENT);
  } finally {
    client.close();
    dead.close();
    sub.close();
    pub.close();
  }
}

describe('one API across boundaries', () => {
  let started: Started | undefined;
  afterEach(async () => {
    await started?.stop();
    started = undefined;
  });

  it('the contract constants agree with the VM host helpers', () => {
    expect(STOP_INSTRUMENT).toBe(vmHost.STOP_INSTRUMENT);
    expect(TRANSFORM_DELTA).toBe(vmHost.TRANSFORM_DELTA);
  });

  for (const b of BOUNDARIES) {
    const missing = b.missing();
    it.skipIf(missing.length > 0 && !CI)(b.name, async () => {
      if (missing.length > 0) throw new Error(`the ${b.name} boundary needs: ${missing.join('; ')}`);
      const s = (started = await b.start());
      expect(s.peer.output).toMatch(b.peerShows);
      await oneApi(s.node).catch((err: Error) => {
        err.message += `\nthe peer's console:\n${s.peer.output}`;
        throw err;
      });
      started = undefined;
      const { exit, output } = await s.stop();
      expect(output).toMatch(/(guest|peer): done: .*\b1 hostile\b/);
      expect(exit).toBe(0);
    }, 120_000);
  }
});
