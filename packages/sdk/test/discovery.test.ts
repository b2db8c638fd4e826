/**
 * Discovery without a daemon: names under the runtime directory, stale entries of dead
 * processes cleaned by the next create of the name and by node.sweep(); file modes.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as isthmus from '@isthmus/sdk';
import { BookUpdate } from '../../../schemas/generated/ts/market.ts';
import { killAll, run, tempRoot } from './helpers.ts';

afterEach(killAll);

describe('discovery and stale entries', () => {
  it('lists channels with their participants; region files are 0600 in a 0700 directory', async () => {
    const { root, cleanup } = tempRoot();
    const node = await isthmus.node({ root: join(root, 'rt') });
    try {
      await node.publisher('a', BookUpdate);
      await node.serve('svc', BookUpdate, BookUpdate, (q, r) => void (r.side = 1));
      const list = node.list();
      const a = list.find((e) => e.region === 'a~pub')!;
      expect(a).toMatchObject({ name: 'a', kind: 'pubsub' });
      expect(a.participants).toEqual([{ role: 'publisher', pid: process.pid, alive: true }]);
      expect(list.find((e) => e.region === 'svc~req')).toMatchObject({ name: 'svc', kind: 'service' });
      expect(statSync(join(root, 'rt', 'a~pub')).mode & 0o777).toBe(0o600);
      expect(statSync(join(root, 'rt')).mode & 0o777).toBe(0o700);
      await expect(node.publisher('bad/name', BookUpdate)).rejects.toThrow(/invalid channel name/);
    } finally {
      node.close();
      cleanup();
    }
  });

  it('a region left by a killed process is removed by sweep(), and replaced by the next create', async () => {
    const { root, cleanup } = tempRoot();
    const node = await isthmus.node({ root });
    try {
      const holder = run('pub.ts', [root, 'stale', 'hold']);
      await holder.waitLine((l) => l === 'ready');
      // Alive: a second publisher is refused.
      await expect(node.publisher('stale', BookUpdate)).rejects.toMatchObject({ code: 'ROLE_TAKEN' });
      expect(node.sweep().removed).toEqual([]);
      holder.kill('SIGKILL');
      await holder.exited;
      const entry = node.list().find((e) => e.region === 'stale~pub')!;
      expect(entry.participants.every((p) => !p.alive)).toBe(true);
      const r = node.sweep();
      // The ring, and the counters region of the killed node (docs/counters.md).
      expect(r.removed.sort()).toEqual(['stale~pub', expect.stringMatching(new RegExp(`^~counters~${holder.proc.pid}\\.\\d+\\.0$`))]);
      expect(node.list().find((e) => e.region === 'stale~pub')).toBeUndefined();

      // Again, and this time the next create of the name cleans up (with new parameters).
      const holder2 = run('pub.ts', [root, 'stale', 'hold']);
      await holder2.waitLine((l) => l === 'ready');
      holder2.kill('SIGKILL');
      await holder2.exited;
      const pub = await node.publisher('stale', BookUpdate, { capacity: 1 << 13 });
      expect(pub.capacity).toBe(1 << 13);
      const sub = await node.subscriber('stale', BookUpdate);
      pub.trySend((m) => { m.side = 1; m.seq = 9n; });
      expect(sub.tryReceive()!.seq).toBe(9n);
    } finally {
      node.close();
      cleanup();
    }
  });

  it('closing the server makes clients fail fast with PeerDeadError; a new server takes over the name', async () => {
    const { root, cleanup } = tempRoot();
    const node = await isthmus.node({ root });
    try {
      const s1 = await node.serve('svc', BookUpdate, BookUpdate, (q, r) => {
        r.side = 1;
        r.seq = 1n;
      });
      const c = await node.client('svc', BookUpdate, BookUpdate);
      expect((await c.call((q) => void (q.side = 1))).seq).toBe(1n);
      s1.close();
      await s1.done;
      await expect(c.call((q) => void (q.side = 1), { timeoutMs: 3000 })).rejects.toBeInstanceOf(isthmus.PeerDeadError);
      await node.serve('svc', BookUpdate, BookUpdate, (q, r) => {
        r.side = 1;
        r.seq = 2n;
      });
      expect((await c.call((q) => void (q.side = 1), { timeoutMs: 3000 })).seq).toBe(2n);
    } finally {
      node.close();
      cleanup();
    }
  });
});
