/** The emitters `isthmus compile --emit` knows, one module each under emit/. */
import type { CompiledSchema } from './compile.js';
import type { EmittedFile } from './emit/common.js';
import { emitAssemblyScript } from './emit/assemblyscript.js';
import { emitC } from './emit/c.js';
import { emitJson } from './emit/json.js';
import { emitTs } from './emit/ts.js';
import { emitWasmGc } from './emit/wasmgc.js';
import { emitWit } from './emit/wit.js';

export const EMITTERS: Record<string, (c: CompiledSchema) => EmittedFile[]> = {
  ts: emitTs,
  c: emitC,
  json: emitJson,
  'wasm-gc': emitWasmGc,
  assemblyscript: emitAssemblyScript,
  wit: emitWit,
};
