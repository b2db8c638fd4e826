/**
 * AssemblyScript on Isthmus channels (docs/wasm.md): the generated AS code against every
 * golden vector (verify + values read through the generated accessors, compared with the
 * JSON; mutated bytes give the same first error as the TS verifier), and real processes
 * exchanging messages through a region mapped into a wasm module's memory: a TS publisher
 * with AS subscriber modules (block and overwrite policy) in another process, AS publisher
 * modules with a TS subscriber, and an AS MPSC consumer with TS producers, each hosted in
 * Node (WasmHost) and in wasmtime (wasm/wasmtime). With CI=true a missing compiler, addon
 * or wasmtime host fails instead of skipping.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verify as tsVerify } from '@isthmus/runtime';
import { available, loadError } from '@isthmus/native';
import { node, type IsthmusNode, type Region } from '@isthmus/sdk';
import { formatRing, markReady, regionSize, Ring, type RingParams, type Writer } from '../packages/sdk/src/ring/index.js';
import { BookUpdate, TYPES as MARKET } from '../schemas/generated/ts/market.ts';
import { TYPES as KITCHEN } from '../schemas/generated/ts/kitchen.ts';
import { buildAs, ROOT } from './wasm-as/build.ts';


/** The package TS lib has no WebAssembly types: the part used here. */
const WA = (globalThis as unknown as { WebAssembly: { instantiate(b: Uint8Array, i: object): Promise<{ instance: { exports: unknown } }>; Memory: { new (d: { initial: number; maximum?: number; shared?: boolean }): { buffer: ArrayBuffer; grow(n: number): number }; prototype: object } } }).WebAssembly;
if (!available() && CI) throw loadError()!;
const suite = available() ? describe : describe.skip;

/** Numbers equal, or the same binary32 (AS prints an f32 as the f64 it converts to), or within an f64 print's last digit. */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number')
    return a === b || Math.fround(a) === Math.fround(b) && Math.fround(a) === a || Math.abs(a - b) <= Math.abs(b) * 4e-16;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.join() === kb.join() && ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

describe('generated AssemblyScript vs the golden vectors', () => {
  let ex: { memory: { buffer: ArrayBuffer }; alloc(n: number): number; check(kind: number, p: number, n: number): number };
  beforeAll(async () => {
    const { instance } = await WA.instantiate(readFileSync(buildAs('golden')), { env: { abort: (_m: number, _f: number, l: number, c: number) => { throw new Error(`abort ${l}:${c}`); } } });
    ex = instance.exports as never;
  }, 120_000);
  const str = (p: number): string => {
    const n = new Uint32Array(ex.memory.buffer, p - 4, 1)[0]!;
    let s = '';
    const u16 = new Uint16Array(ex.memory.buffer, p, n / 2);
    for (let i = 0; i < u16.length; i += 4096) s += String.fromCharCode(...u16.subarray(i, i + 4096));
    return s;
  };
  const run = (kind: number, bytes: Uint8Array): string => {
    const p = ex.alloc(bytes.length + 8);
    new Uint8Array(ex.memory.buffer, p, bytes.length).set(bytes);
    return str(ex.check(kind, p, bytes.length));
  };
  const vectors = ['market', 'kitchen'].flatMap((d) => readdirSync(join(ROOT, 'schemas/testdata', d)).filter((f) => f.endsWith('.json')).map((f) => ({ d, f })));
  const kindOf = (type: string) => (type === 'market.BookUpdate' ? 0 : type === 'kitchen.Everything' ? 1 : 2);

  for (const { d, f } of vectors) {
    it(`${d}/${f}: verifies and reads the JSON values`, () => {
      const doc = JSON.parse(readFileSync(join(ROOT, 'schemas/testdata', d, f), 'utf8')) as { type: string; value: Record<string, unknown> };
      const bin = readFileSync(join(ROOT, 'schemas/testdata', d, f.replace(/\.json$/, '.bin')));
      const out = run(kindOf(doc.type), bin);
      expect(out.startsWith('ERR'), out).toBe(false);
      const got = JSON.parse(out) as Record<string, unknown>;
      // The golden JSON may omit defaults; compare against the TS reader's full JSON form,
      // and check that every value the golden file states is what AS read.
      const table = d === 'market' ? MARKET : KITCHEN;
      const { toJSON } = require_runtime();
      const full = toJSON(table, doc.type, new Uint8Array(bin));
      expect(same(got, full), `${out}\n!=\n${JSON.stringify(full)}`).toBe(true);
      for (const [k, v] of Object.entries(doc.value)) expect(same(got[k], v), `${k}: ${JSON.stringify(got[k])} != ${JSON.stringify(v)}`).toBe(true);
    });

    it(`${d}/${f}: 300 mutations give the TS verifier's first error (code, path, offset)`, () => {
      const doc = JSON.parse(readFileSync(join(ROOT, 'schemas/testdata', d, f), 'utf8')) as { type: string };
      const bin = new Uint8Array(readFileSync(join(ROOT, 'schemas/testdata', d, f.replace(/\.json$/, '.bin'))));
      const table = d === 'market' ? MARKET : KITCHEN;
      let seed = 12345;
      const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
      for (let k = 0; k < 300; k++) {
        const b = bin.slice();
        const len = k % 50 === 49 ? rnd(b.length) : b.length; // sometimes truncate
        const at = rnd(b.length);
        b[at] = k % 3 === 0 ? 0xff : k % 3 === 1 ? b[at]! ^ (1 << rnd(8)) : rnd(256);
        const e = tsVerify(table, doc.type, b, 0, len);
        const out = run(kindOf(doc.type), b.subarray(0, len));
        if (e === null) expect(out.startsWith('ERR'), `mutation ${k} at ${at}: AS says ${out}`).toBe(false);
        else expect(out, `mutation ${k} at ${at}`).toBe(`ERR ${e.code} ${e.path} ${e.offset} ${BigInt.asUintN(64, BigInt(e.value))}`);
      }
    });
  }
});

