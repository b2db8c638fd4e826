/**
 * The loader never crashes its host: a missing or broken addon is a catchable Error that
 * says what to do (ISTHMUS_NATIVE_ADDON points the loader at another file).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native, node, PKG, tempDir } from './helpers.ts';

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
    expect(out.message).toContain('does not exist');
    expect(out.message).toContain('npx isthmus-build-native');
    expect(out.message).toContain('apt-get install cmake g++');
  });

  it('explains an addon that fails to load', async () => {
    const broken = join(tmp.dir, 'broken.node');
    writeFileSync(broken, 'not an ELF file');
    const out = await probe(broken);
    expect(out.available).toBe(false);
    expect(out.message).toContain('cannot be loaded: it is not an ELF shared object (it starts with "not an E")');
    expect(out.message).toContain(broken);
  });

  it('refuses an addon built for another machine before the dynamic loader sees it', async () => {
    const real = native.addonPath();
    const foreign = join(tmp.dir, 'arm64.node');
    const bytes = readFileSync(real);
    bytes.writeUInt16LE(183, 18); // e_machine: EM_AARCH64
    writeFileSync(foreign, bytes);
    const out = await probe(foreign);
    expect(out.available).toBe(false);
    expect(out.code).toBe('ISTHMUS_NATIVE_UNAVAILABLE');
    expect(out.message).toContain(`${foreign} cannot be loaded: it was built for arm64 (64-bit little-endian), but this Node is linux-x64`);
  });

  it('explains a truncated addon (an ELF header, then nothing) without crashing', async () => {
    const cut = join(tmp.dir, 'truncated.node');
    writeFileSync(cut, readFileSync(native.addonPath()).subarray(0, 4096));
    const out = await probe(cut);
    expect(out.available).toBe(false);
    expect(out.message).toContain(`${cut} cannot be loaded: it is truncated or damaged: the section header table ends at byte `);
  });

  it('refuses an addon whose bytes differ from its .sha256 (any damage, even one the header check misses)', async () => {
    const real = readFileSync(native.addonPath());
    const flipped = join(tmp.dir, 'flipped.node');
    const bytes = Buffer.from(real);
    bytes[bytes.length >> 1]! ^= 0xff;
    writeFileSync(flipped, bytes);
    writeFileSync(`${flipped}.sha256`, `${createHash('sha256').update(real).digest('hex')}  isthmus.node\n`);
    const out = await probe(flipped);
    expect(out.available).toBe(false);
    expect(out.message).toMatch(/cannot be loaded: its SHA-256 is [0-9a-f]{64}, but .*flipped\.node\.sha256 says [0-9a-f]{64} \(the file is damaged or was replaced\)/);
  });
});
