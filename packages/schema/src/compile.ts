/**
 * The pipeline: read → parse → resolve → layout. Imports are loaded relative to the
 * importing file. Any error anywhere stops the pipeline after the current phase, and all
 * diagnostics of that phase are thrown together in one CompileError.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { SchemaLayout, TypeLayout } from '@isthmus/runtime';
import { Reporter, SourceFile, type Span } from './diagnostics.js';
import type { IrSchema } from './ir.js';
import { LayoutContext } from './layout.js';
import { parse } from './parser.js';
import { resolveSchema, type Scope } from './resolve.js';

export interface CompileHost {
  readFile(path: string): string;
}

const fsHost: CompileHost = { readFile: (p) => readFileSync(p, 'utf8') };

export interface CompiledSchema {
  /** Path as given (or as reached through imports). */
  readonly path: string;
  readonly layout: SchemaLayout;
  /** Direct imports, compiled. */
  readonly imports: readonly CompiledSchema[];
}

/** Compiles one schema file and everything it imports. Throws CompileError. */
export function compileFile(path: string, host: CompileHost = fsHost): CompiledSchema {
  const report = new Reporter();
  const ctx = new LayoutContext(report);
  const done = new Map<string, { ir: IrSchema; scope: Scope; compiled?: CompiledSchema }>();
  const loading: string[] = [];
  const paths = new Map<IrSchema, string>();

  const load = (p: string, from?: Span): { ir: IrSchema; scope: Scope } | undefined => {
    const hit = done.get(p);
    if (hit) return hit;
    if (loading.includes(p)) {
      report.error(from!, `import cycle: ${[...loading.slice(loading.indexOf(p)), p].join(' → ')}`);
      return undefined;
    }
    let text: string;
    try {
      text = host.readFile(p);
    } catch (e) {
      if (from) report.error(from, `can not read imported file '${p}': ${(e as Error).message}`);
      else report.error({ file: new SourceFile(p, ''), start: 0, end: 0 }, `can not read schema: ${(e as Error).message}`);
      return undefined;
    }
    loading.push(p);
    const file = new SourceFile(p, text);
    const ast = parse(file, report);
    const imports: IrSchema[] = [];
    const importFiles: string[] = [];
    const scope: Scope = new Map();
    const dir = dirname(p);
    for (const imp of ast.imports) {
      const dep = load(join(dir, imp.path), imp.span);
      if (!dep) continue;
      imports.push(dep.ir);
      importFiles.push(imp.path);
      paths.set(dep.ir, join(dir, imp.path));
      for (const [k, v] of dep.scope) if (k.includes('.') || !dep.ir.namespace) scope.set(k, v);
    }
    loading.pop();
    const resolved = resolveSchema(basename(p), ast, imports, importFiles, scope, report);
    // Only fully qualified names travel to importers.
    const exported: Scope = new Map([...resolved.scope].filter(([k]) => k.includes('.')));
    const entry = { ir: resolved.ir, scope: exported };
    done.set(p, entry);
    return entry;
  };

  const root = load(path);
  report.throwIfErrors();

  const layouts = new Map<IrSchema, CompiledSchema>();
  const build = (ir: IrSchema, p: string): CompiledSchema => {
    const hit = layouts.get(ir);
    if (hit) return hit;
    const imports = ir.imports.map((i) => build(i, paths.get(i)!));
    const compiled = { path: p, layout: ctx.schema(ir), imports };
    layouts.set(ir, compiled);
    return compiled;
  };
  const out = build(root!.ir, path);
  report.throwIfErrors();
  return out;
}

/** Every type visible to a compiled schema (its own and all imported), by full name. */
export function typeTable(c: CompiledSchema): Map<string, TypeLayout> {
  const out = new Map<string, TypeLayout>();
  const walk = (s: CompiledSchema): void => {
    for (const i of s.imports) walk(i);
    for (const t of s.layout.types) out.set(t.fullName, t);
  };
  walk(c);
  return out;
}
