/** `--emit json`: the resolved layout descriptor, as the machine-readable contract. */
import type { CompiledSchema } from '../compile.js';
import { outputName, type EmittedFile } from './common.js';

export function emitJson(c: CompiledSchema): EmittedFile[] {
  return [{ path: outputName(c.layout.file, '.layout.json'), contents: JSON.stringify(c.layout, null, 2) + '\n' }];
}
