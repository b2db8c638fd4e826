/**
 * The VM boundary (docs/vm.md): a real QEMU guest (TCG) and this host process share one
 * arena file through ivshmem; the guest is native/guest/isthmus_guest.c (the C core,
 * static) and the host uses the SDK's channel API over the 'vm' transport.
 *
 *   - the guest attaches to the arena and registers under QEMU's identity (host liveness
 *     sees it alive);
 *   - cas and fetch_add of guest and host on one word do not lose updates;
 *   - host → guest: book_full built by the TS builder arrives byte-equal to the golden
 *     book_full.bin (checked in the guest, with its fields);
 *   - guest → host: the guest's own encoding of book_full.json arrives byte-equal to the
 *     golden and toJSON-equal to its value;
 *   - echo/transform both ways for a stream of messages, and request/response (a C
 *     server in the guest, a TS client on the host), including an error response;
 *   - host↔guest ping-pong latency is printed (not asserted).
 *
 * Needs qemu-system-x86_64, /boot/vmlinuz-*-cloud-amd64, /bin/busybox (busybox-static) and
 * gcc with static glibc. Without them the suite is skipped, except with CI=true, where it fails.
 */
import * as isthmus from '@isthmus/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BookUpdate } from '../schemas/generated/ts/market.ts';
import { fillGolden, fillSmall, GOLDEN_BIN, GOLDEN_SEQ, GOLDEN_VALUE, percentile, pingPong, startVm, TRANSFORM_DELTA, type Vm } from './vm/host.ts';
import { missingDependencies } from './vm/qemu.ts';
import { CI } from './ci.ts';

const MISSING = missingDependencies();
const ATOMIC_N = 200_000;

