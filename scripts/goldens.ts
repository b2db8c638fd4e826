/**
 * Golden files: the generated code for every schema in schemas/ (schemas/generated/<lang>/)
 * the SDK's own generated code (packages/sdk/schemas → packages/sdk/src/gen/)
 * and the canonical encoding of every golden value (schemas/testdata/<schema>/<name>.bin).
 *
 *   node scripts/goldens.ts --write    regenerate after a compiler or schema change
 *   node scripts/goldens.ts --check    fail (exit 1) if anything on disk differs
 *
 * The test suite runs the same check, so CI fails on drift.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMITTERS, compileFile, typeTable } from '@isthmus/schema';
import { encode } from '@isthmus/runtime';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCHEMAS = join(ROOT, 'schemas');
const GENERATED = join(SCHEMAS, 'generated');
const TESTDATA = join(SCHEMAS, 'testdata');
const SDK_SCHEMAS = join(ROOT, 'packages', 'sdk', 'schemas');
const SDK_GENERATED = join(ROOT, 'packages', 'sdk', 'src', 'gen');
/** Languages whose generated code is kept as goldens. */
export const GOLDEN_LANGS = Object.keys(EMITTERS);

export interface GoldenVector {
  readonly name: string;
  /** Schema the value is written with (relative to schemas/). */
  readonly writer: string;
  /** Schema of the directory: what current readers use. */
  readonly reader: string;
  readonly type: string;
  readonly value: Record<string, unknown>;
  readonly jsonPath: string;
  readonly binPath: string;
}

/** Every golden vector, from schemas/testdata/<schema>/<name>.json. */
export function goldenVectors(): GoldenVector[] {
  const out: GoldenVector[] = [];
  for (const dir of readdirSync(TESTDATA).sort()) {
    for (const f of readdirSync(join(TESTDATA, dir)).filter((n) => n.endsWith('.json')).sort()) {
      const jsonPath = join(TESTDATA, dir, f);
      const doc = JSON.parse(readFileSync(jsonPath, 'utf8')) as { schema?: string; type: string; value: Record<string, unknown> };
      out.push({
        name: `${dir}/${f.replace(/\.json$/, '')}`,
        writer: doc.schema ?? `${dir}.isthmus`,
        reader: `${dir}.isthmus`,
        type: doc.type,
        value: doc.value,
        jsonPath,
        binPath: jsonPath.replace(/\.json$/, '.bin'),
      });
    }
  }
  return out;
}

/** Everything the goldens should contain, by absolute path: text (UTF-8) or exact bytes (`.wasm`, `.bin`). */
export function expectedGoldens(): Map<string, string | Uint8Array> {
  const files = new Map<string, string | Uint8Array>();
  const schemas = readdirSync(SCHEMAS).filter((n) => n.endsWith('.isthmus')).sort();
  for (const s of schemas) {
    const compiled = compileFile(join(SCHEMAS, s));
    for (const lang of GOLDEN_LANGS) for (const f of EMITTERS[lang]!(compiled)) files.set(join(GENERATED, lang, f.path), f.contents);
  }
  // Code the SDK itself compiles from its own schemas (packages/sdk/schemas → src/gen/).
  for (const s of readdirSync(SDK_SCHEMAS).filter((n) => n.endsWith('.isthmus')).sort()) {
    for (const f of EMITTERS.ts!(compileFile(join(SDK_SCHEMAS, s)))) files.set(join(SDK_GENERATED, f.path), f.contents);
  }
  for (const v of goldenVectors()) {
    const table = typeTable(compileFile(join(SCHEMAS, v.writer)));
    const buf = new Uint8Array(1 << 16);
    const n = encode(table, v.type, v.value, buf);
    files.set(v.binPath, buf.slice(0, n));
  }
  return files;
}

/** Files under schemas/generated that no schema produces any more. */
function strayGenerated(expected: Map<string, unknown>): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!expected.has(p) && e.name !== 'tsconfig.json') out.push(p);
    }
  };
  walk(GENERATED);
  return out;
}

/** Differences between disk and the expected goldens, as readable lines. */
export function goldenDrift(): string[] {
  const expected = expectedGoldens();
  const drift: string[] = [];
  for (const [p, want] of expected) {
    const rel = relative(ROOT, p);
    if (!existsSync(p)) {
      drift.push(`missing: ${rel}`);
      continue;
    }
    // Bytes, for text and binary goldens alike (text is compared as its UTF-8 encoding).
    const have = readFileSync(p);
    const same = Buffer.compare(have, typeof want === 'string' ? Buffer.from(want, 'utf8') : Buffer.from(want.buffer, want.byteOffset, want.byteLength)) === 0;
    if (!same) drift.push(`differs: ${rel}`);
  }
  for (const p of strayGenerated(expected)) drift.push(`stray: ${relative(ROOT, p)}`);
  return drift;
}

function writeGoldens(): void {
  const expected = expectedGoldens();
  for (const p of strayGenerated(expected)) rmSync(p);
  for (const [p, contents] of expected) {
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, contents);
  }
  console.log(`wrote ${expected.size} golden files`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const mode = process.argv[2];
  if (mode === '--write') writeGoldens();
  else if (mode === '--check') {
    const drift = goldenDrift();
    if (drift.length) {
      console.error(`golden files are out of date (run: npm run goldens):\n  ${drift.join('\n  ')}`);
      process.exit(1);
    }
    console.log('goldens up to date');
  } else {
    console.error('usage: node scripts/goldens.ts --write | --check');
    process.exit(2);
  }
}
