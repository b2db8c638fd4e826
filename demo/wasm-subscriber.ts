/**
 * The WASM participant of the Quick-start demo (a process of its own, started by
 * demo/run.ts): hosts the AssemblyScript subscriber module (wasm/as/demo/book_subscriber.ts,
 * compiled by demo/run.ts) on the channel `book`. @isthmus/sdk's WasmHost maps the
 * channel's region into the module's WebAssembly.Memory (mmap MAP_FIXED|MAP_SHARED over
 * the memory's own pages: no copy) and joins a subscriber slot for it; the module then
 * receives, verifies and prints `count` messages by itself, reading them in place.
 *
 *   node demo/wasm-subscriber.ts <module.wasm> <region file> <count>
 */
import { readFileSync } from 'node:fs';
import { WasmHost, type WasmModuleExports } from '@isthmus/sdk';

const [wasmPath, regionPath, count] = process.argv.slice(2) as [string, string, string];
interface Exports extends WasmModuleExports {
  attach(base: number, size: number, slot: number): number;
  run(n: number, timeoutMs: number): number;
}
/** The packages' TS lib has no WebAssembly types: the part used here. */
const WA = (globalThis as unknown as { WebAssembly: { instantiate(b: Uint8Array, i: object): Promise<{ instance: { exports: unknown } }> } }).WebAssembly;

const host = new WasmHost();
let ex: Exports | null = null;
const print = (ptr: number, len: number): void => {
  console.log(Buffer.from(ex!.memory.buffer, ptr, len).toString('utf8'));
};
const { instance } = await WA.instantiate(readFileSync(wasmPath), { ...host.imports, demo: { print } });
ex = instance.exports as Exports;
host.bind(ex);
const ch = await host.attach(regionPath, 'subscriber');
const rc = ex.attach(ch.offset, ch.size, ch.slot);
if (rc !== 0) throw new Error(`the module refused the region: attach returned ${rc}`);
console.log(`WASM subscriber (pid ${process.pid}) joined slot ${ch.slot}: the ${ch.size}-byte region is mapped at linear-memory offset 0x${ch.offset.toString(16)}`);
const got = ex.run(Number(count), 10_000);
ch.close();
console.log('WASM subscriber left the channel');
process.exit(got === Number(count) ? 0 : 1);