const suite = (title: string, onHost: boolean, missing: string[]) => describe.skipIf(missing.length > 0 && !CI)(title, () => {
  let vm: Vm;
  let sub: isthmus.Subscriber<BookUpdate>;
  let atomics = { host: 0, word0: 0, word1: 0, ms: 0 };

  beforeAll(async () => {
    if (missing.length > 0) throw new Error(`the VM tests need: ${missing.join('; ')}`);
    vm = await startVm({
      onHost,
      beforeReady: ({ transport }) => {
        // Both sides increment words 0 (fetch_add) and 1 (cas loop) of vm.atomics; the
        // host keeps going until the guest has done its N, so the two overlap throughout.
        const r = transport.open('vm.atomics')!;
        const w = new Int32Array(r.buffer, r.byteOffset, 8);
        Atomics.store(w, 4, ATOMIC_N);
        const t0 = performance.now();
        Atomics.store(w, 2, 1);
        let host = 0;
        while (Atomics.load(w, 3) === 0) {
          Atomics.add(w, 0, 1);
          let v = Atomics.load(w, 1);
          while (Atomics.compareExchange(w, 1, v, v + 1) !== v) v = Atomics.load(w, 1);
          host++;
          if (performance.now() - t0 > 30_000) throw new Error(`the guest did not finish ${ATOMIC_N} increments within 30 s`);
        }
        atomics = { host, word0: Atomics.load(w, 0), word1: Atomics.load(w, 1), ms: performance.now() - t0 };
      },
    });
    sub = await vm.node.subscriber('vm.g2h', BookUpdate, { waitMs: 5000 });
  }, 90_000);

  afterAll(async () => {
    if (!vm) return;
    sub?.close();
    const { console: out, exit } = await vm.shutdown();
    // The guest left cleanly and QEMU powered off.
    expect(out).toMatch(/guest: done: 1 golden, \d+ echoed, \d+ requests served/);
    expect(out).toContain('ISTHMUS-GUEST-EXIT 0');
    expect(exit).toBe(0);
  }, 30_000);

  it('the guest maps the shared memory, attaches to the arena and registers under the identity the host gave it', () => {
    const pid = vm.guest.proc.pid!;
    if (onHost) expect(vm.guest.output).toMatch(/guest: arena file \/dev\/shm\/\S+, 16777216 bytes/);
    else expect(vm.guest.output).toMatch(/guest: ivshmem \/sys\/bus\/pci\/devices\/[0-9a-f:.]+, BAR2 16777216 bytes/);
    expect(vm.guest.output).toContain(`registering as host pid ${pid} `);
    expect(vm.guest.output).toMatch(/guest: golden book_full\.json encodes to book_full\.bin \(\d+ bytes\)/);
    const entries = vm.node.list();
    const g2h = entries.find((e) => e.region === 'vm.g2h~pub')!;
    expect(g2h.participants).toEqual(expect.arrayContaining([{ role: 'publisher', pid, alive: true }]));
    const req = entries.find((e) => e.region === 'vm.rpc~req')!;
    expect(req.participants).toEqual([{ role: 'consumer', pid, alive: true }]);
  });

  it('guest and host atomics on one word lose no update (TCG with maxcpus > 1)', () => {
    console.log(`cross-boundary atomics: host ${atomics.host} + guest ${ATOMIC_N} increments each of fetch_add and cas, ${atomics.ms.toFixed(0)} ms`);
    expect(atomics.host).toBeGreaterThan(0);
    expect(atomics.word0).toBe(atomics.host + ATOMIC_N);
    expect(atomics.word1).toBe(atomics.host + ATOMIC_N);
  });

  it('golden both ways: TS-built book_full checked in the guest, the guest’s encoding checked here', async () => {
    expect(vm.pub.trySend(fillGolden)).toBe(true);
    const m = await sub.receive(10_000);
    expect(m).not.toBeNull();
    expect(m!.seq).toBe(GOLDEN_SEQ);
    expect(Buffer.from(m!.bytes())).toEqual(Buffer.from(GOLDEN_BIN));
    expect(m!.toJSON()).toEqual(GOLDEN_VALUE);
    sub.release();
    await vm.guest.waitFor(/guest: golden from host OK \(\d+ bytes, verify OK, equal to book_full\.bin\)/, 5000);
  });

  it('echo/transform: 500 messages out and back, in order, each transformed', async () => {
    let next = 0;
    const N = 500;
    for (let got = 0; got < N; ) {
      while (next < N && next - got < 32 && vm.pub.trySend((m) => fillSmall(m, BigInt(next), 1 + next))) next++;
      const m = await sub.receive(5000);
      expect(m, `echo ${got}`).not.toBeNull();
      expect(m!.seq).toBe(BigInt(got) + TRANSFORM_DELTA);
      expect(m!.instrument_id).toBe(1 + got);
      expect(m!.symbol).toBe('PING');
      got++;
    }
    expect(sub.stats().invalid).toBe(0);
  });

  it('request/response with the C server in the guest, error responses included', async () => {
    const client = await vm.node.client('vm.rpc', BookUpdate, BookUpdate, { waitMs: 5000, timeoutMs: 5000, responseCapacity: 16384 });
    try {
      const r = await client.call((q) => fillGolden(q));
      expect(r.toJSON()).toEqual({ ...GOLDEN_VALUE, seq: String(GOLDEN_SEQ + 1n), instrument_id: GOLDEN_VALUE.instrument_id + 1 });
      for (let i = 1; i <= 20; i++) {
        const id = await client.callWith((q) => fillSmall(q, BigInt(i), i), (res) => [res.seq, res.instrument_id] as const);
        expect(id).toEqual([BigInt(i) + 1n, i + 1]);
      }
      await expect(client.call((q) => fillSmall(q, 1n, 0))).rejects.toMatchObject({ code: 'REJECTED', reason: 'instrument 0 rejected by the guest' });
    } finally {
      client.close();
    }
  });

  it('ping-pong latency host → guest → host (reported, not asserted)', () => {
    const rtt = pingPong(vm.pub, sub, 2000, 200);
    const p50 = percentile(rtt, 0.5);
    const p99 = percentile(rtt, 0.99);
    console.log(`${onHost ? 'host↔host-run guest' : 'host↔guest (TCG)'} ping-pong round trip (SDK pub/sub): p50 ${(p50 / 1000).toFixed(2)} µs, p99 ${(p99 / 1000).toFixed(2)} µs over ${rtt.length} round trips`);
    expect(rtt.length).toBe(2000);
  });
});

// The same C program as a plain host process mapping the arena file: the protocol and the
// arena without the emulator (needs only gcc), then inside a real QEMU guest.
suite('VM boundary, guest program on the host (no VM)', true, MISSING.filter((m) => m.startsWith('gcc')));
suite('VM boundary: a QEMU guest over ivshmem', false, MISSING);
