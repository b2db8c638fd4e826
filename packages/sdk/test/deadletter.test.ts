/**
 * A hostile publisher process writes garbage into records: the subscriber routes them to
 * the dead-letter ring with the reason, keeps reading, and nothing crashes. Also the
 * 'drop' and 'throw' policies.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as isthmus from '@isthmus/sdk';
import { BookUpdate } from '../../../schemas/generated/ts/market.ts';
import { killAll, run, tempRoot } from './helpers.ts';

afterEach(killAll);

describe('invalid messages', () => {
  it('a hostile peer process: garbage goes to dead letters with the reason, the stream goes on', async () => {
    const { root, cleanup } = tempRoot();
    const node = await isthmus.node({ root });
    try {
      const hostile = run('pub.ts', [root, 'feed', 'hostile']);
      await hostile.waitLine((l) => l === 'ready');
      const sub = await node.subscriber('feed', BookUpdate);
      const dead = await node.deadLetters('feed');
      const events: { code: string; path: string }[] = [];
      sub.on('invalid', (e) => events.push(e));
      const seqs: bigint[] = [];
      for await (const m of sub) {
        seqs.push(m.seq);
        expect(m.symbol).toBe('EURUSD');
        if (seqs.length === 2) break;
      }
      expect(seqs).toEqual([1n, 2n]);
      expect(sub.stats()).toMatchObject({ received: 2, invalid: 2, deadLetters: 2 });
      expect(events.map((e) => e.code)).toEqual([expect.stringMatching(/BAD_REF|OUT_OF_BOUNDS/), 'TRUNCATED']);
      const d1 = await dead.receive(1000);
      expect(d1).not.toBeNull();
      expect(d1!.channel).toBe('feed');
      expect(d1!.path).toContain('symbol');
      expect(d1!.reason).toContain('symbol');
      expect(d1!.receiver_pid).toBe(process.pid);
      expect(d1!.expected_type_id).toBe(BookUpdate.TYPE_ID);
      expect(d1!.sender_slot).toBeGreaterThan(0);
      // The payload is the received bytes: its seq field (offset 16) is the hostile 99.
      const p1 = d1!.payload;
      expect(new DataView(p1.buffer, p1.byteOffset).getBigUint64(16, true)).toBe(99n);
      const d2 = await dead.receive(1000);
      expect(d2!.code).toBe('TRUNCATED');
      expect([...d2!.payload]).toEqual([0xde, 0xad, 0xbe, 0xef, 0x01]);
      expect(d2!.payload_len).toBe(5);
      expect(await hostile.exited).toBe(0);
    } finally {
      node.close();
      cleanup();
    }
  });

  it("onInvalid 'drop' counts and skips; 'throw' throws InvalidMessageError and the next receive goes on", async () => {
    const node = await isthmus.node({ transport: 'inproc' });
    try {
      const pub = await node.publisher('p', BookUpdate, { capacity: 1 << 14 });
      const drop = await node.subscriber('p', BookUpdate, { onInvalid: 'drop' });
      const thrower = await node.subscriber('p', BookUpdate, { onInvalid: 'throw' });
      const m = pub.loan();
      m.side = 1;
      m.set_venue('X');
      new DataView(m.bytes().buffer).setUint32(m.byteOffset + 16 + 32, 1 << 20, true);
      pub.send(m);
      pub.trySend((x) => { x.side = 1; x.seq = 5n; });
      expect(drop.tryReceive()!.seq).toBe(5n);
      expect(drop.stats()).toMatchObject({ invalid: 1, deadLetters: 0, received: 1 });
      expect(() => thrower.tryReceive()).toThrow(isthmus.InvalidMessageError);
      expect(thrower.tryReceive()!.seq).toBe(5n);
    } finally {
      node.close();
    }
  });
});
