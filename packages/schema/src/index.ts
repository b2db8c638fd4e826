/**
 * @isthmus/schema: the Isthmus schema compiler.
 *
 * ```ts
 * import { compileFile, emitTs } from '@isthmus/schema';
 * const schema = compileFile('schemas/market.isthmus');   // throws CompileError with diagnostics
 * for (const f of emitTs(schema)) console.log(f.path);
 * ```
 */
export { compileFile, typeTable, type CompiledSchema, type CompileHost } from './compile.js';
export { CompileError, formatDiagnostic, type Diagnostic } from './diagnostics.js';
export { checkCompatibility, type Breakage } from './check.js';
export { EMITTERS } from './emitters.js';
export { emitTs } from './emit/ts.js';
export { emitJson } from './emit/json.js';
export { emitC, cName } from './emit/c.js';
export type { EmittedFile } from './emit/common.js';
export { fnv1a64 } from './hash.js';
export { main, USAGE_LINES } from './cli.js';
