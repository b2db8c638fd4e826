/**
 * The benchmark's message: market.BookUpdate (schemas/market.isthmus), encoded once per
 * payload size with the generated Isthmus builder.
 *
 * bookBytes(n): a BookUpdate (seq, ts_ns, instrument_id, side, symbol "EURUSD", venue
 * "XLON", trade_id) with as many levels as fit in n bytes, split between bids and asks
 * (5 + 5 at the 424-byte reference size; the sweep grows the two vectors to fill larger
 * sizes), zero-padded to exactly n bytes (verify() accepts the trailing bytes: the record
 * length is n, the message's own length is in its root). Below the smallest BookUpdate
 * (the 0-level encoding) the payload is raw bytes (k & 0xff). Every binary system sends
 * these bytes: Isthmus rings, raw atomics (its own pattern; content does not change a
 * memcpy), iceoryx2 (its own pattern), ZeroMQ, NATS. The JSON systems send { i, p } with
 * p a string of n characters; uds-flatbuffers sends a FlatBuffers BookUpdate with the
 * same number of levels (flbLevels), encoded per message.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
export const BOOK_BASE_LEVELS = 5;

interface Built { bytes: Uint8Array; levels: number; kind: 'book' | 'raw'; encoded: number }

let market: any = null;
async function loadMarket(): Promise<any> {
  market ??= await import(join(root, 'schemas/generated/ts/market.ts'));
  return market;
}

function encode(m: any, levels: number, cap: number): { buf: Uint8Array; len: number } {
  const buf = new Uint8Array(cap);
  const b = new m.BookUpdate().build(buf, 0, cap);
  b.seq = 1n;
  b.ts_ns = 1_700_000_000_000_000_000n;
  b.instrument_id = 42;
  b.side = m.Side.bid;
  b.set_symbol('EURUSD');
  b.set_venue('XLON');
  const nb = Math.ceil(levels / 2);
  const fill = (v: any, n: number, sign: bigint): void => {
    for (let i = 0; i < n; i++) {
      const l = v.get(i);
      l.price.mantissa = 108_000n + sign * BigInt(i);
      l.price.exponent = -5;
      l.qty = 1_000_000n + BigInt(i);
      l.orders = 1 + (i % 7);
    }
  };
  fill(b.init_bids(nb), nb, -1n);
  fill(b.init_asks(levels - nb), levels - nb, 1n);
  b.trade_id = 99n;
  return { buf, len: b.finish() };
}

/** The n-byte payload: a BookUpdate grown to fill n bytes, or raw bytes below its minimum. */
export async function bookBytes(n: number): Promise<Built> {
  const m = await loadMarket();
  const out = new Uint8Array(Math.max(1, n));
  const base = encode(m, 0, 4096).len;
  if (n < base) {
    for (let k = 0; k < n; k++) out[k] = k & 0xff;
    return { bytes: out.subarray(0, n), levels: 0, kind: 'raw', encoded: 0 };
  }
  let levels = Math.floor((n - base) / 32);
  let e = encode(m, levels, n + 4096);
  while (e.len > n && levels > 0) e = encode(m, --levels, n + 4096);
  out.set(e.buf.subarray(0, e.len));
  if (m.BookUpdate.verify(out.subarray(0, e.len)) !== null) throw new Error('bench: BookUpdate does not verify');
  return { bytes: out, levels, kind: 'book', encoded: e.len };
}

/** Levels the FlatBuffers BookUpdate gets at payload n (about the same size as bookBytes(n)). */
export const flbLevels = (n: number): number => Math.max(0, Math.floor((n - 128) / 32));

const require = createRequire(import.meta.url);
const BENCH = resolve(here, '..');
const GEN = join(BENCH, '.gen');
const GEN_JS = join(GEN, 'js', 'market_generated.js');

/**
 * The flatc-generated BookUpdate (bench/market.fbs), made exactly as bench/codec.bench.ts
 * makes it (same bench/.gen/ directory and stamp, so the two never fight over it).
 */
export function loadFlatbuffers(): { fb: any; fbrt: any } | { skip: string } {
  try { require.resolve('flatbuffers/package.json'); } catch { return { skip: 'npm package `flatbuffers` is not installed (npm ci)' }; }
  let flatcVersion = 'unknown (prebuilt bench/.gen)';
  try {
    flatcVersion = execFileSync('flatc', ['--version'], { encoding: 'utf8' }).trim().replace(/^flatc version /, '');
  } catch {
    if (!existsSync(GEN_JS)) return { skip: '`flatc` is not on PATH (apt-get install -y flatbuffers-compiler)' };
  }
  const FBS = join(BENCH, 'market.fbs');
  const stamp = join(GEN, 'stamp.json');
  const want = JSON.stringify({ fbs: readFileSync(FBS, 'utf8'), flatcVersion });
  const fresh = existsSync(GEN_JS) && existsSync(stamp) && readFileSync(stamp, 'utf8') === want;
  if (!fresh && !flatcVersion.startsWith('unknown')) {
    rmSync(GEN, { recursive: true, force: true });
    execFileSync('flatc', ['--ts', '-o', GEN, FBS], { stdio: 'inherit' });
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(process.execPath, [tsc, '--module', 'commonjs', '--moduleResolution', 'node10', '--ignoreDeprecations', '5.0',
      '--target', 'es2022', '--skipLibCheck', '--outDir', join(GEN, 'js'), join(GEN, 'market_generated.ts')], { stdio: 'inherit' });
    writeFileSync(join(GEN, 'js', 'package.json'), '{ "type": "commonjs" }\n');
    writeFileSync(stamp, want);
  }
  return { fb: require(GEN_JS), fbrt: require('flatbuffers') };
}
