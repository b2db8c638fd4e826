/**
 * Name resolution and attribute checking: AST → IR. Reports every problem it finds and
 * returns a best-effort IR; the pipeline stops before layout if anything was reported.
 */
import type { EnumBase, ScalarName } from '@isthmus/runtime';
import type { Attribute, Decl, SchemaAst, TypeExpr } from './ast.js';
import type { Reporter, Span } from './diagnostics.js';
import type { IrField, IrSchema, IrType, IrTypeRef } from './ir.js';

const SCALARS = new Set<string>(['bool', 'u8', 'u16', 'u32', 'u64', 'i8', 'i16', 'i32', 'i64', 'f32', 'f64']);
const ENUM_BASES: Record<EnumBase, [bigint, bigint]> = {
  u8: [0n, 0xffn], u16: [0n, 0xffffn], u32: [0n, 0xffffffffn],
  i8: [-0x80n, 0x7fn], i16: [-0x8000n, 0x7fffn], i32: [-0x80000000n, 0x7fffffffn],
};
const ATTRS_FOR: Record<string, readonly string[]> = {
  message: ['id', 'deprecated'],
  struct: ['deprecated'],
  enum: ['deprecated'],
  union: ['deprecated'],
  messageField: ['since', 'deprecated'],
  structField: ['deprecated'],
  enumValue: ['deprecated'],
};

/** Declarations visible to a file: its own and those of the files it imports. */
export type Scope = Map<string, { decl: Decl; fullName: string }>;

