/**
 * Codec benchmark: market.BookUpdate encoded and read with
 *   - Isthmus (the generated builder/view in schemas/generated/ts/market.ts),
 *   - FlatBuffers (bench/market.fbs, `flatc --ts` + the npm `flatbuffers` runtime),
 *   - JSON (JSON.stringify / JSON.parse of an equivalent plain object),
 * against physical baselines measured in the same run (a raw DataView.getBigUint64, the
 * same scalar reads hand-written against the Isthmus layout, a Uint8Array.set memcpy of
 * the message size).
 *
 *   npm run build                               # once: @isthmus/runtime -> packages/runtime/dist
 *   npm exec -- node bench/codec.bench.ts       # full run (~30 s on 2 cores)
 *   npm exec -- node bench/codec.bench.ts --quick   # CI smoke run (< 20 s), no thresholds
 *
 * Options: --quick, --out <file.json>, --no-alloc (skip the allocation child),
 *          --filter <substring> (only cases whose id contains it; ratios may then be null).
 * See bench/README.md for how to read the figures.
 *
 * Only erasable TypeScript syntax: Node 24 strips the types and runs this file as is.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { isDeepStrictEqual } from 'node:util';
import { ALLOC_CHILD_FLAG, allocPerOp, measureAllocations } from './alloc.ts';
import { CI } from '../test/ci.ts';

type MarketModule = typeof import('../schemas/generated/ts/market.ts');
type IsBookUpdate = import('../schemas/generated/ts/market.ts').BookUpdate;
type IsLevel = import('../schemas/generated/ts/market.ts').Level;

const BENCH_DIR = import.meta.dirname;
const ROOT = path.resolve(BENCH_DIR, '..');
const SELF = import.meta.filename;
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const ALLOC_CHILD = argv.includes(ALLOC_CHILD_FLAG);
const NO_ALLOC = argv.includes('--no-alloc');
const argValue = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const FILTER = argValue('--filter');
const OUT = argValue('--out') ?? (QUICK ? path.join(BENCH_DIR, 'results', 'tmp', 'codec-quick.json') : path.join(BENCH_DIR, 'results', 'codec-latest.json'));

const log = (s: string): void => {
  if (!ALLOC_CHILD) process.stderr.write(s + '\n');
};

// ------------------------------------------------------------------------------------------
// Setup: the Isthmus generated module (needs packages/runtime/dist) and FlatBuffers codegen.
// ------------------------------------------------------------------------------------------

if (!fs.existsSync(path.join(ROOT, 'packages', 'runtime', 'dist', 'index.js'))) {
  console.error('bench: packages/runtime/dist is missing; run `npm run build` first.');
  process.exit(1);
}
const market: MarketModule = await import('../schemas/generated/ts/market.ts');
const { BookUpdate, Level, Side } = market;

const require = createRequire(import.meta.url);
const FBS = path.join(BENCH_DIR, 'market.fbs');
const GEN = path.join(BENCH_DIR, '.gen');
const GEN_JS = path.join(GEN, 'js', 'market_generated.js');

/**
 * Generates bench/.gen/ from bench/market.fbs when it is missing or stale: `flatc --ts`
 * writes TypeScript with extensionless imports and a TS `enum`, which Node's type
 * stripping can not run, so it is compiled with the repo's `tsc` to CommonJS in
 * bench/.gen/js/ (with a package.json saying so, since the repo root is "type": "module").
 * Returns the loaded modules, or a reason why FlatBuffers cases are skipped.
 */
function setupFlatbuffers(): { fb: any; fbrt: any; flatcVersion: string; runtimeVersion: string } | { skip: string } {
  let runtimeVersion: string;
  try {
    runtimeVersion = JSON.parse(fs.readFileSync(require.resolve('flatbuffers/package.json'), 'utf8')).version;
  } catch {
    return { skip: 'npm package `flatbuffers` is not installed (it is a devDependency: run npm ci)' };
  }
  let flatcVersion = 'unknown (prebuilt bench/.gen)';
  try {
    flatcVersion = execFileSync('flatc', ['--version'], { encoding: 'utf8' }).trim().replace(/^flatc version /, '');
  } catch {
    if (!fs.existsSync(GEN_JS)) return { skip: '`flatc` is not on PATH (apt-get install -y flatbuffers-compiler)' };
  }
  const stamp = path.join(GEN, 'stamp.json');
  const want = JSON.stringify({ fbs: fs.readFileSync(FBS, 'utf8'), flatcVersion });
  const fresh = fs.existsSync(GEN_JS) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want;
  if (!fresh && !flatcVersion.startsWith('unknown')) {
    log(`bench: generating bench/.gen with flatc ${flatcVersion} + tsc ...`);
    fs.rmSync(GEN, { recursive: true, force: true });
    execFileSync('flatc', ['--ts', '-o', GEN, FBS], { stdio: 'inherit' });
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(process.execPath, [tsc, '--module', 'commonjs', '--moduleResolution', 'node10', '--ignoreDeprecations', '5.0',
      '--target', 'es2022', '--skipLibCheck', '--outDir', path.join(GEN, 'js'), path.join(GEN, 'market_generated.ts')], { stdio: 'inherit' });
    fs.writeFileSync(path.join(GEN, 'js', 'package.json'), '{ "type": "commonjs" }\n');
    fs.writeFileSync(stamp, want);
  }
  return { fb: require(GEN_JS), fbrt: require('flatbuffers'), flatcVersion, runtimeVersion };
}

