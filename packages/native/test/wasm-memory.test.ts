/**
 * mapIntoMemory: a region file mapped into a WebAssembly.Memory's own pages. Real shared
 * memory: a child process writes the file and this process reads it through the wasm
 * memory (and the reverse); growth, shared memories, alignment, overlap and close.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { native, node, tempDir, withAddon } from './helpers.ts';

const { dir, cleanup } = tempDir();
afterAll(cleanup);
let n = 0;
const file = (size: number) => native.createFile(join(dir, `r${n++}`), size);
const PAGE = 65536;
/** The package TS lib has no WebAssembly types: the part used here. */
const WA = (globalThis as unknown as { WebAssembly: { instantiate(b: Uint8Array, i: object): Promise<{ instance: { exports: unknown } }>; Memory: { new (d: { initial: number; maximum?: number; shared?: boolean }): { buffer: ArrayBuffer; grow(n: number): number }; prototype: object } } }).WebAssembly;

// A child that opens the file, waits for word 0 to become 1 (written by the parent through
// the wasm memory), then writes 0xC0FFEE at byte 8 and 2 into word 0.
const CHILD = join(dir, 'child.mjs');
writeFileSync(CHILD, `
import { openFile } from ${JSON.stringify(join(import.meta.dirname, '..', 'dist', 'index.js'))};
const r = openFile(process.argv[2]);
const i32 = new Int32Array(r.buffer);
const t0 = Date.now();
while (Atomics.load(i32, 0) !== 1) if (Date.now() - t0 > 10000) { console.log('timeout'); process.exit(3); }
Atomics.store(i32, 2, 0xC0FFEE);
Atomics.store(i32, 0, 2);
console.log('done');
`);

withAddon('mapIntoMemory', () => {
  it('maps a region into the memory: another process sees writes both ways', async () => {
    const r = file(10000);
    const mem = new WA.Memory({ initial: 4, maximum: 64 });
    const m = native.mapIntoMemory(mem, PAGE, r);
    expect(m.window).toBe(PAGE);
    expect(m.shared).toBe(false);
    const w = new Int32Array(mem.buffer, PAGE, 4);
    const child = node([CHILD, r.path!]);
    Atomics.store(w, 0, 1);
    const t0 = Date.now();
    while (Atomics.load(w, 0) !== 2 && Date.now() - t0 < 15000) await new Promise((res) => setTimeout(res, 5));
    const out = await child;
    expect(out.stdout.trim()).toBe('done');
    expect(Atomics.load(w, 2)).toBe(0xc0ffee);
    expect(new Int32Array(r.buffer)[2]).toBe(0xc0ffee);
    // Past the file's last page the window is zero pages (no SIGBUS, no stale bytes).
    expect(new Uint8Array(mem.buffer, PAGE + 12288, PAGE - 12288).every((b) => b === 0)).toBe(true);
    m.close();
  });

  it('survives memory.grow and keeps its address', () => {
    const r = file(3 * PAGE);
    const mem = new WA.Memory({ initial: 5, maximum: 1000 });
    const before = native.memoryBase(mem);
    const m = native.mapIntoMemory(mem, 2 * PAGE, r);
    new Uint32Array(r.buffer)[100] = 0xabcdef;
    mem.grow(300);
    expect(native.memoryBase(mem)).toBe(before);
    expect(new Uint32Array(mem.buffer, 2 * PAGE)[100]).toBe(0xabcdef);
    new Uint32Array(mem.buffer, 2 * PAGE)[101] = 77;
    expect(new Uint32Array(r.buffer)[101]).toBe(77);
    m.close();
  });

  it('supports shared memories (the mapping is one address range for every agent)', () => {
    const r = file(PAGE);
    const mem = new WA.Memory({ initial: 2, maximum: 32, shared: true });
    expect(mem.buffer).toBeInstanceOf(SharedArrayBuffer);
    const m = native.mapIntoMemory(mem, PAGE, r);
    expect(m.shared).toBe(true);
    Atomics.store(new Int32Array(r.buffer), 5, 1234);
    mem.grow(10);
    expect(Atomics.load(new Int32Array(mem.buffer, PAGE), 5)).toBe(1234);
    m.close();
    expect(Atomics.load(new Int32Array(mem.buffer, PAGE), 5)).toBe(0);
  });

  it('refuses unaligned offsets, windows past the current size and overlaps, naming the values', () => {
    const r = file(PAGE + 1);
    const mem = new WA.Memory({ initial: 3, maximum: 10 });
    expect(() => native.mapIntoMemory(mem, 4096, r)).toThrow(/multiple of 65536, got 4096/);
    // PAGE + 1 bytes round up to a 2-page window: at page 2 it ends at 4 pages > 3.
    expect(() => native.mapIntoMemory(mem, 2 * PAGE, r)).toThrow(/\[131072, 262144\).*current 196608 bytes/);
    const m = native.mapIntoMemory(mem, 0, r);
    expect(m.window).toBe(2 * PAGE);
    const r2 = file(PAGE);
    expect(() => native.mapIntoMemory(mem, PAGE, r2)).toThrow(/overlaps the mapped window \[0, 131072\)/);
    mem.grow(2);
    const m2 = native.mapIntoMemory(mem, 2 * PAGE, r2);
    expect(native.mappingsOf(mem)).toHaveLength(2);
    m.close();
    m2.close();
    expect(native.mappingsOf(mem)).toHaveLength(0);
  });

  it('refuses what is not a WebAssembly.Memory, also at the addon (brand check)', () => {
    const r = file(PAGE);
    expect(() => native.mapIntoMemory({ buffer: new ArrayBuffer(4 * PAGE) } as never, 0, r)).toThrow(TypeError);
    // Bypass the TS check: the addon calls the real Memory.prototype.buffer getter.
    const fake = Object.create(WA.Memory.prototype) as InstanceType<typeof WA.Memory>;
    expect(() => native.mapIntoMemory(fake, 0, r)).toThrow(TypeError);
  });

  it('close() gives zero pages back, is idempotent, and closing the region while mapped is safe', () => {
    const r = file(PAGE);
    const mem = new WA.Memory({ initial: 2 });
    const view = () => new Uint32Array(mem.buffer, PAGE, 16);
    const m = native.mapIntoMemory(mem, PAGE, r);
    view()[0] = 42;
    r.close(); // the fd goes; the mapping holds the file
    expect(view()[0]).toBe(42);
    view()[1] = 43;
    expect(new Uint32Array(r.buffer)[1]).toBe(43);
    m.close();
    expect(m.closed).toBe(true);
    expect(view()[0]).toBe(0);
    view()[0] = 9; // private again: the file keeps its bytes
    expect(new Uint32Array(r.buffer)[0]).toBe(42);
    expect(() => m.close()).not.toThrow();
    expect(view()[0]).toBe(9);
    // A closed region can not be mapped.
    expect(() => native.mapIntoMemory(mem, PAGE, r)).toThrow(/region is closed \(fd -1\)/);
  });
});
