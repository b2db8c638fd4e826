/**
 * The Quick-start demo (`npm run demo`):
 *   1. compiles schemas/market.isthmus to TypeScript and C with the Isthmus compiler;
 *   2. builds a C reader against the generated header;
 *   3. writes a BookUpdate from TypeScript, in place, into a shared-memory file (/dev/shm);
 *   4. runs the C reader in a separate process: it maps the file, verifies the message and
 *      prints its fields, reading them where they lie.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { emitTs, compileFile, EMITTERS } from '@isthmus/schema';

const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, 'demo', '.out');
const step = (n: number, text: string) => console.log(`\n[${n}] ${text}`);

step(1, 'compile schemas/market.isthmus → TypeScript and C');
const schema = compileFile(join(ROOT, 'schemas', 'market.isthmus'));
mkdirSync(OUT, { recursive: true });
for (const f of [...emitTs(schema), ...EMITTERS.c!(schema)]) {
  writeFileSync(join(OUT, f.path), f.contents);
  console.log(`    wrote demo/.out/${f.path}`);
}
const msg = schema.layout.types.find((t) => t.name === 'BookUpdate')!;
if (msg.kind === 'message') console.log(`    BookUpdate: type id ${msg.typeId}, version ${msg.version}, fixed part ${msg.size} bytes`);

step(2, 'build the C reader against demo/.out/market.h');
const reader = join(OUT, 'reader');
const cc = spawnSync('gcc', ['-std=gnu11', '-O2', '-Wall', '-Wextra', '-Werror', `-I${OUT}`, `-I${join(ROOT, 'bindings/c/include')}`, join(ROOT, 'demo/reader.c'), '-o', reader], { encoding: 'utf8' });
if (cc.error || cc.status !== 0) {
  console.error(cc.error ? `gcc is needed for the C side of the demo: ${cc.error.message} (apt-get install gcc)` : cc.stderr);
  process.exit(1);
}
console.log(`    gcc → demo/.out/reader`);

step(3, 'write a BookUpdate from TypeScript, in place');
const { BookUpdate, Side, Level } = (await import(join(OUT, 'market.ts'))) as typeof import('../schemas/generated/ts/market.ts');
const region = new SharedArrayBuffer(4096);
const m = BookUpdate.builder(region, 0, region.byteLength);
m.seq = 42n;
m.ts_ns = BigInt(Date.now()) * 1_000_000n;
m.instrument_id = 7;
m.side = Side.bid;
m.set_symbol('EURUSD');
m.set_venue('XLON');
const bids = m.init_bids(2);
const lv = new Level(m, 0);
bids.get(0, lv).price.mantissa = 108345n;
lv.price.exponent = -5;
lv.qty = 1_000_000n;
lv.orders = 3;
bids.get(1, lv).price.mantissa = 108344n;
lv.price.exponent = -5;
lv.qty = 2_500_000n;
lv.orders = 7;
const asks = m.init_asks(1);
asks.get(0, lv).price.mantissa = 108347n;
lv.price.exponent = -5;
lv.qty = 500_000n;
lv.orders = 1;
m.trade_id = 9001n;
const size = m.finish();
const err = BookUpdate.verify(region, 0, size);
if (err) throw err;
const shm = existsSync('/dev/shm') ? '/dev/shm' : OUT;
const file = join(shm, `isthmus-demo-${process.pid}.msg`);
writeFileSync(file, new Uint8Array(region, 0, size));
console.log(`    ${size} bytes → ${file} (pid ${process.pid})`);
console.log(`    ${JSON.stringify(m.toJSON())}`);

step(4, 'read it from C in a separate process');
const run = spawnSync(reader, [file], { encoding: 'utf8' });
rmSync(file, { force: true });
console.log(run.stdout.trimEnd().replace(/^/gm, '    '));
if (run.status !== 0) {
  console.error(run.stderr);
  process.exit(1);
}
console.log('\ndone: the C process read the message the TypeScript process wrote, in place, with no decode step.');