const fbSetup = setupFlatbuffers();
const HAVE_FB = !('skip' in fbSetup);
if ('skip' in fbSetup) {
  // In CI a skipped comparison measures nothing: fail instead.
  if (CI) {
    log(`bench: FlatBuffers is required when CI=true: ${fbSetup.skip}`);
    process.exit(1);
  }
  log(`bench: WARNING: FlatBuffers cases skipped: ${fbSetup.skip}`);
}
const fb: any = HAVE_FB ? (fbSetup as any).fb : null;
const fbrt: any = HAVE_FB ? (fbSetup as any).fbrt : null;

// ------------------------------------------------------------------------------------------
// The message: one BookUpdate, the same values in every format.
// ------------------------------------------------------------------------------------------

const SEQ = 1n;
const TS_NS = 1_700_000_000_123_456_789n; // > 2^53: JSON carries it as a string
const INSTRUMENT = 5;
const SYMBOL = 'EURUSD';
const VENUE = 'XLON';
const TRADE_ID = 77n;
const EXP = -5;
const N_LEVELS = 5;
// Source values as an application holds them: bigints for the binary codecs, numbers for JSON.
const BID_M = [108123n, 108122n, 108121n, 108120n, 108119n];
const ASK_M = [108125n, 108126n, 108127n, 108128n, 108129n];
const BID_Q = [1_000_000n, 2_000_000n, 3_000_000n, 4_000_000n, 5_000_000n];
const ASK_Q = [1_500_000n, 2_500_000n, 3_500_000n, 4_500_000n, 5_500_000n];
const BID_O = [3, 4, 5, 6, 7];
const ASK_O = [2, 3, 4, 5, 6];
const BID_Mn = BID_M.map(Number);
const ASK_Mn = ASK_M.map(Number);
const BID_Qn = BID_Q.map(Number);
const ASK_Qn = ASK_Q.map(Number);
const TS_STR = TS_NS.toString();

interface LevelRec { mantissa: bigint; exponent: number; qty: bigint; orders: number }
interface BookRec {
  seq: bigint; ts_ns: bigint; instrument_id: number; side: number; symbol: string; venue: string;
  bids: LevelRec[]; asks: LevelRec[]; trade_id: bigint | null;
}
const levelsRec = (M: bigint[], Q: bigint[], O: number[]): LevelRec[] =>
  M.map((m, i) => ({ mantissa: m, exponent: EXP, qty: Q[i]!, orders: O[i]! }));
const EXPECTED: BookRec = {
  seq: SEQ, ts_ns: TS_NS, instrument_id: INSTRUMENT, side: Side.bid, symbol: SYMBOL, venue: VENUE,
  bids: levelsRec(BID_M, BID_Q, BID_O), asks: levelsRec(ASK_M, ASK_Q, ASK_O), trade_id: TRADE_ID,
};

// ------------------------------------------------------------------------------------------
// Encoders. Each returns the encoded length; all write into buffers allocated once.
// ------------------------------------------------------------------------------------------

const CAP = 1024;
const isEncBuf = new Uint8Array(CAP);
const isB: IsBookUpdate = new BookUpdate(); // one builder instance, re-pointed by build()
const isBLv: IsLevel = new Level(isB, 0); // one Level view, re-pointed by Vec.get(i, into)

/** Writes one side of the book through a reused Level view (no allocation). */
function fillLevels(levels: ReturnType<IsBookUpdate['init_bids']>, m: readonly bigint[], q: readonly bigint[], o: readonly number[]): void {
  const lv = isBLv;
  for (let i = 0; i < N_LEVELS; i++) {
    levels.get(i, lv);
    const p = lv.price;
    p.mantissa = m[i]!;
    p.exponent = EXP;
    lv.qty = q[i]!;
    lv.orders = o[i]!;
  }
}

function encIsthmus(): number {
  const m = isB;
  m.build(isEncBuf, 0, CAP);
  m.seq = SEQ;
  m.ts_ns = TS_NS;
  m.instrument_id = INSTRUMENT;
  m.side = Side.bid;
  m.set_symbol(SYMBOL);
  m.set_venue(VENUE);
  fillLevels(m.init_bids(N_LEVELS), BID_M, BID_Q, BID_O);
  fillLevels(m.init_asks(N_LEVELS), ASK_M, ASK_Q, ASK_O);
  m.trade_id = TRADE_ID;
  return m.finish();
}

