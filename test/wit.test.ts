/**
 * `--emit wit` and the component model (docs/wasm.md, Components; docs/layout.md §9):
 *
 * - the emitted WIT (the goldens in schemas/generated/wit/ and test/wit/probe.isthmus)
 *   resolves and encodes as a component type with jco's bundled wasm-tools;
 * - names, keywords, enums and long arrays map as the emitter's contract says;
 * - fixed-size records: the bytes the canonical ABI stores for the WIT record in a
 *   component's memory are the Isthmus bytes of the struct, both ways (test/wit/probe.wat);
 * - the book-stats component (wasm/component/) builds, transpiles and runs in Node, fed
 *   with messages received from an Isthmus channel (shm and inproc).
 *
 * Needs @bytecodealliance/jco and @bytecodealliance/preview2-shim (devDependencies), and
 * @isthmus/native for the shm case. Without them those tests are skipped, except with
 * CI=true, where they fail.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as isthmus from '@isthmus/sdk';
import { EMITTERS, compileFile, typeTable } from '@isthmus/schema';
import { witName } from '../packages/schema/src/emit/wit.js';
import { encode, type StructLayout, type TypeLayout, type TypeRef } from '@isthmus/runtime';
import { BookUpdate } from '../schemas/generated/ts/market.ts';
import { CI } from './ci.ts';

const ROOT = join(import.meta.dirname, '..');
const FIXTURES = join(import.meta.dirname, 'wit');

type Tools = typeof import('../wasm/component/tools.ts');
type Build = typeof import('../wasm/component/build.ts');
type Host = typeof import('../wasm/component/host.ts');

/** Loads a dependency; null (the tests skip) when it is missing, unless CI=true (they fail). */
async function optional<T>(what: string, load: () => Promise<T>): Promise<T | null> {
  try {
    return await load();
  } catch (err) {
    if (CI) throw new Error(`${what} is required with CI=true: ${(err as Error).message}`, { cause: err });
    return null;
  }
}

const tools = await optional<Tools>('@bytecodealliance/jco', () => import('../wasm/component/tools.ts'));
const native = await optional('@isthmus/native', async () => {
  const m = (await import('@isthmus/native')) as { available(): boolean; loadError(): Error | null };
  if (!m.available()) throw m.loadError() ?? new Error('addon not available');
  return m;
});

it('component tooling is present (required with CI=true)', () => {
  if (CI) expect(tools, 'jco tooling').not.toBeNull();
});

const temps: string[] = [];
const temp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'isthmus-wit-'));
  temps.push(d);
  return d;
};
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

const witText = (c: string | Uint8Array): string => (typeof c === 'string' ? c : new TextDecoder().decode(c));

/** WIT source of a schema given as text (imports none). */
function emitFrom(text: string): string {
  const c = compileFile('/virtual/edge.isthmus', { readFile: () => text });
  return witText(EMITTERS.wit!(c)[0]!.contents);
}

