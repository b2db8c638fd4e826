/**
 * Builds the book-stats component and its JS bindings (run after `npx tsc -b`):
 *
 *   npx node wasm/component/build.ts [outDir]      (default wasm/component/build/)
 *
 * 1. <out>/wit/: wit/book-stats.wit plus deps/market/market.wit, which the schema
 *    compiler emits from schemas/market.isthmus (`--emit wit`; the same text as the
 *    golden schemas/generated/wit/market.wit).
 * 2. book_stats.wat → core module (bundled wasm-tools `parse`) → embed the world →
 *    component <out>/book-stats.wasm.
 * 3. jco transpile → <out>/js/book-stats.js, an ES module exporting notional, summarize
 *    and loweredLevels (plus .d.ts).
 */
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { componentFromWat, transpileTo, writeWitPackage } from './tools.ts';

const HERE = import.meta.dirname;
export const ROOT = resolve(HERE, '../..');
export const DEFAULT_OUT = join(HERE, 'build');

export interface BuiltComponent {
  readonly witDir: string;
  readonly wasm: string;
  /** The transpiled ES module (import it with `import(pathToFileURL(js).href)`). */
  readonly js: string;
  readonly bytes: number;
}

export async function buildBookStats(outDir = DEFAULT_OUT): Promise<BuiltComponent> {
  rmSync(outDir, { recursive: true, force: true });
  const witDir = join(outDir, 'wit');
  mkdirSync(witDir, { recursive: true });
  copyFileSync(join(HERE, 'wit', 'book-stats.wit'), join(witDir, 'book-stats.wit'));
  writeWitPackage(join(ROOT, 'schemas', 'market.isthmus'), witDir);
  const component = await componentFromWat(join(HERE, 'book_stats.wat'), witDir, 'book-stats');
  const wasm = join(outDir, 'book-stats.wasm');
  writeFileSync(wasm, component);
  const js = await transpileTo(component, 'book-stats', join(outDir, 'js'));
  return { witDir, wasm, js, bytes: component.length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const built = await buildBookStats(process.argv[2] ? resolve(process.argv[2]) : DEFAULT_OUT);
  console.log(`component ${built.wasm} (${built.bytes} bytes), bindings ${built.js}`);
}