// FlatBuffers: one Builder, reset with clear(). Vectors of structs are written back to front.
// The result is left in the builder (bytes at dataBuffer().position(), length offset());
// asUint8Array() is not called per op because it allocates a subarray.
const fbB: any = HAVE_FB ? new fbrt.Builder(CAP) : null;
function encFlatbuffers(): number {
  const b = fbB;
  b.clear();
  const sym = b.createString(SYMBOL);
  const ven = b.createString(VENUE);
  fb.BookUpdate.startBidsVector(b, N_LEVELS);
  for (let i = N_LEVELS - 1; i >= 0; i--) fb.Level.createLevel(b, BID_M[i], EXP, BID_Q[i], BID_O[i]);
  const bids = b.endVector();
  fb.BookUpdate.startAsksVector(b, N_LEVELS);
  for (let i = N_LEVELS - 1; i >= 0; i--) fb.Level.createLevel(b, ASK_M[i], EXP, ASK_Q[i], ASK_O[i]);
  const asks = b.endVector();
  fb.BookUpdate.startBookUpdate(b);
  fb.BookUpdate.addSeq(b, SEQ);
  fb.BookUpdate.addTsNs(b, TS_NS);
  fb.BookUpdate.addInstrumentId(b, INSTRUMENT);
  fb.BookUpdate.addSide(b, fb.Side.bid);
  fb.BookUpdate.addSymbol(b, sym);
  fb.BookUpdate.addVenue(b, ven);
  fb.BookUpdate.addBids(b, bids);
  fb.BookUpdate.addAsks(b, asks);
  fb.BookUpdate.addTradeId(b, TRADE_ID);
  fb.BookUpdate.finishBookUpdateBuffer(b, fb.BookUpdate.endBookUpdate(b));
  return b.offset();
}

// JSON: the plain object is built from the source values per op (as a publisher would),
// 64-bit values as numbers except ts_ns (a string: it does not fit in a double).
function jsonLevels(M: number[], Q: number[], O: number[]): object[] {
  const a = new Array(N_LEVELS);
  for (let i = 0; i < N_LEVELS; i++) a[i] = { price: { mantissa: M[i], exponent: EXP }, qty: Q[i], orders: O[i] };
  return a;
}
function jsonObject(): object {
  return {
    seq: 1, ts_ns: TS_STR, instrument_id: INSTRUMENT, side: Side.bid, symbol: SYMBOL, venue: VENUE,
    bids: jsonLevels(BID_Mn, BID_Qn, BID_O), asks: jsonLevels(ASK_Mn, ASK_Qn, ASK_O), trade_id: 77,
  };
}
let jsonOut = '';
function encJson(): number {
  jsonOut = JSON.stringify(jsonObject());
  return jsonOut.length;
}
const te = new TextEncoder();
const jsonEncBuf = new Uint8Array(CAP);
function encJsonBytes(): number {
  return te.encodeInto(JSON.stringify(jsonObject()), jsonEncBuf).written;
}

// ------------------------------------------------------------------------------------------
// The encoded messages the readers read (each copied into its own exact-size buffer).
// ------------------------------------------------------------------------------------------

const isLen = encIsthmus();
const isBytes = isEncBuf.slice(0, isLen);
const fbBytes: Uint8Array = HAVE_FB ? (encFlatbuffers(), fbB.asUint8Array().slice()) : new Uint8Array(0);
const jsonStr = (encJson(), jsonOut);

// ------------------------------------------------------------------------------------------
// Readers. Results go to one global sink object (tagged fields) so no read is dead code.
// ------------------------------------------------------------------------------------------

const S = {
  seq: null as unknown, iid: null as unknown, side: null as unknown, sym: null as unknown, nb: null as unknown,
  m: null as unknown, q: null as unknown, o: null as unknown, t: null as unknown,
};
const resetSink = (): void => {
  S.seq = S.iid = S.side = S.sym = S.nb = S.m = S.q = S.o = S.t = null;
};