import * as runtime from '@isthmus/runtime';
import { CI } from './ci.ts';
function require_runtime() {
  return runtime;
}

interface Child { lines: string[]; ready: Promise<void>; done: Promise<{ code: number | null; result: Record<string, unknown> | null; out: string }> }
/** A ring region `name` under the node's transport, formatted with `p` and ready. */
function createRing(n: IsthmusNode, name: string, p: RingParams): Region {
  return n.transport.create(name, regionSize(p), (r) => {
    formatRing(r.buffer, r.byteOffset, p, n.identity);
    markReady(r.buffer, r.byteOffset);
  })!;
}

type Engine = 'node' | 'wasmtime';
/** Hosts `wasm` on the region at `path` in a child process: Node (WasmHost) or wasmtime (the Rust host, wasm/wasmtime). */
function host(engine: Engine, wasm: string, path: string, role: string, count: number): Child {
  const [cmd, args] = engine === 'node' ? [process.execPath, [join(ROOT, 'test/wasm-as/host.ts')]] : [WASMTIME_HOST, []];
  const c = spawn(cmd, [...args, wasm, path, role, String(count)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  const lines: string[] = [];
  let out = '';
  let result: Record<string, unknown> | null = null;
  let onReady!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  createInterface({ input: c.stdout }).on('line', (l) => {
    lines.push(l);
    out += l + '\n';
    if (l === 'ready') onReady();
    if (l.startsWith('RESULT ')) result = JSON.parse(l.slice(7));
  });
  c.stderr.on('data', (d) => (out += d));
  const done = new Promise<{ code: number | null; result: Record<string, unknown> | null; out: string }>((res) => c.on('close', (code) => { onReady(); res({ code, result, out }); }));
  return { lines, ready, done };
}

// Built by test/global-setup.ts (cargo) when cargo is there; with CI=true a missing host fails.
const WASMTIME_HOST = join(ROOT, '.cache', 'cargo', 'wasmtime', 'release', 'isthmus-wasmtime-host');
if (CI && !existsSync(WASMTIME_HOST)) throw new Error(`${WASMTIME_HOST} is missing: test/global-setup.ts builds it with cargo (wasm/wasmtime)`);
const engines: Engine[] = existsSync(WASMTIME_HOST) ? ['node', 'wasmtime'] : ['node'];

suite.each(engines)('AssemblyScript modules on a channel, across processes, hosted in %s', (engine) => {
  const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'isthmus-wasm-as-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let consumer = '', producer = '', worker = '', lossy = '';
  beforeAll(() => {
    consumer = buildAs('consumer');
    producer = buildAs('producer');
    worker = buildAs('worker');
    lossy = buildAs('lossy');
  }, 180_000);
  const N = 20_000;

  it('TS publisher (this process) → AS subscriber module hosted in another process', async () => {
    const n = await node({ root });
    const pub = await n.publisher('book', BookUpdate, { capacity: 1 << 16, policy: 'block' });
    const child = host(engine, consumer, join(root, 'book~pub'), 'subscriber', N);
    await child.ready;
    let expectSum = 0n;
    for (let i = 0; i < N; i++) {
      await pub.sendAsync((m) => {
        m.seq = BigInt(i);
        m.ts_ns = BigInt(i) * 3n;
        m.side = 2;
        m.set_symbol(`SYM${i % 100}`);
        const bids = m.init_bids(i % 3);
        for (let k = 0; k < i % 3; k++) {
          bids.get(k).price.mantissa = BigInt(k);
          bids.get(k).qty = BigInt(i);
        }
      }, { timeoutMs: 10_000 });
      expectSum += BigInt(i) * 3n;
    }
    const r = await child.done;
    expect(r.code, r.out).toBe(0);
    expect(r.result, r.out).toMatchObject({ run: N, checksum: String(expectSum), error: '' });
    expect((r.result!.offset as number) % 65536).toBe(0);
    pub.close();
    await n.close?.();
  }, 120_000);

  it('AS publisher module hosted in another process → TS subscriber (this process)', async () => {
    const n = await node({ root });
    createRing(n, 'feed~pub', { kind: 'broadcast', capacity: 1 << 16, slots: 8, maxMessage: 4096, typeId: BookUpdate.TYPE_ID }).close();
    const sub = await n.subscriber('feed', BookUpdate, { waitMs: 1000 });
    const child = host(engine, producer, join(root, 'feed~pub'), 'publisher', N);
    for (let i = 0; i < N; i++) {
      const m = await sub.receive(10_000);
      expect(m, `message ${i}`).not.toBeNull();
      if (m!.seq !== BigInt(i) || m!.ts_ns !== BigInt(i) * 10n || m!.symbol !== `SYM${i % 100}` || m!.venue !== 'WASM' || m!.bids.length !== i % 3 || m!.side !== 2)
        throw new Error(`message ${i}: ${JSON.stringify(m!.toJSON())}`);
      for (let k = 0; k < i % 3; k++) expect([m!.bids.get(k).price.mantissa, m!.bids.get(k).price.exponent, m!.bids.get(k).qty]).toEqual([BigInt(k), -2, BigInt(i)]);
      sub.release();
    }
    const r = await child.done;
    expect(r.code, r.out).toBe(0);
    expect(r.result, r.out).toMatchObject({ run: N });
    sub.close();
    await n.close?.();
  }, 120_000);

  it('TS overwrite publisher → AS overwrite subscriber module that falls a lap behind: the gap is reported, nothing torn, the slow tail all delivered', async () => {
    const n = await node({ root });
    const pub = await n.publisher('lossy', BookUpdate, { capacity: 4096, policy: 'overwrite' });
    const burst = 5000, slow = 50;
    const child = host(engine, lossy, join(root, 'lossy~pub'), 'subscriber', burst + slow);
    await child.ready;
    const send = (i: number) =>
      pub.trySend((m) => {
        m.seq = BigInt(i);
        m.ts_ns = BigInt(i) * 3n;
        m.side = 2;
        m.set_symbol(`SYM${i % 100}`);
      });
    // The module stalls 300 ms after the first message: the burst laps it many times.
    for (let i = 0; i < burst; i++) expect(send(i)).toBe(true);
    await new Promise((r) => setTimeout(r, 800));
    for (let i = burst; i < burst + slow; i++) {
      send(i);
      await new Promise((r) => setTimeout(r, 10));
    }
    const r = await child.done;
    expect(r.code, r.out).toBe(0);
    const res = r.result as { run: number; lost: number; tailCount: number; error: string };
    expect(res.error, r.out).toBe('');
    expect(res.lost).toBeGreaterThan(0);
    expect(res.run + res.lost).toBe(burst + slow); // every missing message is in a reported gap
    expect(res.tailCount).toBe(slow); // what came slowly after the lap was all delivered
    pub.close();
    n.close();
  }, 120_000);

  it('AS publisher module blocked by a dead subscriber frees its slot after unblock_ns; the live TS subscriber gets everything', async () => {
    const n = await node({ root });
    const region = createRing(n, 'stale~pub', { kind: 'broadcast', capacity: 1 << 14, slots: 8, maxMessage: 4096, typeId: BookUpdate.TYPE_ID, unblockNs: 200_000_000n });
    const sub = await n.subscriber('stale', BookUpdate, { waitMs: 1000 });
    // A subscriber that was killed: its slot (a pid that is not running) still holds cursor 0.
    const ring = Ring.open(region.buffer, region.byteOffset, region.byteLength, BookUpdate.TYPE_ID);
    ring.join('subscriber', { pid: 0x3ffffff0, uid: 0, startTime: 1n });
    const child = host(engine, producer, join(root, 'stale~pub'), 'publisher', 2000);
    for (let i = 0; i < 2000; i++) {
      const m = await sub.receive(10_000);
      expect(m?.seq, `message ${i}`).toBe(BigInt(i));
      sub.release();
    }
    const r = await child.done;
    expect(r.code, r.out).toBe(0);
    expect(r.result, r.out).toMatchObject({ run: 2000, recovered: 1 });
    expect(ring.participants().filter((x) => x.role === 'subscriber')).toHaveLength(1);
    region.close();
    sub.close();
    n.close();
  }, 120_000);

  it('3 TS producers and one that died mid-claim → AS MPSC consumer (queue worker) module in another process: per-producer order, the dead claim recovered', async () => {
    const n = await node({ root });
    const t = n.transport;
    const region = createRing(n, 'jobs~work', { kind: 'mpsc', capacity: 1 << 14, slots: 8, maxMessage: 1024, typeId: BookUpdate.TYPE_ID, unblockNs: 200_000_000n });
    const ring = Ring.open(region.buffer, region.byteOffset, region.byteLength, BookUpdate.TYPE_ID);
    // A producer that claimed and was killed before its commit: a slot whose pid is not running.
    const dead = ring.join('producer', { pid: 0x3ffffff0, uid: 0, startTime: 1n }, t.notifier);
    expect(dead.loan(200)).toBeGreaterThan(0);
    const child = host(engine, worker, join(root, 'jobs~work'), 'consumer', 3 * 2000);
    await child.ready;
    const producers = [0, 1, 2].map(() => ring.join('producer', n.identity, t.notifier));
    const msg = new BookUpdate();
    let expectSum = 0n;
    const sent = [0, 0, 0];
    // Round-robin; a full ring (the consumer is stuck on the dead claim for unblock_ns) waits.
    const sendOne = async (k: number, w: Writer): Promise<void> => {
      for (;;) {
        const off = w.loan(ring.maxMessage);
        if (off > 0) {
          const m = msg.build(ring.buffer, off, ring.maxMessage);
          m.instrument_id = k;
          m.seq = BigInt(sent[k]!);
          m.ts_ns = BigInt(sent[k]! * 7 + k);
          m.side = 1;
          m.set_symbol(`P${k}`);
          w.commit(m.finish());
          expectSum += BigInt(sent[k]! * 7 + k);
          sent[k]!++;
          return;
        }
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    for (let i = 0; i < 2000; i++) for (let k = 0; k < 3; k++) await sendOne(k, producers[k]!);
    const r = await child.done;
    expect(r.code, r.out).toBe(0);
    expect(r.result, r.out).toMatchObject({ run: 6000, checksum: String(expectSum), error: '', recovered: 1 });
    // The dead producer's late commit fails: its claim was turned into padding.
    expect(() => dead.commit(200)).toThrow(expect.objectContaining({ code: 'ABORTED' }));
    for (const w of producers) w.close();
    region.close();
    n.close();
  }, 120_000);
});