describe('--emit wit: names and mapping', () => {
  it('converts names to kebab-case and escapes keywords', () => {
    expect(witName('ts_ns')).toBe('ts-ns');
    expect(witName('BookUpdate')).toBe('book-update');
    expect(witName('HTTPServer')).toBe('http-server');
    expect(witName('vec_3d')).toBe('vec3d');
    expect(witName('u8v')).toBe('u8v');
    expect(witName('list')).toBe('%list');
    expect(witName('record')).toBe('%record');
    expect(witName('maybe_u32')).toBe('maybe-u32');
  });

  it('rejects two names that meet in one WIT scope, naming both', () => {
    expect(() => emitFrom('namespace e; struct S { a_b: u8, aB: u8 }')).toThrow(/field 'aB' and 'a_b' in struct e\.S both become WIT name 'a-b'/);
  });

  it('maps enums by whether their numbers are WIT case indices', () => {
    const wit = emitFrom('namespace e; enum A : u8 { x, y } enum B : u8 { x = 1, y } enum C : u16 { x, y } message M { a: A, b: B, c: C }');
    expect(wit).toMatch(/enum a \{\n\s+x,\n\s+y,\n\s+\}/);
    expect(wit).toContain('type b = u8;');
    expect(wit).toContain('type c = u16;');
    expect(wit).toContain('/// Values: x = 1, y = 2.');
  });

  it('maps unions to option<variant>, arrays to tuples (nested past 10 000), empty messages to a comment', () => {
    const wit = emitFrom('namespace e; union U { list: vector<u8>, type: string } struct Big { data: [u8; 20001] } message M { u: U, us: vector<U>, big: Big, a: [bool; 2] } message Nothing {}');
    expect(wit).toMatch(/variant u \{\n\s+%list\(list<u8>\),\n\s+%type\(string\),\n\s+\}/);
    expect(wit).toContain('u: option<u>,');
    expect(wit).toContain('us: list<option<u>>,');
    expect(wit).toContain('a: tuple<bool, bool>,');
    expect(wit).toContain(`data: tuple<tuple<${Array(10000).fill('u8').join(', ')}>, tuple<${Array(10000).fill('u8').join(', ')}>, tuple<u8>>,`);
    expect(wit).toContain('// Isthmus message e.Nothing has no fields');
  });
});

describe.skipIf(!tools)('--emit wit: wasm-tools resolves and encodes it', () => {
  /**
   * A WIT folder with `deps/<name>/<name>.wit` for each file and a world exporting one
   * function per type that `pkg` declares, so that encoding the world encodes (and
   * validates) every type. Returns the component's WIT, checked to mention each function.
   */
  const check = async (deps: Record<string, string>, pkg: string): Promise<string> => {
    const dir = temp();
    for (const [name, text] of Object.entries(deps)) {
      mkdirSync(join(dir, 'deps', name), { recursive: true });
      writeFileSync(join(dir, 'deps', name, `${name}.wit`), text);
    }
    const own = deps[pkg.replace(/^isthmus:/, '')]!;
    const types = [...own.matchAll(/^\s*(?:record|variant|enum|type) (%?[a-z][a-z0-9-]*)/gm)].map((m) => m[1]!);
    expect(types.length).toBeGreaterThan(0);
    const fns = types.map((t, i) => `  export take${i}: func(x: ${t});`);
    writeFileSync(join(dir, 'check.wit'), `package isthmus:check;\nworld check {\n  use ${pkg}/types.{${types.join(', ')}};\n${fns.join('\n')}\n}\n`);
    const wit = await tools!.checkWit(dir, 'check');
    expect(wit).toContain(`import ${pkg}/types;`);
    for (let i = 0; i < types.length; i++) expect(wit).toContain(`export take${i}: func(`);
    return wit;
  };

  const goldenDir = join(ROOT, 'schemas', 'generated', 'wit');
  const goldens = Object.fromEntries(
    readdirSync(goldenDir)
      .filter((f) => f.endsWith('.wit'))
      .map((f) => [f.replace(/\.wit$/, ''), readFileSync(join(goldenDir, f), 'utf8')]),
  );

  it('has a golden for every schema', () => {
    expect(Object.keys(goldens).sort()).toEqual(['common', 'kitchen', 'market']);
  });

  for (const name of ['common', 'kitchen', 'market']) {
    it(`schemas/generated/wit/${name}.wit`, async () => {
      await check(goldens, `isthmus:${name}`);
    });
  }

  it('test/wit/probe.isthmus and the edge cases above', async () => {
    const probe = witText(EMITTERS.wit!(compileFile(join(FIXTURES, 'probe.isthmus')))[0]!.contents);
    expect(probe).toContain('enum mode {');
    expect(probe).toContain('type code = u16;');
    expect(probe).toContain('pair: tuple<inner, inner>,');
    await check({ 'wit-probe': probe }, 'isthmus:wit-probe');
    const edge = emitFrom('namespace e; union U { list: vector<u8>, type: string } struct Big { data: [u8; 20001] } message M { u: U, us: vector<U>, big: Big, ts_ns: u64 }');
    await check({ e: edge }, 'isthmus:e');
  });

  it('rejects broken WIT with the reason', async () => {
    await expect(check({ market: goldens.market!.replace('qty: u64', 'qty: u65') }, 'isthmus:market')).rejects.toThrow(/failed to parse dependency directory/); // jco surfaces only the outermost wasm-tools error
  });
});