// Isthmus: one view, re-pointed with wrap() per op; one Level view for elements.
const isView: IsBookUpdate = new BookUpdate();
const isRLv: IsLevel = new Level(isView, 0);
function readIsthmus(): void {
  const v = isView.wrap(isBytes, 0);
  S.seq = v.seq;
  S.iid = v.instrument_id;
  S.side = v.side;
  S.sym = v.symbol;
  const bids = v.bids;
  S.nb = bids.length;
  const b0 = bids.get(0, isRLv);
  S.m = b0.price.mantissa;
  S.q = b0.qty;
  S.o = v.asks.get(4, isRLv).orders;
  S.t = v.trade_id;
}
function readIsthmusScalar(): void {
  const v = isView.wrap(isBytes, 0);
  S.seq = v.seq;
  S.iid = v.instrument_id;
  S.side = v.side;
  S.q = v.bids.get(0, isRLv).qty;
}
// Isthmus, no reuse: a new view per op, element views from get(i) without `into`.
function readIsthmusNew(): void {
  const v = BookUpdate.view(isBytes, 0);
  S.seq = v.seq;
  S.iid = v.instrument_id;
  S.side = v.side;
  S.sym = v.symbol;
  const bids = v.bids;
  S.nb = bids.length;
  const b0 = bids.get(0);
  S.m = b0.price.mantissa;
  S.q = b0.qty;
  S.o = v.asks.get(4).orders;
  S.t = v.trade_id;
}
function readIsthmusNewScalar(): void {
  const v = BookUpdate.view(isBytes, 0);
  S.seq = v.seq;
  S.iid = v.instrument_id;
  S.side = v.side;
  S.q = v.bids.get(0).qty;
}

// FlatBuffers with reuse: one ByteBuffer (re-positioned per op, as a reader of a ring
// would), one root table object, one Level and one Price struct object.
const fbBB: any = HAVE_FB ? new fbrt.ByteBuffer(fbBytes) : null;
const fbRoot: any = HAVE_FB ? new fb.BookUpdate() : null;
const fbLv: any = HAVE_FB ? new fb.Level() : null;
const fbPr: any = HAVE_FB ? new fb.Price() : null;
function readFlatbuffers(): void {
  const bb = fbBB;
  bb.setPosition(0);
  const r = fb.BookUpdate.getRootAsBookUpdate(bb, fbRoot);
  S.seq = r.seq();
  S.iid = r.instrumentId();
  S.side = r.side();
  S.sym = r.symbol();
  S.nb = r.bidsLength();
  const b0 = r.bids(0, fbLv);
  S.m = b0.price(fbPr).mantissa();
  S.q = b0.qty();
  S.o = r.asks(4, fbLv).orders();
  S.t = r.tradeId();
}
function readFlatbuffersScalar(): void {
  const bb = fbBB;
  bb.setPosition(0);
  const r = fb.BookUpdate.getRootAsBookUpdate(bb, fbRoot);
  S.seq = r.seq();
  S.iid = r.instrumentId();
  S.side = r.side();
  S.q = r.bids(0, fbLv).qty();
}
// FlatBuffers, no reuse: new ByteBuffer, root and struct objects per op.
function readFlatbuffersNew(): void {
  const r = fb.BookUpdate.getRootAsBookUpdate(new fbrt.ByteBuffer(fbBytes));
  S.seq = r.seq();
  S.iid = r.instrumentId();
  S.side = r.side();
  S.sym = r.symbol();
  S.nb = r.bidsLength();
  const b0 = r.bids(0);
  S.m = b0.price().mantissa();
  S.q = b0.qty();
  S.o = r.asks(4).orders();
  S.t = r.tradeId();
}
function readFlatbuffersNewScalar(): void {
  const r = fb.BookUpdate.getRootAsBookUpdate(new fbrt.ByteBuffer(fbBytes));
  S.seq = r.seq();
  S.iid = r.instrumentId();
  S.side = r.side();
  S.q = r.bids(0).qty();
}

// JSON: parse the text, then read (values are numbers; ts_ns, not read, is a string).
function readJson(): void {
  const o = JSON.parse(jsonStr);
  S.seq = o.seq;
  S.iid = o.instrument_id;
  S.side = o.side;
  S.sym = o.symbol;
  const bids = o.bids;
  S.nb = bids.length;
  const b0 = bids[0];
  S.m = b0.price.mantissa;
  S.q = b0.qty;
  S.o = o.asks[4].orders;
  S.t = o.trade_id;
}
function readJsonScalar(): void {
  const o = JSON.parse(jsonStr);
  S.seq = o.seq;
  S.iid = o.instrument_id;
  S.side = o.side;
  S.q = o.bids[0].qty;
}

// Physical baselines over the Isthmus bytes.
const isDV = new DataView(isBytes.buffer, isBytes.byteOffset, isBytes.byteLength);
/** One DataView.getBigUint64 (the seq field): the floor of any u64 read that returns a bigint. */
function baseGetBigUint64(): void {
  S.seq = isDV.getBigUint64(16, true);
}
/** The scalar-only read set hand-written against the layout: what a perfect generator would emit. */
function baseHandScalar(): void {
  const dv = isDV;
  S.seq = dv.getBigUint64(16, true);
  S.iid = dv.getUint32(16 + 16, true);
  S.side = dv.getUint8(16 + 20);
  S.q = dv.getBigUint64(dv.getUint32(16 + 40, true) + 16, true); // bids ref offset (message-relative) + Level.qty
}
const copyDst = new Uint8Array(CAP);
/** memcpy of the Isthmus message size (Uint8Array.set): the floor of producing those bytes. */
function baseMemcpy(): void {
  copyDst.set(isBytes);
}

