/**
 * The C side, in its own processes (test/c/golden.c, test/c/accessors.c), against headers
 * the C emitter generates now:
 *   - every generated header compiles clean as C11 and as C++17 (-Wall -Wextra -Werror);
 *   - every golden vector decodes to its JSON value and its JSON value encodes to the
 *     golden bytes (an older writer's vector with the older schema's header);
 *   - the generated accessors read the goldens, apply the version rule, and the builder
 *     helpers write book_full byte for byte and fail cleanly when capacity runs out;
 *   - hostile inputs get the verify() code, path and offset of docs/layout.md §8, the same
 *     as the TypeScript verifier's;
 *   - the encoder rejects JSON that is malformed or does not fit the schema;
 *   - an ASan/UBSan build survives thousands of random mutations, verified or not.
 *
 * Needs gcc and g++. Without them the suite is skipped, except with CI=true, where it fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toJSON, verify, type StructLayout } from '@isthmus/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFile, typeTable } from '../packages/schema/dist/compile.js';
import { emitC } from '../packages/schema/dist/emit/c.js';
import { goldenVectors, ROOT } from '../scripts/goldens.ts';
import { CI } from './ci.ts';

const MISSING = ['gcc', 'g++'].filter((t) => spawnSync(t, ['--version']).error);
const INCLUDE = join(ROOT, 'bindings/c/include');
const TESTDATA = join(ROOT, 'schemas/testdata');
/** Schemas with a golden program: path under schemas/ → header name. */
const SCHEMAS = { market: 'market.isthmus', kitchen: 'kitchen.isthmus', 'market.v1': 'evolution/market.v1.isthmus' } as const;
type Schema = keyof typeof SCHEMAS;
const WARN = ['-Wall', '-Wextra', '-Werror'];
const ASAN = ['-O1', '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer'];

let work = '';
const bin = (name: string) => join(work, name);