// ---------------------------------------------------------------------------------------
// Fixed-size records: canonical ABI bytes = Isthmus bytes.

/** kebab-case WIT name → the lowerCamelCase key jco uses. */
const jsKey = (name: string): string => witName(name).replace(/^%/, '').replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** A §10 JSON value of a fixed-size type → the JS value jco's bindings use for its WIT type. */
function toJco(table: Map<string, TypeLayout>, t: TypeRef, v: unknown): unknown {
  switch (t.kind) {
    case 'scalar':
      return t.scalar === 'u64' || t.scalar === 'i64' ? BigInt(v as string) : v;
    case 'enum': {
      const e = table.get(t.name)!;
      if (e.kind !== 'enum') throw new Error(`${t.name} is not an enum`);
      const dense = (e.base === 'u8' || e.base === 'i8') && e.values.every((x, i) => x.value === i);
      const value = e.values.find((x) => x.name === v);
      if (!value) throw new Error(`no value '${String(v)}' in ${t.name}`);
      return dense ? witName(value.name).replace(/^%/, '') : value.value;
    }
    case 'array':
      return (v as unknown[]).map((x) => toJco(table, t.element, x));
    case 'struct': {
      const s = table.get(t.name) as StructLayout;
      return Object.fromEntries(s.fields.map((f) => [jsKey(f.name), toJco(table, f.type, (v as Record<string, unknown>)[f.name])]));
    }
    default:
      throw new Error(`not a fixed-size type: ${t.kind}`);
  }
}

interface Probe {
  lowerWide(w: unknown): Uint8Array;
  liftWide(raw: Uint8Array): unknown;
}

describe.skipIf(!tools)('fixed-size records: the canonical-ABI bytes are the Isthmus bytes', () => {
  let probe: Probe;
  const compiled = compileFile(join(FIXTURES, 'probe.isthmus'));
  const table = typeTable(compiled);
  const wideT: TypeRef = { kind: 'struct', name: 'wit_probe.Wide' };
  const wide = table.get('wit_probe.Wide') as StructLayout;
  const inner = (tag: number, value: string) => ({ tag, value });
  const values: Record<string, unknown>[] = [
    {
      flag: true, small: -5, mode: 'auto', code: 'high', u16v: 65535, i16v: -32768, u32v: 4294967295, i32v: -2147483648,
      f32v: -1.5, u64v: '18446744073709551615', i64v: '-9223372036854775808', f64v: 6.02214076e23,
      inner: inner(7, '1311768467463790320'), grid: [1, -2, 300], pair: [inner(255, '1'), inner(0, '72057594037927936')], last: 0xab,
    },
    {
      flag: false, small: 127, mode: 'off', code: 'low', u16v: 1, i16v: 2, u32v: 3, i32v: 4, f32v: 0.25, u64v: '5', i64v: '-6',
      f64v: -0.5, inner: inner(0, '0'), grid: [0, 0, 0], pair: [inner(1, '2'), inner(3, '4')], last: 0,
    },
  ];

  beforeAll(async () => {
    const dir = temp();
    copyFileSync(join(FIXTURES, 'probe.wit'), join(dir, 'probe.wit'));
    tools!.writeWitPackage(join(FIXTURES, 'probe.isthmus'), dir);
    const component = await tools!.componentFromWat(join(FIXTURES, 'probe.wat'), dir, 'probe');
    probe = (await import(pathToFileURL(await tools!.transpileTo(component, 'probe', join(dir, 'js'))).href)) as Probe;
  });

  /** The struct's bytes in an Isthmus message (Probe.w is at fixed-part offset 0). */
  const isthmusBytes = (w: Record<string, unknown>): Uint8Array => {
    const buf = new Uint8Array(1024);
    const n = encode(table, 'wit_probe.Probe', { w }, buf);
    expect(n).toBe(16 + wide.size);
    return buf.slice(16, 16 + wide.size);
  };

  it('the probe struct needs more than 16 flat values (so it is passed by pointer)', () => {
    const flat = (t: TypeRef): number => {
      if (t.kind === 'array') return t.length * flat(t.element);
      if (t.kind === 'struct') return (table.get(t.name) as StructLayout).fields.reduce((a, f) => a + flat(f.type), 0);
      return 1;
    };
    expect(flat(wideT)).toBeGreaterThan(16);
    expect(wide.size).toBe(112);
  });

  for (const [i, v] of values.entries()) {
    it(`value ${i}: host → component: the lowered record is the Isthmus struct, byte for byte`, () => {
      const lowered = probe.lowerWide(toJco(table, wideT, v));
      expect(Buffer.from(lowered).toString('hex')).toBe(Buffer.from(isthmusBytes(v)).toString('hex'));
    });

    it(`value ${i}: component → host: the Isthmus struct bytes lift as the WIT record`, () => {
      expect(probe.liftWide(isthmusBytes(v))).toEqual(toJco(table, wideT, v));
    });
  }
});