// ------------------------------------------------------------------------------------------
// Cases. Each has its own loop function (its own closure literal) so that the call to the
// body stays monomorphic and is inlined; a shared `for (...) fn()` loop would go megamorphic.
// ------------------------------------------------------------------------------------------

interface Case {
  id: string;
  group: 'encode' | 'read' | 'read-scalar' | 'baseline';
  label: string;
  fb?: boolean;
  loop: (n: number) => void;
}
let sinkLen = 0;
const ALL_CASES: Case[] = [
  { id: 'encode.isthmus', group: 'encode', label: 'Isthmus builder (reused)', loop: (n) => { for (let i = 0; i < n; i++) sinkLen = encIsthmus(); } },
  { id: 'encode.flatbuffers', group: 'encode', label: 'FlatBuffers Builder (clear())', fb: true, loop: (n) => { for (let i = 0; i < n; i++) sinkLen = encFlatbuffers(); } },
  { id: 'encode.json', group: 'encode', label: 'JSON.stringify (string)', loop: (n) => { for (let i = 0; i < n; i++) sinkLen = encJson(); } },
  { id: 'encode.json-bytes', group: 'encode', label: 'JSON.stringify + TextEncoder.encodeInto', loop: (n) => { for (let i = 0; i < n; i++) sinkLen = encJsonBytes(); } },
  { id: 'read.isthmus', group: 'read', label: 'Isthmus view.wrap() (reused)', loop: (n) => { for (let i = 0; i < n; i++) readIsthmus(); } },
  { id: 'read.isthmus-new', group: 'read', label: 'Isthmus new view per op', loop: (n) => { for (let i = 0; i < n; i++) readIsthmusNew(); } },
  { id: 'read.flatbuffers', group: 'read', label: 'FlatBuffers getRoot (reused objs)', fb: true, loop: (n) => { for (let i = 0; i < n; i++) readFlatbuffers(); } },
  { id: 'read.flatbuffers-new', group: 'read', label: 'FlatBuffers new objs per op', fb: true, loop: (n) => { for (let i = 0; i < n; i++) readFlatbuffersNew(); } },
  { id: 'read.json', group: 'read', label: 'JSON.parse + reads', loop: (n) => { for (let i = 0; i < n; i++) readJson(); } },
  { id: 'read-scalar.isthmus', group: 'read-scalar', label: 'Isthmus view.wrap() (reused)', loop: (n) => { for (let i = 0; i < n; i++) readIsthmusScalar(); } },
  { id: 'read-scalar.isthmus-new', group: 'read-scalar', label: 'Isthmus new view per op', loop: (n) => { for (let i = 0; i < n; i++) readIsthmusNewScalar(); } },
  { id: 'read-scalar.flatbuffers', group: 'read-scalar', label: 'FlatBuffers getRoot (reused objs)', fb: true, loop: (n) => { for (let i = 0; i < n; i++) readFlatbuffersScalar(); } },
  { id: 'read-scalar.flatbuffers-new', group: 'read-scalar', label: 'FlatBuffers new objs per op', fb: true, loop: (n) => { for (let i = 0; i < n; i++) readFlatbuffersNewScalar(); } },
  { id: 'read-scalar.json', group: 'read-scalar', label: 'JSON.parse + reads', loop: (n) => { for (let i = 0; i < n; i++) readJsonScalar(); } },
  { id: 'baseline.getBigUint64', group: 'baseline', label: 'DataView.getBigUint64 x1', loop: (n) => { for (let i = 0; i < n; i++) baseGetBigUint64(); } },
  { id: 'baseline.hand-scalar', group: 'baseline', label: 'hand-written DataView, scalar-only set', loop: (n) => { for (let i = 0; i < n; i++) baseHandScalar(); } },
  { id: 'baseline.memcpy', group: 'baseline', label: `Uint8Array.set memcpy (${isLen} B)`, loop: (n) => { for (let i = 0; i < n; i++) baseMemcpy(); } },
];
const CASES = ALL_CASES.filter((c) => (HAVE_FB || !c.fb) && (!FILTER || c.id.includes(FILTER)));

// ------------------------------------------------------------------------------------------
// Correctness, before any timing.
// ------------------------------------------------------------------------------------------

const lvRec = (l: { price: { mantissa: bigint; exponent: number }; qty: bigint; orders: number }): LevelRec =>
  ({ mantissa: l.price.mantissa, exponent: l.price.exponent, qty: l.qty, orders: l.orders });

