// The WASM subscriber's process: instantiates gen/subscriber.wasm in Node and hosts it
// on the channel. WasmHost (@isthmus/sdk) maps the channel's region into the module's
// WebAssembly.Memory (no copy) and joins a subscriber slot for it; the module then
// receives and prints <count> Orders by itself.
//
//   node host.ts <module.wasm> <region file> <count>
import { WasmHost, type WasmModuleExports } from '@isthmus/sdk';
import { readFileSync } from 'node:fs';

interface Exports extends WasmModuleExports {
  attach(base: number, size: number, slot: number): number;
  run(n: number, timeoutMs: number): number;
}
const [wasmPath, regionPath, count] = process.argv.slice(2) as [string, string, string];

const host = new WasmHost();
let ex: Exports | null = null;
const print = (ptr: number, len: number): void => console.log(Buffer.from(ex!.memory.buffer, ptr, len).toString('utf8'));
const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), { ...host.imports, example: { print } });
ex = instance.exports as unknown as Exports;
host.bind(ex);

const ch = await host.attach(regionPath, 'subscriber');
if (ex.attach(ch.offset, ch.size, ch.slot) !== 0) throw new Error('the module refused the region');
console.log(`WASM subscriber (pid ${process.pid}) joined channel "orders": its ${ch.size}-byte region is mapped at 0x${ch.offset.toString(16)} in the module's memory`);
const got = ex.run(Number(count), 10_000);
ch.close();
console.log(`WASM subscriber left after ${got} orders`);
process.exitCode = got === Number(count) ? 0 : 1;