// ---------------------------------------------------------------------------------------
// The book-stats component, fed from a channel.

interface Built {
  stats: import('../wasm/component/host.ts').BookStats;
  host: Host;
}

/** Deterministic PRNG (xorshift32). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

interface Sent {
  seq: bigint;
  symbol: string;
  venue: string;
  bids: { mantissa: bigint; exponent: number; qty: bigint; orders: number }[];
  asks: { mantissa: bigint; exponent: number; qty: bigint; orders: number }[];
  trade?: bigint;
}

function makeMessages(n: number): Sent[] {
  const r = rng(42);
  const symbols = ['EURUSD', 'BTC-PERP', 'Ünïcødé/€', 'ティッカー', ''];
  const level = () => ({
    mantissa: BigInt(Math.floor(r() * 2e9) - 1e9) * 1000n,
    exponent: -Math.floor(r() * 8),
    qty: BigInt(Math.floor(r() * 2 ** 32)) << BigInt(Math.floor(r() * 30)),
    orders: Math.floor(r() * 2 ** 32),
  });
  return Array.from({ length: n }, (_, i) => ({
    seq: BigInt(i + 1) * 0x100000001n,
    symbol: symbols[i % symbols.length]!,
    venue: i % 3 ? 'XNAS' : 'venue-' + 'x'.repeat(i % 50),
    bids: Array.from({ length: i % 7 }, level),
    asks: Array.from({ length: (i * 5) % 11 }, level),
    ...(i % 4 === 0 ? {} : { trade: BigInt(i) * 0xdeadbeefn }),
  }));
}

describe.skipIf(!tools)('book-stats component fed from an Isthmus channel', () => {
  let built: Built;
  beforeAll(async () => {
    const build = (await import('../wasm/component/build.ts')) as Build;
    const out = await build.buildBookStats(temp());
    expect(out.bytes).toBeGreaterThan(0);
    built = {
      stats: (await import(pathToFileURL(out.js).href)) as Built['stats'],
      host: (await import('../wasm/component/host.ts')) as Host,
    };
  });

  const transports: { name: string; make: () => Promise<isthmus.IsthmusNode>; skip: boolean }[] = [
    { name: 'inproc', make: () => isthmus.node({ transport: 'inproc' }), skip: false },
    {
      name: 'shm',
      make: async () => isthmus.node({ root: temp() }),
      skip: !native,
    },
  ];

  for (const t of transports) {
    it.skipIf(t.skip)(`${t.name}: every received view is lifted into the component; results match the sent values and the TS function`, async () => {
      const { stats, host } = built;
      const node = await t.make();
      try {
        const sent = makeMessages(300);
        const pub = await node.publisher('book', BookUpdate, { capacity: 1 << 16, policy: 'block' });
        const sub = await node.subscriber('book', BookUpdate);
        const got: { summary: unknown; onView: unknown; notionals: bigint[]; expectNotionals: bigint[]; lowered: string; block: string }[] = [];
        const consumer = (async () => {
          for (let i = 0; i < sent.length; i++) {
            const v = await sub.receive(10_000);
            if (!v) throw new Error(`message ${i} of ${sent.length} did not arrive`);
            const bids = v.bids;
            // The bids vector block of the Isthmus message: the reference at fixed-part offset 40.
            const msg = v.bytes();
            const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
            const at = dv.getUint32(16 + 40, true);
            const block = msg.subarray(at, at + dv.getUint32(16 + 44, true) * 32);
            const levels = Array.from({ length: bids.length }, (_, k) => host.levelToWit(bids.get(k)));
            got.push({
              summary: stats.summarize(host.bookUpdateToWit(v)),
              onView: host.summarizeOnView(v),
              notionals: levels.map((l) => stats.notional(l)),
              expectNotionals: Array.from({ length: bids.length }, (_, k) => host.notionalOnView(bids.get(k))),
              lowered: Buffer.from(stats.loweredLevels(levels)).toString('hex'),
              block: Buffer.from(block).toString('hex'),
            });
            sub.release();
          }
        })();
        for (const s of sent) {
          await pub.sendAsync((m) => {
            m.seq = s.seq;
            m.ts_ns = 1n;
            m.instrument_id = 7;
            m.side = 1;
            m.set_symbol(s.symbol);
            m.set_venue(s.venue);
            for (const [side, list] of [['bids', s.bids], ['asks', s.asks]] as const) {
              const vec = side === 'bids' ? m.init_bids(list.length) : m.init_asks(list.length);
              list.forEach((l, k) => {
                const e = vec.get(k);
                e.price.mantissa = l.mantissa;
                e.price.exponent = l.exponent;
                e.qty = l.qty;
                e.orders = l.orders;
              });
            }
            if (s.trade !== undefined) m.trade_id = s.trade;
          });
        }
        await consumer;
        expect(got).toHaveLength(sent.length);
        const U64 = (1n << 64n) - 1n;
        const enc = new TextEncoder();
        for (const [i, s] of sent.entries()) {
          const g = got[i]!;
          const expected = {
            seq: s.seq,
            bidLevels: s.bids.length,
            askLevels: s.asks.length,
            bidQty: s.bids.reduce((a, l) => a + l.qty, 0n) & U64,
            askQty: s.asks.reduce((a, l) => a + l.qty, 0n) & U64,
            bestBid: s.bids.reduce((a, l, k) => (k === 0 || l.mantissa > a ? l.mantissa : a), 0n),
            symbolHash: host.fnv1a32(enc.encode(s.symbol)),
            venueBytes: enc.encode(s.venue).length,
            ...(s.trade === undefined ? {} : { tradeId: s.trade }),
          };
          expect(g.summary, `message ${i}`).toEqual(expected);
          expect(g.onView, `message ${i}`).toEqual(expected);
          expect(g.notionals).toEqual(s.bids.map((l) => BigInt.asIntN(64, l.mantissa * l.qty)));
          expect(g.notionals).toEqual(g.expectNotionals);
          // list<level> lowered into the component's memory = the Isthmus vector<Level> block.
          expect(g.lowered, `message ${i}`).toBe(g.block);
        }
        expect(got.some((g) => g.lowered.length > 0)).toBe(true);
        expect(sub.stats()).toMatchObject({ received: sent.length, lost: 0, invalid: 0 });
      } finally {
        node.close();
      }
    });
  }
});