function decodeIsthmus(bytes: Uint8Array): BookRec {
  const v = BookUpdate.view(bytes);
  return {
    seq: v.seq, ts_ns: v.ts_ns, instrument_id: v.instrument_id, side: v.side, symbol: v.symbol, venue: v.venue,
    bids: v.bids.toArray().map(lvRec), asks: v.asks.toArray().map(lvRec), trade_id: v.trade_id,
  };
}
function decodeFlatbuffers(bytes: Uint8Array): BookRec {
  const r = fb.BookUpdate.getRootAsBookUpdate(new fbrt.ByteBuffer(bytes));
  const lv = (get: (i: number) => any, n: number): LevelRec[] => Array.from({ length: n }, (_, i) => {
    const l = get(i);
    return { mantissa: l.price().mantissa(), exponent: l.price().exponent(), qty: l.qty(), orders: l.orders() };
  });
  return {
    seq: r.seq(), ts_ns: r.tsNs(), instrument_id: r.instrumentId(), side: r.side(), symbol: r.symbol(), venue: r.venue(),
    bids: lv((i) => r.bids(i), r.bidsLength()), asks: lv((i) => r.asks(i), r.asksLength()), trade_id: r.tradeId(),
  };
}
function decodeJson(s: string): BookRec {
  const o = JSON.parse(s);
  const lv = (a: any[]): LevelRec[] => a.map((l) => ({ mantissa: BigInt(l.price.mantissa), exponent: l.price.exponent, qty: BigInt(l.qty), orders: l.orders }));
  return {
    seq: BigInt(o.seq), ts_ns: BigInt(o.ts_ns), instrument_id: o.instrument_id, side: o.side, symbol: o.symbol, venue: o.venue,
    bids: lv(o.bids), asks: lv(o.asks), trade_id: o.trade_id === null ? null : BigInt(o.trade_id),
  };
}
/** The sink, with 64-bit values as bigints, so that the formats compare equal. */
function sinkNorm(): unknown[] {
  const b = (x: unknown): unknown => (x === null ? null : typeof x === 'number' || typeof x === 'bigint' ? BigInt(x) : x);
  return [b(S.seq), b(S.iid), b(S.side), S.sym, b(S.nb), b(S.m), b(S.q), b(S.o), b(S.t)];
}

function checkCorrectness(): void {
  const fail = (what: string, got: unknown): never => {
    console.error(`bench: correctness check failed: ${what}\n  got:      ${String(got)}\n  expected: ${String(EXPECTED)}`);
    console.dir({ got, EXPECTED }, { depth: 5 });
    process.exit(1);
  };
  const err = BookUpdate.verify(isBytes);
  if (err !== null) fail('BookUpdate.verify(bytes) !== null', err);
  if (!isDeepStrictEqual(decodeIsthmus(isBytes), EXPECTED)) fail('Isthmus read-back', decodeIsthmus(isBytes));
  if (!isDeepStrictEqual(decodeJson(jsonStr), EXPECTED)) fail('JSON read-back', decodeJson(jsonStr));
  if (HAVE_FB && !isDeepStrictEqual(decodeFlatbuffers(fbBytes), EXPECTED)) fail('FlatBuffers read-back', decodeFlatbuffers(fbBytes));
  // The encoders are deterministic: re-encoding gives the same bytes.
  if (encIsthmus() !== isLen || !isDeepStrictEqual(isEncBuf.subarray(0, isLen), isBytes)) fail('Isthmus re-encode differs', isLen);
  if (HAVE_FB && (encFlatbuffers(), !isDeepStrictEqual(fbB.asUint8Array(), fbBytes))) fail('FlatBuffers re-encode differs', '');
  if (te.encodeInto(jsonStr, new Uint8Array(CAP)).written !== encJsonBytes()) fail('JSON bytes length', '');
  // The timed read bodies read the same values from every format.
  const b0 = EXPECTED.bids[0]!;
  const full = [SEQ, BigInt(INSTRUMENT), BigInt(Side.bid), SYMBOL, BigInt(N_LEVELS), b0.mantissa, b0.qty, BigInt(EXPECTED.asks[4]!.orders), TRADE_ID];
  const scalar = [SEQ, BigInt(INSTRUMENT), BigInt(Side.bid), null, null, null, b0.qty, null, null];
  const reads: [string, () => void, unknown[]][] = [
    ['readIsthmus', readIsthmus, full], ['readIsthmusNew', readIsthmusNew, full], ['readJson', readJson, full],
    ['readIsthmusScalar', readIsthmusScalar, scalar], ['readIsthmusNewScalar', readIsthmusNewScalar, scalar],
    ['readJsonScalar', readJsonScalar, scalar], ['baseHandScalar', baseHandScalar, scalar],
  ];
  if (HAVE_FB) reads.push(['readFlatbuffers', readFlatbuffers, full], ['readFlatbuffersNew', readFlatbuffersNew, full],
    ['readFlatbuffersScalar', readFlatbuffersScalar, scalar], ['readFlatbuffersNewScalar', readFlatbuffersNewScalar, scalar]);
  for (const [name, fn, want] of reads) {
    resetSink();
    fn();
    if (!isDeepStrictEqual(sinkNorm(), want)) fail(`${name} sink`, sinkNorm());
  }
  resetSink();
  baseGetBigUint64();
  if (S.seq !== SEQ) fail('baseGetBigUint64', S.seq);
}

