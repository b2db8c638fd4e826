/** Placeholder: being written. */
import type { CompiledSchema } from '../compile.js';
import type { EmittedFile } from './common.js';

export function emitAssemblyScript(_c: CompiledSchema): EmittedFile[] {
  return [];
}
