/**
 * The C side, in its own processes: the generated headers compile clean as C11 and C++17
 * (-Wall -Wextra -Werror), every golden vector decodes to its JSON value and re-encodes
 * to identical bytes, hostile inputs get the same verify() error as in TypeScript, and an
 * ASan/UBSan build survives thousands of random mutations.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMITTERS, compileFile, typeTable } from '@isthmus/schema';
import { toJSON, verify } from '@isthmus/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goldenVectors, ROOT } from '../scripts/goldens.ts';

const SCHEMAS = ['market', 'kitchen'];
const WORK = mkdtempSync(join(tmpdir(), 'isthmus-c-'));
const INCLUDE = join(ROOT, 'bindings/c/include');

function tool(name: string): string {
  const r = spawnSync(name, ['--version'], { encoding: 'utf8' });
  if (r.error) throw new Error(`${name} is required for the C tests but was not found (apt-get install ${name === 'g++' ? 'g++' : 'gcc'})`);
  return name;
}

function cc(compiler: string, args: string[]): void {
  const r = spawnSync(compiler, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${compiler} ${args.join(' ')}\n${r.stderr}`);
}

afterAll(() => rmSync(WORK, { recursive: true, force: true }));

const bin = (kind: string, schema: string) => join(WORK, `${kind}-${schema}`);

beforeAll(() => {
  const gcc = tool('gcc');
  // Headers come from the compiler now, not from the goldens, so this tests the emitter.
  for (const s of ['common', ...SCHEMAS]) for (const f of EMITTERS.c!(compileFile(join(ROOT, 'schemas', `${s}.isthmus`)))) writeFileSync(join(WORK, f.path), f.contents);
  for (const s of SCHEMAS) {
    const defs = [`-DSCHEMA_HEADER="${s}.h"`, `-DSCHEMA_MESSAGES=${s}_MESSAGES`, `-I${WORK}`, `-I${INCLUDE}`];
    cc(gcc, ['-std=c11', '-O1', '-Wall', '-Wextra', '-Werror', '-pedantic', ...defs, join(ROOT, 'test/c/golden.c'), '-o', bin('golden', s)]);
    cc(gcc, ['-std=c11', '-O1', '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer', ...defs, join(ROOT, 'test/c/mutate.c'), '-o', bin('mutate', s)]);
  }
});

describe('generated C headers', () => {
  for (const s of ['common', ...SCHEMAS]) {
    it(`${s}.h compiles clean as C11 and C++17`, () => {
      const src = join(WORK, `use-${s}.c`);
      writeFileSync(src, `#include "${s}.h"\n#include "isthmus/json_encode.h"\nint main(void) { return 0; }\n`);
      cc(tool('gcc'), ['-std=c11', '-Wall', '-Wextra', '-Werror', '-pedantic', `-I${WORK}`, `-I${INCLUDE}`, '-c', src, '-o', join(WORK, `use-${s}.o`)]);
      const cpp = join(WORK, `use-${s}.cpp`);
      writeFileSync(cpp, readFileSync(src));
      cc(tool('g++'), ['-std=c++17', '-Wall', '-Wextra', '-Werror', '-pedantic', `-I${WORK}`, `-I${INCLUDE}`, '-c', cpp, '-o', join(WORK, `use-${s}.cpp.o`)]);
    });
  }
});

describe.each(goldenVectors().filter((v) => v.writer === v.reader).map((v) => [v.name, v] as const))('C reads and writes %s', (_n, v) => {
  const schema = v.reader.replace(/\.isthmus$/, '');
  it('decodes to the golden JSON value', () => {
    const out = execFileSync(bin('golden', schema), ['decode', v.type, v.binPath], { encoding: 'utf8' });
    const json = JSON.parse(out);
    for (const [k, val] of Object.entries(v.value)) expect(json[k], k).toEqual(val);
    const table = typeTable(compileFile(join(ROOT, 'schemas', v.reader)));
    expect(json).toEqual(toJSON(table, v.type, new Uint8Array(readFileSync(v.binPath))));
  });
  it('encodes the golden JSON value to identical bytes', () => {
    const value = join(WORK, `${v.name.replace('/', '_')}.value.json`);
    writeFileSync(value, JSON.stringify(v.value));
    const out = execFileSync(bin('golden', schema), ['encode', v.type, value]);
    expect(new Uint8Array(out)).toEqual(new Uint8Array(readFileSync(v.binPath)));
  });
});

describe('C reads an older writer', () => {
  it('gives defaults for fields the writer did not know', () => {
    const v1 = join(ROOT, 'schemas/testdata/market/book_v1_writer.bin');
    const json = JSON.parse(execFileSync(bin('golden', 'market'), ['decode', 'market.BookUpdate', v1], { encoding: 'utf8' }));
    expect(json.trade_id).toBeNull();
    expect(json.symbol).toBe('ÉTÉ-€-𝄞');
  });
});

describe('C verify() agrees with TypeScript on hostile inputs', () => {
  const cases = [
    { schema: 'market', type: 'market.BookUpdate', file: 'market/book_full.bin' },
    { schema: 'kitchen', type: 'kitchen.Everything', file: 'kitchen/everything_full.bin' },
  ];
  for (const c of cases) {
    it(`${c.file}: same code, path and offset for 300 seeded mutations`, () => {
      const table = typeTable(compileFile(join(ROOT, 'schemas', `${c.schema}.isthmus`)));
      const golden = readFileSync(join(ROOT, 'schemas/testdata', c.file));
      let seed = 12345;
      const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), seed >>> 8);
      const file = join(WORK, 'mutant.bin');
      const seen = new Set<string>();
      for (let i = 0; i < 300; i++) {
        const b = new Uint8Array(golden);
        for (let k = 0; k < 1 + (rand() % 3); k++) b[rand() % b.length] = rand() & 0xff;
        const n = rand() % 8 === 0 ? rand() % b.length : b.length;
        writeFileSync(file, b.subarray(0, n));
        const ts = verify(table, c.type, b.subarray(0, n));
        const expected = ts ? `${ts.code} ${ts.path} ${ts.offset}` : 'OK';
        const got = execFileSync(bin('golden', c.schema), ['verify', c.type, file], { encoding: 'utf8' }).trim();
        expect(got.split(' ').slice(0, 3).join(' '), `mutation ${i}`).toBe(expected);
        seen.add(expected.split(' ')[0]!);
      }
      expect(seen.size).toBeGreaterThan(2);
    });
  }
});

describe('C under ASan/UBSan', () => {
  for (const [schema, type, file] of [
    ['market', 'market.BookUpdate', 'market/book_full.bin'],
    ['kitchen', 'kitchen.Everything', 'kitchen/everything_full.bin'],
  ] as const) {
    it(`${file}: 3000 random mutations never read outside the buffer`, () => {
      const r = spawnSync(bin('mutate', schema), [type, join(ROOT, 'schemas/testdata', file), '3000', '7'], { encoding: 'utf8', env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1' } });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const [accepted, rejected] = r.stdout.split('\n')[0]!.split(' ').map(Number);
      expect(accepted! + rejected!).toBe(3000);
      expect(rejected).toBeGreaterThan(0);
    });
  }
});
