/**
 * The loader never crashes its host: a missing or broken addon is a catchable Error that
 * says what to do (ISTHMUS_NATIVE_ADDON points the loader at another file).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { node, PKG, tempDir } from './helpers.ts';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

const PROBE = `
import * as n from ${JSON.stringify(join(PKG, 'dist', 'index.js'))};
const err = n.loadError();
let thrown = null;
try { n.createMemfd('x', 4096); } catch (e) { thrown = e; }
console.log(JSON.stringify({ available: n.available(), message: err && err.message, code: err && err.code,
  same: thrown === err, path: n.addonPath() }));
`;

async function probe(addon: string) {
  const r = await node(['--input-type=module', '-e', PROBE], { ISTHMUS_NATIVE_ADDON: addon });
  expect(r.signal).toBeNull();
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as { available: boolean; message: string; code: string; same: boolean; path: string };
}

describe('loader', () => {
  it('explains a missing addon and what to do, without crashing', async () => {
    const absent = join(tmp.dir, 'nowhere', 'isthmus.node');
    const out = await probe(absent);
    expect(out.available).toBe(false);
    expect(out.path).toBe(absent);
    expect(out.code).toBe('ISTHMUS_NATIVE_UNAVAILABLE');
    expect(out.same).toBe(true);
    expect(out.message).toContain(absent);
    expect(out.message).toContain('not built');
    expect(out.message).toContain('npm run build:native');
    expect(out.message).toContain('apt-get install cmake g++');
  });

  it('explains an addon that fails to load', async () => {
    const broken = join(tmp.dir, 'broken.node');
    writeFileSync(broken, 'not an ELF file');
    const out = await probe(broken);
    expect(out.available).toBe(false);
    expect(out.message).toContain('failed to load');
    expect(out.message).toContain(broken);
  });
});
