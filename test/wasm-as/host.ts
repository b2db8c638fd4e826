/**
 * Child process of test/wasm-as.test.ts: hosts an AS test module (wasm/as/test/*.ts,
 * compiled to wasm/as/build/) on one channel region and runs it.
 *   node test/wasm-as/host.ts <module.wasm> <region path> <role> <count>
 * Prints "ready" once attached, then "RESULT <json>" (the module's run() result).
 */
import { readFileSync } from 'node:fs';
import { WasmHost, type WasmModuleExports } from '@isthmus/sdk';

const [wasmPath, path, role, count] = process.argv.slice(2) as [string, string, 'subscriber' | 'publisher' | 'consumer', string];
interface Exports extends WasmModuleExports {
  attach(base: number, size: number, slot: number): number;
  run(n: number, timeoutMs: number): bigint;
  checksum?(): bigint;
  recovered?(): number;
  lost?(): number;
  tailCount?(): number;
  error?(): number;
}
/** The package TS lib has no WebAssembly types: the part used here. */
const WA = (globalThis as unknown as { WebAssembly: { instantiate(b: Uint8Array, i: object): Promise<{ instance: { exports: unknown } }>; Memory: { new (d: { initial: number; maximum?: number; shared?: boolean }): { buffer: ArrayBuffer; grow(n: number): number }; prototype: object } } }).WebAssembly;
const host = new WasmHost();
const { instance } = await WA.instantiate(readFileSync(wasmPath), host.imports);
const ex = instance.exports as unknown as Exports;
host.bind(ex);
const ch = await host.attach(path, role);
const rc = ex.attach(ch.offset, ch.size, ch.slot);
if (rc !== 0) throw new Error(`module attach failed: ${rc}`);
console.log('ready');
const got = ex.run(Number(count), 10_000);
const str = (p: number): string => {
  const n = new Uint32Array(ex.memory.buffer, p - 4, 1)[0]!;
  return String.fromCharCode(...new Uint16Array(ex.memory.buffer, p, n / 2));
};
console.log(`RESULT ${JSON.stringify({ run: Number(got), checksum: ex.checksum ? String(ex.checksum()) : null, error: ex.error ? str(ex.error()) : null, recovered: ex.recovered ? ex.recovered() : null, lost: ex.lost ? ex.lost() : null, tailCount: ex.tailCount ? ex.tailCount() : null, offset: ch.offset, slot: ch.slot })}`);
ch.close();