export function resolveSchema(file: string, ast: SchemaAst, imports: readonly IrSchema[], importFiles: readonly string[], importedScope: Scope, report: Reporter): { ir: IrSchema; scope: Scope } {
  const ns = ast.namespace?.name ?? '';
  if (!ast.namespace) {
    const first = ast.decls[0]?.span ?? ast.imports[0]?.span;
    if (first) report.error(first, `missing 'namespace <name>;' declaration`);
  }
  const scope: Scope = new Map(importedScope);
  const own: Scope = new Map();
  for (const d of ast.decls) {
    const fullName = ns ? `${ns}.${d.name}` : d.name;
    if (SCALARS.has(d.name) || d.name === 'string' || d.name === 'bytes' || d.name === 'vector') {
      report.error(d.span, `'${d.name}' is a built-in type name and can not be declared`);
      continue;
    }
    const prev = own.get(d.name);
    if (prev) {
      report.error(d.span, `'${d.name}' is already declared (as a ${prev.decl.kind})`);
      continue;
    }
    own.set(d.name, { decl: d, fullName });
    scope.set(fullName, { decl: d, fullName });
  }

  const lookup = (name: string, span: Span): { decl: Decl; fullName: string } | undefined => {
    const hit = own.get(name) ?? scope.get(name);
    if (!hit) report.error(span, `unknown type '${name}'${suggest(name, [...own.keys(), ...scope.keys()])}`);
    return hit;
  };

  const typeRef = (t: TypeExpr, where: 'field' | 'element' | 'case'): IrTypeRef | undefined => {
    switch (t.kind) {
      case 'array': {
        const element = typeRef(t.element, 'element');
        if (t.length < 1n || t.length > 65535n) {
          report.error(t.span, `array length must be between 1 and 65535, got ${t.length}`);
          return undefined;
        }
        return element && { kind: 'array', element, length: Number(t.length) };
      }
      case 'vector': {
        const element = typeRef(t.element, 'element');
        return element && { kind: 'vector', element };
      }
      case 'named': {
        if (SCALARS.has(t.name)) return { kind: 'scalar', scalar: t.name as ScalarName };
        if (t.name === 'string') return { kind: 'string' };
        if (t.name === 'bytes') return { kind: 'bytes' };
        const hit = lookup(t.name, t.span);
        if (!hit) return undefined;
        if (hit.decl.kind === 'message') {
          report.error(t.span, `message '${t.name}' can not be embedded; only structs, enums and unions can be used as ${where === 'field' ? 'field' : where} types`);
          return undefined;
        }
        if (hit.decl.kind === 'union' && where === 'case') {
          report.error(t.span, `a union case can not itself be a union ('${t.name}')`);
          return undefined;
        }
        return { kind: hit.decl.kind, name: hit.fullName };
      }
    }
  };

  const types: IrType[] = [];
  for (const d of ast.decls) {
    if (own.get(d.name)?.decl !== d) continue;
    const fullName = own.get(d.name)!.fullName;
    checkAttrs(d.attrs, ATTRS_FOR[d.kind]!, `a ${d.kind}`, report);
    if (d.kind === 'struct' || d.kind === 'message') {
      const fields: IrField[] = [];
      const names = new Set<string>();
      let lastSince = 1;
      if (d.kind === 'struct' && d.fields.length === 0) report.error(d.span, `struct '${d.name}' has no fields; a struct needs at least one`);
      for (const f of d.fields) {
        checkAttrs(f.attrs, ATTRS_FOR[d.kind === 'message' ? 'messageField' : 'structField']!, d.kind === 'message' ? 'a message field' : 'a struct field (structs are frozen; only message fields take @since)', report);
        if (names.has(f.name)) report.error(f.span, `field '${f.name}' is declared twice in '${d.name}'`);
        checkName(f.name, f.span, 'field', report);
        if (f.optional && f.type.kind === 'named' && own.get(f.type.name)?.decl.kind === 'union') report.error(f.span, `union field '${f.name}' can not be optional: a union already has an empty state (tag 0)`);
        names.add(f.name);
        let since = 1;
        const s = attr(f.attrs, 'since');
        if (s) {
          const v = intArg(s, report);
          if (v !== undefined && (v < 1n || v > 255n)) report.error(s.span, `@since must be between 1 and 255, got ${v}`);
          else if (v !== undefined) since = Number(v);
          if (since < lastSince) report.error(s.span, `field '${f.name}' has @since(${since}) after a field with @since(${lastSince}); fields are appended in version order`);
        } else if (lastSince > 1) {
          report.error(f.span, `field '${f.name}' follows a field with @since(${lastSince}) but has no @since; new fields go at the end with @since(N ≥ ${lastSince})`);
        }
        lastSince = Math.max(lastSince, since);
        const type = typeRef(f.type, 'field');
        if (type) fields.push({ name: f.name, type, optional: f.optional, since, deprecated: !!attr(f.attrs, 'deprecated'), doc: f.doc, span: f.span });
      }
      for (const f of d.fields) {
        const m = /^(has|set|init)_(.+)$/.exec(f.name);
        if (m && names.has(m[2]!)) report.error(f.span, `field '${f.name}' collides with the ${m[1]}_ accessor generated for field '${m[2]}'`);
      }
      let id: bigint | undefined;
      const idAttr = attr(d.attrs, 'id');
      if (idAttr) {
        const v = intArg(idAttr, report);
        if (v !== undefined && (v < 0n || v >= 1n << 64n)) report.error(idAttr.span, `@id must fit in 64 unsigned bits, got ${v}`);
        else id = v;
      }
      types.push({ kind: d.kind, name: d.name, fullName, fields, id, doc: d.doc, span: d.span });
    } else if (d.kind === 'enum') {
      let base: EnumBase = 'u32';
      if (!d.base) report.error(d.span, `enum '${d.name}' needs an underlying type, e.g. 'enum ${d.name} : u8 { … }'`);
      else if (!(d.base.name in ENUM_BASES)) report.error(d.base.span, `enum underlying type must be one of ${Object.keys(ENUM_BASES).join(', ')}, got '${d.base.name}'`);
      else base = d.base.name as EnumBase;
      const [lo, hi] = ENUM_BASES[base];
      const values: { name: string; value: number; deprecated: boolean; doc?: string }[] = [];
      const byName = new Set<string>();
      const byValue = new Map<bigint, string>();
      let next = 0n;
      if (d.values.length === 0) report.error(d.span, `enum '${d.name}' has no values`);
      for (const v of d.values) {
        checkAttrs(v.attrs, ATTRS_FOR.enumValue!, 'an enum value', report);
        const value = v.value ?? next;
        next = value + 1n;
        if (byName.has(v.name)) report.error(v.span, `enum value '${v.name}' is declared twice in '${d.name}'`);
        else if (value < lo || value > hi) report.error(v.span, `enum value '${v.name}' = ${value} does not fit in ${base} (${lo}..${hi})`);
        else if (byValue.has(value)) report.error(v.span, `enum value '${v.name}' = ${value} repeats the value of '${byValue.get(value)}'`);
        byName.add(v.name);
        byValue.set(value, v.name);
        values.push({ name: v.name, value: Number(value), deprecated: !!attr(v.attrs, 'deprecated'), doc: v.doc });
      }
      types.push({ kind: 'enum', name: d.name, fullName, base, values, doc: d.doc, span: d.span });
    } else if (d.kind === 'union') {
      const cases: { name: string; type: IrTypeRef; doc?: string }[] = [];
      const names = new Set<string>();
      if (d.cases.length === 0) report.error(d.span, `union '${d.name}' has no cases`);
      for (const c of d.cases) {
        if (names.has(c.name)) report.error(c.span, `case '${c.name}' is declared twice in '${d.name}'`);
        checkName(c.name, c.span, 'union case', report);
        if (c.name === 'tag' || c.name === 'kind') report.error(c.span, `'${c.name}' is reserved in unions (views use it for the active case)`);
        names.add(c.name);
        const type = typeRef(c.type, 'case');
        if (type) cases.push({ name: c.name, type, doc: c.doc });
      }
      types.push({ kind: 'union', name: d.name, fullName, cases, doc: d.doc, span: d.span });
    }
  }
  return { ir: { file, namespace: ns, imports, importFiles, types }, scope };
}