// Allocation (bytes/op), in a child process: bench/alloc.ts.
function measureCodecAllocations(): Record<string, number | null> {
  const args: string[] = [];
  if (QUICK) args.push('--quick');
  if (FILTER) args.push('--filter', FILTER);
  try {
    return measureAllocations(SELF, args);
  } catch (e) {
    log(`bench: WARNING: ${(e as Error).message}`);
    return {};
  }
}

// ------------------------------------------------------------------------------------------
// Timing: warm-up, calibrated batches, several interleaved rounds, median ns/op.
// ------------------------------------------------------------------------------------------

const T = QUICK
  ? { warmMs: 60, batchMs: 12, rounds: 5 }
  : { warmMs: 300, batchMs: 40, rounds: 21 };

function timeBatch(c: Case, n: number): number {
  const t0 = process.hrtime.bigint();
  c.loop(n);
  return Number(process.hrtime.bigint() - t0) / n;
}
function calibrate(c: Case): number {
  let n = 64;
  for (;;) {
    const ns = timeBatch(c, n) * n;
    if (ns >= T.batchMs * 1e6 * 0.25 || n >= 1 << 26) return Math.max(1, Math.ceil((n * T.batchMs * 1e6) / Math.max(ns, 1)));
    n *= 2;
  }
}
const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Timing { median: number; min: number; max: number; n: number; samples: number[] }
function timeAll(): Map<string, Timing> {
  const batch = new Map<Case, number>();
  for (const c of CASES) {
    const t = performance.now();
    while (performance.now() - t < T.warmMs) c.loop(256);
    batch.set(c, calibrate(c));
  }
  const samples = new Map<Case, number[]>(CASES.map((c) => [c, []]));
  for (let r = 0; r < T.rounds; r++) {
    for (let k = 0; k < CASES.length; k++) {
      const c = CASES[(k + r) % CASES.length]!; // rotate the order each round
      samples.get(c)!.push(timeBatch(c, batch.get(c)!));
    }
  }
  const res = new Map<string, Timing>();
  for (const c of CASES) {
    const s = samples.get(c)!;
    res.set(c.id, { median: median(s), min: Math.min(...s), max: Math.max(...s), n: batch.get(c)!, samples: s });
  }
  return res;
}

// ------------------------------------------------------------------------------------------
// Main.
// ------------------------------------------------------------------------------------------

checkCorrectness();
if (ALLOC_CHILD) {
  process.stdout.write(JSON.stringify(await allocPerOp(CASES, QUICK)) + '\n');
  process.exit(0);
}

const started = performance.now();
log(`bench: correctness OK (Isthmus ${isLen} B verified, FlatBuffers ${HAVE_FB ? fbBytes.length + ' B' : 'skipped'}, JSON ${jsonStr.length} chars); ${QUICK ? 'quick' : 'full'} run, ${CASES.length} cases`);
const alloc = NO_ALLOC ? {} : measureCodecAllocations();
log(`bench: allocations measured (${((performance.now() - started) / 1000).toFixed(1)} s); timing ...`);
const timing = timeAll();
// The encoders still produce the checked bytes after timing.
checkCorrectness();
const elapsedS = (performance.now() - started) / 1000;

const ns = (id: string): number | null => timing.get(id)?.median ?? null;
const ratio = (a: string, b: string): number | null => {
  const x = ns(a);
  const y = ns(b);
  return x === null || y === null ? null : x / y;
};
const RATIOS: { id: string; what: string; value: number | null; target?: string; met?: boolean | null }[] = [];
const addRatio = (id: string, what: string, value: number | null, target?: number): void => {
  const r: (typeof RATIOS)[number] = { id, what, value };
  if (target !== undefined) {
    r.target = `<= ${target}`;
    r.met = value === null ? null : value <= target;
  }
  RATIOS.push(r);
};
addRatio('encode.isthmus/flatbuffers', 'Isthmus encode ÷ FlatBuffers encode', ratio('encode.isthmus', 'encode.flatbuffers'), 0.5);
addRatio('read.isthmus/flatbuffers', 'Isthmus field reads ÷ FlatBuffers (both reusing objects)', ratio('read.isthmus', 'read.flatbuffers'), 1);
addRatio('read-scalar.isthmus/flatbuffers', 'Isthmus scalar-only reads ÷ FlatBuffers (both reusing)', ratio('read-scalar.isthmus', 'read-scalar.flatbuffers'), 1);
addRatio('read.isthmus-new/flatbuffers-new', 'Isthmus ÷ FlatBuffers, new objects per op', ratio('read.isthmus-new', 'read.flatbuffers-new'));
addRatio('read-scalar.isthmus-new/flatbuffers-new', 'scalar-only, new objects per op', ratio('read-scalar.isthmus-new', 'read-scalar.flatbuffers-new'));
addRatio('encode.isthmus/json', 'Isthmus encode ÷ JSON.stringify', ratio('encode.isthmus', 'encode.json'));
addRatio('read.isthmus/json', 'Isthmus field reads ÷ JSON.parse + reads', ratio('read.isthmus', 'read.json'));
addRatio('encode.isthmus/memcpy', 'Isthmus encode ÷ memcpy of the message', ratio('encode.isthmus', 'baseline.memcpy'));
addRatio('read-scalar.isthmus/hand-scalar', 'Isthmus scalar-only reads ÷ hand-written DataView', ratio('read-scalar.isthmus', 'baseline.hand-scalar'));
addRatio('read-scalar.isthmus/getBigUint64', 'Isthmus scalar-only reads ÷ one getBigUint64', ratio('read-scalar.isthmus', 'baseline.getBigUint64'));
addRatio('read.isthmus/getBigUint64', 'Isthmus field reads ÷ one getBigUint64', ratio('read.isthmus', 'baseline.getBigUint64'));

