import { compileFile, type CompiledSchema } from '../src/compile.js';

/** Compiles in-memory sources; the first file is the root. */
export function compileSource(files: Record<string, string>): CompiledSchema {
  const names = Object.keys(files);
  return compileFile(names[0]!, {
    readFile: (p) => {
      const hit = files[p.replace(/^\.\//, '')];
      if (hit === undefined) throw new Error(`ENOENT: no such file '${p}'`);
      return hit;
    },
  });
}

/** Compiles and returns the formatted diagnostics (or '' when it compiled). */
export function diagnostics(files: Record<string, string>): string {
  try {
    compileSource(files);
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}