/**
 * Names that generated code can not use as members: the accessors every view has, and
 * C/C++ and TypeScript keywords that can not be struct members or property names in all
 * target languages. Names starting with '_' are reserved for the generated code itself.
 */
const RESERVED = new Set([
  'wrap', 'build', 'builder', 'builder_init', 'fixed', 'finish', 'verify', 'toJSON', 'bytes', 'version', 'typeId', 'byteLength', 'byteOffset', 'constructor', 'prototype',
  'auto', 'break', 'case', 'char', 'const', 'continue', 'default', 'do', 'double', 'else', 'enum', 'extern', 'float', 'for', 'goto', 'if', 'inline',
  'int', 'long', 'register', 'restrict', 'return', 'short', 'signed', 'sizeof', 'static', 'struct', 'switch', 'typedef', 'union', 'unsigned', 'void',
  'volatile', 'while', 'bool', 'true', 'false', 'class', 'delete', 'new', 'this', 'template', 'typename', 'namespace', 'operator', 'private',
  'protected', 'public', 'virtual', 'friend', 'mutable', 'explicit', 'throw', 'try', 'catch', 'nullptr', 'and', 'or', 'not', 'xor',
]);

function checkName(name: string, span: Span, what: string, report: Reporter): void {
  if (name.startsWith('_')) report.error(span, `${what} name '${name}' starts with '_', which generated code reserves`);
  else if (RESERVED.has(name)) report.error(span, `${what} name '${name}' is reserved (a keyword in a target language or a member every view has)`);
}

function attr(attrs: readonly Attribute[], name: string): Attribute | undefined {
  return attrs.find((a) => a.name === name);
}

function intArg(a: Attribute, report: Reporter): bigint | undefined {
  const v = a.args[0];
  if (a.args.length !== 1 || typeof v !== 'bigint') {
    report.error(a.span, `@${a.name} takes one integer argument`);
    return undefined;
  }
  return v;
}

function checkAttrs(attrs: readonly Attribute[], allowed: readonly string[], what: string, report: Reporter): void {
  const seen = new Set<string>();
  for (const a of attrs) {
    if (seen.has(a.name)) report.error(a.span, `@${a.name} is given twice`);
    seen.add(a.name);
    if (!allowed.includes(a.name)) {
      const known = ['id', 'since', 'deprecated'].includes(a.name);
      report.error(a.span, known ? `@${a.name} is not allowed on ${what}` : `unknown attribute @${a.name}; known: @id, @since, @deprecated`);
    } else if (a.name === 'deprecated' && a.args.length) report.error(a.span, '@deprecated takes no arguments');
  }
}

function suggest(name: string, candidates: string[]): string {
  let best: string | undefined;
  let bestD = 3;
  for (const c of new Set([...candidates, ...SCALARS, 'string', 'bytes'])) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best ? `; did you mean '${best}'?` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