// --- the table -----------------------------------------------------------------------------

const fmtNs = (x: number | null): string => (x === null ? '–' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const fmtB = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : x >= 10 ? x.toFixed(0) : x.toFixed(1));
const fmtR = (x: number | null): string => (x === null ? '–' : x >= 10 ? x.toFixed(1) + '×' : x.toFixed(2) + '×');
const REF: Record<Case['group'], string | undefined> = {
  encode: 'encode.isthmus', read: 'read.isthmus', 'read-scalar': 'read-scalar.isthmus', baseline: undefined,
};
const GROUP_TITLE: Record<Case['group'], string> = {
  encode: 'Encode one BookUpdate', read: 'Field reads (9 fields)', 'read-scalar': 'Scalar-only reads (4 fields)', baseline: 'Physical baselines',
};
const lines: string[] = [];
lines.push(`Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cores), ${QUICK ? 'quick' : 'full'} run, ${T.rounds} rounds, median ns/op`);
lines.push(`Message: Isthmus ${isLen} B, FlatBuffers ${HAVE_FB ? fbBytes.length + ' B' : '–'}, JSON ${jsonStr.length} B`);
lines.push('');
lines.push('| group | case | ns/op | min–max | bytes/op | ÷ Isthmus |');
lines.push('|---|---|---:|---:|---:|---:|');
for (const c of CASES) {
  const t = timing.get(c.id)!;
  const ref = REF[c.group];
  const rel = ref && ref !== c.id ? ratio(c.id, ref) : null;
  lines.push(`| ${c.group} | ${c.label} | ${fmtNs(t.median)} | ${fmtNs(t.min)}–${fmtNs(t.max)} | ${fmtB(alloc[c.id])} | ${rel === null ? '' : fmtR(rel)} |`);
}
lines.push('');
lines.push('| ratio | value | target | met |');
lines.push('|---|---:|---:|---|');
for (const r of RATIOS) lines.push(`| ${r.what} | ${fmtR(r.value)} | ${r.target ?? ''} | ${r.met === undefined ? '' : r.met === null ? 'n/a' : r.met ? 'yes' : 'NO'} |`);
console.log(lines.join('\n'));

// --- the JSON record -----------------------------------------------------------------------

const record = {
  benchmark: 'bench/codec.bench.ts',
  mode: QUICK ? 'quick' : 'full',
  date: new Date().toISOString(),
  node: process.version,
  v8: process.versions.v8,
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cpus: os.cpus().length,
  flatc: HAVE_FB ? (fbSetup as any).flatcVersion : null,
  flatbuffersRuntime: HAVE_FB ? (fbSetup as any).runtimeVersion : null,
  settings: { ...T, filter: FILTER ?? null },
  elapsedSeconds: Number(elapsedS.toFixed(1)),
  messageBytes: { isthmus: isLen, flatbuffers: HAVE_FB ? fbBytes.length : null, json: jsonStr.length },
  cases: Object.fromEntries(CASES.map((c) => {
    const t = timing.get(c.id)!;
    return [c.id, { group: c.group, label: c.label, nsPerOp: round(t.median), minNs: round(t.min), maxNs: round(t.max), opsPerBatch: t.n, bytesPerOp: alloc[c.id] ?? null }];
  })),
  ratios: Object.fromEntries(RATIOS.map((r) => [r.id, { what: r.what, value: r.value === null ? null : round(r.value, 3), target: r.target ?? null, met: r.met ?? null }])),
};
function round(x: number, d = 2): number {
  const k = 10 ** d;
  return Math.round(x * k) / k;
}
fs.mkdirSync(path.dirname(OUT), { recursive: true });
fs.writeFileSync(OUT, JSON.stringify(record, null, 2) + '\n');
log(`bench: wrote ${path.relative(process.cwd(), OUT)} (${elapsedS.toFixed(1)} s)`);