function cc(compiler: string, args: string[]): void {
  const r = spawnSync(compiler, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${compiler} ${args.join(' ')}\n${r.error?.message ?? ''}${r.stderr}`);
}

/** Runs a built program; stdout as bytes, stderr as text. */
function run(program: string, args: string[], env?: NodeJS.ProcessEnv) {
  const r = spawnSync(bin(program), args, { env: env && { ...process.env, ...env }, maxBuffer: 1 << 26 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, text: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

const goldenArgs = (s: Schema) => [`-DSCHEMA_HEADER="${s}.h"`, `-DSCHEMA_MESSAGES=isthmus_messages_${s.split('.')[0]}`, `-I${work}`, `-I${INCLUDE}`];

const tables = new Map<string, ReturnType<typeof typeTable>>();
const tableFor = (schemaFile: string) => {
  if (!tables.has(schemaFile)) tables.set(schemaFile, typeTable(compileFile(join(ROOT, 'schemas', schemaFile))));
  return tables.get(schemaFile)!;
};
const schemaOf = (schemaFile: string): Schema => (Object.keys(SCHEMAS) as Schema[]).find((k) => SCHEMAS[k] === schemaFile)!;

/** A scratch file in the work directory. */
function scratch(name: string, contents: string | Uint8Array): string {
  const p = join(work, name);
  writeFileSync(p, contents);
  return p;
}

it('the C toolchain is present (required with CI=true)', () => {
  if (MISSING.length && CI) throw new Error(`${MISSING.join(' and ')} not found; the C tests need them (apt-get install gcc g++)`);
  if (MISSING.length) console.warn(`skipping the C tests: ${MISSING.join(' and ')} not found`);
});

const suite = MISSING.length && !CI ? describe.skip : describe;

suite('C', () => {
  beforeAll(() => {
    if (MISSING.length) throw new Error(`${MISSING.join(' and ')} not found`);
    work = mkdtempSync(join(tmpdir(), 'isthmus-c-'));
    // Headers come from the emitter as it is now, not from schemas/generated.
    for (const f of ['common.isthmus', ...Object.values(SCHEMAS)]) for (const out of emitC(compileFile(join(ROOT, 'schemas', f)))) writeFileSync(join(work, out.path), out.contents);
    for (const s of Object.keys(SCHEMAS) as Schema[]) cc('gcc', ['-std=c11', '-O2', ...WARN, '-pedantic', ...goldenArgs(s), join(ROOT, 'test/c/golden.c'), '-o', bin(`golden-${s}`)]);
    for (const s of ['market', 'kitchen'] as const) cc('gcc', ['-std=c11', ...ASAN, ...goldenArgs(s), join(ROOT, 'test/c/golden.c'), '-o', bin(`golden-asan-${s}`)]);
    const acc = [`-I${work}`, `-I${INCLUDE}`, join(ROOT, 'test/c/accessors.c')];
    cc('gcc', ['-std=c11', '-O2', ...WARN, '-pedantic', ...acc, '-o', bin('accessors')]);
    cc('gcc', ['-std=c11', ...ASAN, ...acc, '-o', bin('accessors-asan')]);
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('generated headers', () => {
    for (const h of ['common', ...Object.keys(SCHEMAS)]) {
      it(`${h}.h compiles clean as C11 and C++17`, () => {
        const use = `#include "${h}.h"\n#include "isthmus/json_encode.h"\nint main(void) { return 0; }\n`;
        cc('gcc', ['-std=c11', ...WARN, '-pedantic', `-I${work}`, `-I${INCLUDE}`, '-c', scratch(`use-${h}.c`, use), '-o', bin(`use-${h}.o`)]);
        cc('g++', ['-std=c++17', ...WARN, '-pedantic', `-I${work}`, `-I${INCLUDE}`, '-c', scratch(`use-${h}.cpp`, use), '-o', bin(`use-${h}.cpp.o`)]);
      });
    }
    it('the test programs, which call every kind of accessor, compile as C++17 too', () => {
      for (const s of ['market', 'kitchen'] as const) cc('g++', ['-x', 'c++', '-std=c++17', '-O2', ...WARN, ...goldenArgs(s), '-c', join(ROOT, 'test/c/golden.c'), '-o', bin(`golden-${s}.cpp.o`)]);
      cc('g++', ['-x', 'c++', '-std=c++17', '-O2', ...WARN, `-I${work}`, `-I${INCLUDE}`, '-c', join(ROOT, 'test/c/accessors.c'), '-o', bin('accessors.cpp.o')]);
    });
  });

  const vectors = goldenVectors();
  it('golden vectors exist for both example schemas', () => {
    expect(new Set(vectors.map((v) => v.reader))).toEqual(new Set(['market.isthmus', 'kitchen.isthmus']));
  });

  describe.each(vectors.map((v) => [v.name, v] as const))('golden %s', (_name, v) => {
    const reader = schemaOf(v.reader);
    const golden = () => new Uint8Array(readFileSync(v.binPath));
    it('decodes to the golden JSON value (C reader, current schema)', () => {
      const r = run(`golden-${reader}`, ['decode', v.type, v.binPath]);
      expect(r.stderr).toBe('');
      expect(r.status, r.text).toBe(0);
      const json = JSON.parse(r.text) as Record<string, unknown>;
      // The golden value may leave out defaults; the TS reader fills them in as C must.
      expect(json).toEqual(toJSON(tableFor(v.reader), v.type, golden()));
      for (const [k, val] of Object.entries(v.value)) expect(json[k], k).toEqual(val);
    });
    it("encodes the golden JSON value to the golden bytes (C encoder, the writer's schema)", () => {
      const r = run(`golden-${schemaOf(v.writer)}`, ['encode', v.type, scratch(`${v.name.replace('/', '_')}.json`, JSON.stringify(v.value))]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(new Uint8Array(r.stdout)).toEqual(golden());
    });
    it('verifies', () => {
      expect(run(`golden-${reader}`, ['verify', v.type, v.binPath]).text).toBe('OK\n');
    });
  });

  describe('generated accessors and builders', () => {
    const market = vectors.filter((v) => v.reader === 'market.isthmus');
    it.each(market.map((v) => [v.name, v] as const))('read %s as the TS reader does', (_n, v) => {
      const r = run('accessors', ['market', v.binPath]);
      expect(r.status, r.text).toBe(0);
      expect(JSON.parse(r.text)).toEqual(toJSON(tableFor('market.isthmus'), v.type, new Uint8Array(readFileSync(v.binPath))));
    });
    it('read a version-1 message with an empty tail: the fixed part is shorter than the reader struct', () => {
      const enc = run('golden-market.v1', ['encode', 'market.BookUpdate', scratch('v1-min.json', '{"side":"bid","seq":"5"}')]);
      expect(enc.stdout.length).toBe(16 + 56);
      const file = scratch('v1-min.bin', enc.stdout);
      const want = { seq: '5', ts_ns: '0', instrument_id: 0, side: 'bid', symbol: '', venue: '', bids: [], asks: [], trade_id: null };
      expect(JSON.parse(run('accessors', ['market', file]).text)).toEqual(want);
      expect(JSON.parse(run('golden-market', ['decode', 'market.BookUpdate', file]).text)).toEqual(want);
    });
    it('read every part of kitchen.Everything', () => {
      const full = JSON.parse(run('accessors', ['kitchen', join(TESTDATA, 'kitchen/everything_full.bin')]).text);
      expect(full).toEqual({
        labels: ['top', 'ünïcödé ✓'], name: 'kitchen sink', blob_len: 5, words: ['alpha', '', 'γάμμα'],
        people: [{ name: 'Ada', tags: ['math', 'engines'], nick: null }, { name: 'Grace', tags: [], nick: 'amazing' }],
        matrix: [[1, 2, 3], [], [255]], payload: { named: 'nested' },
        payloads: [{ point: [-1, 1, 0] }, { text: 'hello' }, null, { number: '-42' }, { list: [65535, 0, 7] }],
        maybe_u32: 0, maybe_point: [9, 8, 1], has_added: 1, added: -5, added_text: null, payload_case: 'named',
      });
      const sparse = JSON.parse(run('accessors', ['kitchen', join(TESTDATA, 'kitchen/everything_sparse.bin')]).text);
      expect(sparse).toMatchObject({ payload: { text: 'only the union' }, maybe_u32: null, maybe_point: null, added_text: '', payload_case: 'text' });
    });
    it('build book_full byte for byte', () => {
      const r = run('accessors', ['build']);
      expect(r.status).toBe(0);
      expect(new Uint8Array(r.stdout)).toEqual(new Uint8Array(readFileSync(join(TESTDATA, 'market/book_full.bin'))));
    });
    it('fail cleanly in every capacity that is too small, writing nothing past it (ASan)', () => {
      const r = run('accessors-asan', ['capacity']);
      expect(r.stderr).toBe('');
      expect(r.text).toContain('every capacity below 264 failed cleanly');
      expect(r.status).toBe(0);
    });
  });

  describe('hostile inputs', () => {
    const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    const field = (type: string, name: string) => (tableFor(`${type.split('.')[0]}.isthmus`).get(type) as StructLayout).fields.find((f) => f.name === name)!;
    const fieldAt = (type: string, name: string) => 16 + field(type, name).offset;
    /** Clears or sets the presence bit of an optional message field. */
    const presence = (b: Uint8Array, type: string, name: string, on: boolean) => {
      const p = field(type, name).presence!;
      b[16 + p.offset] = on ? b[16 + p.offset]! | (1 << p.bit) : b[16 + p.offset]! & ~(1 << p.bit);
    };
    /** Absolute offset of element i of the vector whose reference is at `ref`. */
    const element = (b: Uint8Array, ref: number, i: number, stride: number) => dv(b).getUint32(ref, true) + i * stride;
    const BOOK = 'market.BookUpdate';
    const EVERY = 'kitchen.Everything';
    const F = (n: string) => fieldAt(BOOK, n);
    const K = (n: string) => fieldAt(EVERY, n);
    interface Case {
      name: string;
      type: string;
      file: string;
      edit: (b: Uint8Array) => Uint8Array | void;
      want: string;
      /** The TypeScript verifier disagrees (a known TS bug), so only C is checked. */
      tsDiffers?: boolean;
    }
    const cases: Case[] = [
      { name: 'shorter than the header', type: BOOK, file: 'market/book_full', edit: (b) => b.subarray(0, 10), want: 'TRUNCATED BookUpdate 0' },
      { name: 'total_size beyond the buffer', type: BOOK, file: 'market/book_full', edit: (b) => b.subarray(0, b.length - 8), want: 'TRUNCATED BookUpdate 8' },
      { name: 'another type id', type: BOOK, file: 'market/book_full', edit: (b) => void (b[0]! ^= 1), want: 'BAD_TYPE_ID BookUpdate 0' },
      { name: 'total_size not a multiple of 8', type: BOOK, file: 'market/book_full', edit: (b) => dv(b).setUint32(8, b.length - 4, true), want: 'BAD_HEADER BookUpdate 8' },
      { name: 'flags set', type: BOOK, file: 'market/book_full', edit: (b) => void (b[15] = 1), want: 'BAD_HEADER BookUpdate 15' },
      { name: 'version 0', type: BOOK, file: 'market/book_full', edit: (b) => void (b[14] = 0), want: 'BAD_HEADER BookUpdate 14' },
      { name: 'fixed_size below version 1', type: BOOK, file: 'market/book_full', edit: (b) => dv(b).setUint16(12, 48, true), want: 'BAD_HEADER BookUpdate 12' },
      { name: 'enum value not declared', type: BOOK, file: 'market/book_full', edit: (b) => void (b[F('side')] = 7), want: `BAD_ENUM BookUpdate.side ${F('side')}` },
      { name: 'reference offset at total_size', type: BOOK, file: 'market/book_full', edit: (b) => dv(b).setUint32(F('symbol'), b.length, true), want: `OUT_OF_BOUNDS BookUpdate.symbol ${F('symbol')}` },
      { name: 'reference offset not 8-aligned', type: BOOK, file: 'market/book_full', edit: (b) => dv(b).setUint32(F('symbol'), dv(b).getUint32(F('symbol'), true) + 1, true), want: `BAD_REF BookUpdate.symbol ${F('symbol')}` },
      { name: 'empty reference with an offset', type: BOOK, file: 'market/book_full', edit: (b) => dv(b).setUint32(F('venue') + 4, 0, true), want: `BAD_REF BookUpdate.venue ${F('venue')}` },
      { name: 'reference into the fixed part', type: BOOK, file: 'market/book_full', edit: (b) => dv(b).setUint32(F('venue'), 16, true), want: `OUT_OF_BOUNDS BookUpdate.venue ${F('venue')}` },
      { name: 'vector count that overflows 32 bits when multiplied', type: BOOK, file: 'market/book_full', edit: (b) => dv(b).setUint32(F('bids') + 4, 0x10000000, true), want: `OUT_OF_BOUNDS BookUpdate.bids ${F('bids')}` },
      { name: 'overlong UTF-8', type: BOOK, file: 'market/book_full', edit: (b) => b.set([0xc0, 0x80], element(b, F('symbol'), 0, 1)), want: `BAD_UTF8 BookUpdate.symbol ${F('symbol')}` },
      { name: 'UTF-8 surrogate', type: BOOK, file: 'market/book_full', edit: (b) => b.set([0xed, 0xa0, 0x80], element(b, F('symbol'), 0, 1)), want: `BAD_UTF8 BookUpdate.symbol ${F('symbol')}` },
      { name: 'bool = 2', type: EVERY, file: 'kitchen/everything_full', edit: (b) => void (b[K('b')] = 2), want: `BAD_BOOL Everything.b ${K('b')}` },
      { name: 'bool in an array of structs', type: EVERY, file: 'kitchen/everything_full', edit: (b) => void (b[K('corners') + 12 + 8] = 3), want: `BAD_BOOL Everything.corners[1].flag ${K('corners') + 20}` },
      { name: 'bool in a vector of structs', type: EVERY, file: 'kitchen/everything_full', edit: (b) => void (b[element(b, K('points'), 0, 12) + 8] = 2), want: 'BAD_BOOL Everything.points[0].flag' },
      { name: 'enum in a vector', type: EVERY, file: 'kitchen/everything_full', edit: (b) => void (b[element(b, K('colors'), 2, 1)] = 200), want: 'BAD_ENUM Everything.colors[2]' },
      { name: 'negative enum value not declared', type: EVERY, file: 'kitchen/everything_full', edit: (b) => dv(b).setInt16(K('level'), -2, true), want: `BAD_ENUM Everything.level ${K('level')}` },
      { name: 'union tag beyond the cases', type: EVERY, file: 'kitchen/everything_full', edit: (b) => dv(b).setUint32(K('payload'), 6, true), want: `BAD_UNION Everything.payload ${K('payload')}` },
      { name: 'union without a value but with an offset', type: EVERY, file: 'kitchen/everything_full', edit: (b) => dv(b).setUint32(K('payload'), 0, true), want: `BAD_UNION Everything.payload ${K('payload')}` },
      { name: 'union value beyond total_size', type: EVERY, file: 'kitchen/everything_full', edit: (b) => dv(b).setUint32(element(b, K('payloads'), 1, 8) + 4, b.length, true), want: 'OUT_OF_BOUNDS Everything.payloads[1].text' },
      { name: 'invalid UTF-8 in an optional string inside a vector of structs', type: EVERY, file: 'kitchen/everything_full', edit: (b) => void (b[element(b, element(b, K('people'), 1, 48) + 36, 0, 1)] = 0xff), want: 'BAD_UTF8 Everything.people[1].nick' },
      { name: 'string reference inside a union value', type: EVERY, file: 'kitchen/everything_full', edit: (b) => dv(b).setUint32(dv(b).getUint32(K('payload') + 4, true) + 16, 3, true), want: 'BAD_REF Everything.payload.named.name' },
      { name: 'element of a vector<bytes> beyond total_size', type: EVERY, file: 'kitchen/everything_full', edit: (b) => dv(b).setUint32(element(b, K('blobs'), 1, 8), 0xfffffff0, true), want: 'OUT_OF_BOUNDS Everything.blobs[1]', tsDiffers: true },
      { name: 'an absent optional field is not checked', type: EVERY, file: 'kitchen/everything_full', edit: (b) => { b[K('maybe_point') + 8] = 5; presence(b, EVERY, 'maybe_point', false); }, want: 'OK' },
      { name: 'a field newer than the writer is not checked', type: EVERY, file: 'kitchen/everything_full', edit: (b) => { b[14] = 1; presence(b, EVERY, 'added_text', true); dv(b).setUint32(K('added_text'), 3, true); }, want: 'OK' },
    ];
    it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
      const src = new Uint8Array(readFileSync(join(TESTDATA, `${c.file}.bin`)));
      const b = c.edit(src) ?? src;
      const r = run(`golden-${c.type.split('.')[0]}`, ['verify', c.type, scratch('hostile.bin', b)]);
      const got = r.text.trim();
      expect(got.split(' ').slice(0, c.want.split(' ').length).join(' '), got).toBe(c.want);
      if (!c.tsDiffers) {
        const ts = verify(tableFor(`${c.type.split('.')[0]}.isthmus`), c.type, b);
        expect(ts ? `${ts.code} ${ts.path} ${ts.offset}` : 'OK').toBe(got === 'OK' ? 'OK' : got.split(' ').slice(0, 3).join(' '));
      }
      // Error lines carry the bad value and say what is wrong.
      if (got !== 'OK') expect(got).toMatch(/^\S+ \S+ \d+ -?\d+: .+/);
    });

    for (const [schema, type, file] of [['market', BOOK, 'market/book_full'], ['kitchen', EVERY, 'kitchen/everything_full']] as const) {
      it(`${file}: C and TS report the same first error for 300 seeded mutations`, () => {
        const table = tableFor(`${schema}.isthmus`);
        const golden = readFileSync(join(TESTDATA, `${file}.bin`));
        let seed = 12345;
        const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), seed >>> 8);
        const seen = new Set<string>();
        for (let i = 0; i < 300; i++) {
          const b = new Uint8Array(golden);
          for (let k = 0; k < 1 + (rand() % 3); k++) b[rand() % b.length] = rand() & 0xff;
          const n = rand() % 8 === 0 ? rand() % b.length : b.length;
          const got = run(`golden-${schema}`, ['verify', type, scratch('mutant.bin', b.subarray(0, n))]).text.trim();
          const ts = verify(table, type, b.subarray(0, n));
          const want = ts ? `${ts.code} ${ts.path} ${ts.offset}` : 'OK';
          seen.add(got.split(' ')[0]!);
          expect(got.split(' ').slice(0, 3).join(' '), `mutation ${i}: ${got}`).toBe(want);
        }
        expect(seen.size).toBeGreaterThan(3);
      });
    }
  });

  describe('the JSON encoder rejects', () => {
    const bad: [string, string, string, string][] = [
      ['trailing text', 'market', '{"side":"bid"} x', 'ENCODE (json)'],
      ['a trailing comma', 'market', '{"side":"bid",}', 'ENCODE (json)'],
      ['a bad number', 'market', '{"side":"bid","instrument_id":01}', 'ENCODE (json)'],
      ['a lone surrogate', 'market', '{"side":"bid","symbol":"\\ud800"}', 'ENCODE (json)'],
      ['a raw control character', 'market', '{"side":"bid","symbol":"a\tb"}', 'ENCODE (json)'],
      ['a duplicate key', 'market', '{"side":"bid","side":"ask"}', 'ENCODE (json)'],
      ['an unknown field', 'market', '{"side":"bid","price":1}', 'ENCODE BookUpdate'],
      ['a missing enum without a zero value', 'market', '{}', 'ENCODE BookUpdate.side'],
      ['an undeclared enum name', 'market', '{"side":"mid"}', 'ENCODE BookUpdate.side'],
      ['u32 out of range', 'market', '{"side":"bid","instrument_id":4294967296}', 'ENCODE BookUpdate.instrument_id'],
      ['a fraction for an integer', 'market', '{"side":"bid","instrument_id":1.5}', 'ENCODE BookUpdate.instrument_id'],
      ['u64 beyond 2^64 - 1', 'market', '{"side":"bid","seq":"18446744073709551616"}', 'ENCODE BookUpdate.seq'],
      ['a negative u64', 'market', '{"side":"bid","seq":"-1"}', 'ENCODE BookUpdate.seq'],
      ['i64 below -2^63', 'kitchen', '{"wide":"small","i64v":"-9223372036854775809"}', 'ENCODE Everything.i64v'],
      ['a wrong type nested in a vector', 'market', '{"side":"bid","bids":[{"qty":true}]}', 'ENCODE BookUpdate.bids[0].qty'],
      ['base64 with padding inside', 'kitchen', '{"wide":"small","blob":"AA==AA=="}', 'ENCODE Everything.blob'],
      ['a fixed array that is too long', 'kitchen', '{"wide":"small","grid":[1,2,3,4]}', 'ENCODE Everything.grid'],
      ['a union with two keys', 'kitchen', '{"wide":"small","payload":{"text":"a","number":1}}', 'ENCODE Everything.payload'],
      ['an unknown union case', 'kitchen', '{"wide":"small","payload":{"nothing":1}}', 'ENCODE Everything.payload'],
    ];
    it.each(bad)('%s', (_n, schema, json, want) => {
      const type = schema === 'market' ? 'market.BookUpdate' : 'kitchen.Everything';
      const r = run(`golden-${schema}`, ['encode', type, scratch('bad.json', json)]);
      expect(r.status).toBe(1);
      expect(r.stdout.length).toBe(0);
      expect(r.stderr.startsWith(`${want}: `), r.stderr).toBe(true);
    });
  });

  describe('under ASan/UBSan', () => {
    const env = { ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0', UBSAN_OPTIONS: 'print_stacktrace=1' };
    for (const [schema, type, file] of [
      ['market', 'market.BookUpdate', 'market/book_full'],
      ['kitchen', 'kitchen.Everything', 'kitchen/everything_full'],
      ['kitchen', 'kitchen.Everything', 'kitchen/everything_sparse'],
    ] as const) {
      it(`${file}: 3000 random mutations are rejected or decode, and unverified reads stay in bounds`, () => {
        const r = run(`golden-asan-${schema}`, ['mutate', type, join(TESTDATA, `${file}.bin`), '3000', '7'], env);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        const [accepted, rejected] = r.text.split('\n')[0]!.split(' ').map(Number);
        expect(accepted! + rejected!).toBe(3000);
        expect(rejected).toBeGreaterThan(0);
      });
    }
    for (const file of ['market/book_full', 'kitchen/everything_full']) {
      it(`${file}: the generated accessors stay in bounds on 3000 unverified mutations`, () => {
        const r = run('accessors-asan', ['probe', join(TESTDATA, `${file}.bin`), '3000', '11'], env);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        expect(r.text).toContain('probed 3000');
      });
    }
  });
});
