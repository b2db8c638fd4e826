/**
 * Component tooling over the wasm-tools and js-component-bindgen builds bundled in
 * `@bytecodealliance/jco` (offline; no wasm-tools binary needed):
 *
 *   writeWitPackage  the WIT the schema compiler emits for a schema and its imports, laid
 *                    out as a resolvable package directory (<dir>/deps/<ns>/<ns>.wit)
 *   componentFromWat WAT core module + WIT world → component (embed + new)
 *   checkWit         resolve and encode WIT (a dummy component of the world): parse errors,
 *                    unknown types and component-model validation errors all throw
 *   transpileTo      jco transpile into a folder of ES modules
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { componentEmbed, componentNew, componentWit, parse, transpile } from '@bytecodealliance/jco';
import { _addPreopen as addPreopenAnyHost } from '@bytecodealliance/preview2-shim/filesystem';
import { EMITTERS, compileFile, type CompiledSchema } from '@isthmus/schema';

/**
 * The bundled wasm-tools is a WASI component: it reads a WIT path only through a preopen.
 * jco 1.35 with preview2-shim 0.26 sets none (so even its CLI `jco embed --wit` fails with
 * "No such file or directory"), and the guest's libc reads the preopen list once, at its
 * first file access: later preopens are never seen. So `/` is preopened as itself, once,
 * before the first call. A panic inside wasm-tools (such as that NotFound) poisons its
 * instance: every later call in the process fails with "cannot enter component instance".
 */
const _addPreopen = addPreopenAnyHost as unknown as (virtualPath: string, hostPath: string) => void;
_addPreopen('/', '/');
const preopen = (dir: string): string => resolve(dir);

/**
 * Writes `--emit wit` output for `schemaPath` and everything it imports under `dir`:
 * the schema's own package as `<dir>/deps/<file>/<file>.wit` (next to a world the caller
 * puts in `dir`), imports likewise. Returns the paths written.
 */
export function writeWitPackage(schemaPath: string, dir: string): string[] {
  const written: string[] = [];
  const seen = new Set<CompiledSchema>();
  const walk = (c: CompiledSchema): void => {
    if (seen.has(c)) return;
    seen.add(c);
    for (const f of EMITTERS.wit!(c)) {
      if (typeof f.contents !== 'string') throw new Error(`--emit wit produced binary ${f.path}`);
      const p = join(dir, 'deps', f.path.replace(/\.wit$/, ''), f.path);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, f.contents);
      written.push(p);
    }
    for (const i of c.imports) walk(i);
  };
  walk(compileFile(schemaPath));
  return written;
}

/** Builds a component from a hand-written WAT core module and the world `world` of the WIT folder `witDir`. */
export async function componentFromWat(watPath: string, witDir: string, world: string): Promise<Uint8Array> {
  const core = await parse(readFileSync(watPath, 'utf8'));
  const embedded = await componentEmbed({ binary: core, witPath: preopen(witDir), world });
  return componentNew(embedded);
}

/**
 * Resolves the WIT folder `witDir` and encodes world `world` as a component (a dummy core
 * module), which validates every type the world reaches. Returns the component's WIT.
 */
export async function checkWit(witDir: string, world: string): Promise<string> {
  const embedded = await componentEmbed({ dummy: true, witPath: preopen(witDir), world });
  return componentWit(await componentNew(embedded));
}

/** `jco transpile` of `component` into `outDir` as `<name>.js` (+ .d.ts, interfaces/). */
export async function transpileTo(component: Uint8Array, name: string, outDir: string): Promise<string> {
  const { files } = await transpile(component, { name, quiet: true });
  for (const [f, bytes] of Object.entries(files)) {
    const p = join(outDir, f);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, bytes);
  }
  return join(outDir, `${name}.js`);
}
