/**
 * `--emit wit`: one WIT package per schema (docs/layout.md §9, Component model canonical
 * ABI; docs/wasm.md, Components), for components that take or return Isthmus values.
 *
 * Output: `<schema>.wit` holding `package isthmus:<namespace>;` and one `interface types`
 * with a type per schema type. Types of imported schemas are reached with
 * `use isthmus:<namespace>/types.{…}`, so a WIT resolver needs the imported schemas'
 * `.wit` files too (as `deps/` of the package that uses them).
 *
 * Mapping (the contract; docs/wasm.md repeats it as a table):
 * - scalars: bool, u8…u64 as is, i8…i64 as s8…s64, f32, f64.
 * - struct, message → `record`, fields in declaration order. A message with no fields has
 *   no WIT type (component-model records need a field): a comment says so.
 * - enum → WIT `enum` (cases in declaration order) when its base is u8 or i8 and its values
 *   are 0, 1, 2, … in declaration order: then the canonical-ABI discriminant (one byte) is
 *   the Isthmus byte. Any other enum → `type <name> = <base integer>` carrying the number,
 *   with the value names in its doc comment, so records keep the Isthmus bytes.
 * - union → `variant` with one case per union case; every use of a union (field, element,
 *   case) is `option<…>`, because Isthmus tag 0 (no value) is always possible.
 * - string → `string`; bytes → `list<u8>`; vector<T> → `list<T>`; `T?` → `option<T>`.
 * - [T; N] → `tuple<T, …, T>` (N elements: stable WIT has no fixed-length list; a tuple has
 *   the canonical-ABI layout of N consecutive T). WIT tuples hold at most 10 000 types
 *   (wasm-tools' limit), so longer arrays nest: `tuple<tuple<T × 10000>, …, tuple<T × rest>>`,
 *   which has the same bytes.
 * - A *fixed-size* struct (non-optional scalar, enum, fixed-array and fixed-size struct
 *   fields only) gets a doc line saying its record has the Isthmus bytes; no other record
 *   does (references are lifted, which copies).
 *
 * Names: every identifier is converted to WIT kebab-case (`ts_ns` → `ts-ns`, `BookUpdate` →
 * `book-update`; a word starting with a digit joins the word before it: `vec_3d` → `vec3d`),
 * and a WIT keyword is escaped with `%` (`%list`). Two names that convert to the same WIT
 * name in one scope, or a name with no WIT form, are errors naming both spellings.
 * `@deprecated` and `@since(N > 1)` become doc lines (WIT's own gates need versioned packages).
 */
import type { EnumLayout, FieldLayout, ScalarName, StructLayout, TypeLayout, TypeRef } from '@isthmus/runtime';
import { typeTable, type CompiledSchema } from '../compile.js';
import { GENERATED_BANNER, outputName, type EmittedFile } from './common.js';

const WIT_SCALAR: Record<ScalarName, string> = {
  bool: 'bool', u8: 'u8', u16: 'u16', u32: 'u32', u64: 'u64',
  i8: 's8', i16: 's16', i32: 's32', i64: 's64', f32: 'f32', f64: 'f64',
};

/** Words the WIT lexer reserves (wit-parser), escaped with `%` when a name converts to one. */
const WIT_KEYWORDS = new Set([
  'as', 'async', 'await', 'bool', 'borrow', 'char', 'constructor', 'enum', 'error-context', 'export',
  'f32', 'f64', 'flags', 'float32', 'float64', 'from', 'func', 'future', 'import', 'include',
  'interface', 'list', 'map', 'option', 'own', 'package', 'record', 'resource', 'result',
  's8', 's16', 's32', 's64', 'static', 'stream', 'string', 'tuple', 'type',
  'u8', 'u16', 'u32', 'u64', 'use', 'variant', 'with', 'world',
]);

/** The most types one WIT tuple may hold (wasm-tools rejects 10 001). */
export const WIT_MAX_TUPLE = 10_000;

/** The package an Isthmus namespace becomes: `market` → `isthmus:market`, `a.b` → `isthmus:a-b`. */
export function witPackage(namespace: string): string {
  return `isthmus:${namespace.split('.').map((p) => witWords(p, `namespace '${namespace}'`)).join('-')}`;
}

/** The kebab-case words of an identifier, unescaped: `BookUpdate` → `book-update`. */
function witWords(name: string, what: string): string {
  const spaced = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
  const words: string[] = [];
  for (const w of spaced.split('_')) {
    if (!w) continue;
    if (/^[0-9]/.test(w)) {
      if (!words.length) throw new Error(`WIT emitter: ${what} '${name}' has no WIT form (a WIT name starts with a letter)`);
      words[words.length - 1] += w;
    } else words.push(w);
  }
  if (!words.length || !words.every((w) => /^[a-z][a-z0-9]*$/.test(w))) {
    throw new Error(`WIT emitter: ${what} '${name}' has no WIT form (got '${words.join('-')}')`);
  }
  return words.join('-');
}

/** An identifier in WIT form, `%`-escaped when it is a keyword: `ts_ns` → `ts-ns`, `list` → `%list`. */
export function witName(name: string, what = 'name'): string {
  const w = witWords(name, what);
  return WIT_KEYWORDS.has(w) ? `%${w}` : w;
}

/** Hands out WIT names within one scope and rejects two schema names that meet. */
class Scope {
  private readonly taken = new Map<string, string>();
  private readonly where: string;
  constructor(where: string) {
    this.where = where;
  }
  claim(name: string, what: string, wit = witName(name, what)): string {
    const bare = wit.replace(/^%/, '');
    const prior = this.taken.get(bare);
    if (prior !== undefined && prior !== name) {
      throw new Error(`WIT emitter: ${what} '${name}' and '${prior}' in ${this.where} both become WIT name '${bare}'`);
    }
    this.taken.set(bare, name);
    return wit;
  }
}

/** Isthmus enum whose numbers are WIT enum case indices of the same byte size. */
export function witEnumCompatible(e: EnumLayout): boolean {
  return (e.base === 'u8' || e.base === 'i8') && e.values.every((v, i) => v.value === i);
}

function docLines(lines: readonly (string | undefined)[], indent: string): string[] {
  const out: string[] = [];
  for (const l of lines) if (l !== undefined) for (const s of l.split('\n')) out.push(`${indent}///${s ? ' ' + s : ''}`);
  return out;
}

export function emitWit(c: CompiledSchema): EmittedFile[] {
  const table = typeTable(c);
  const own = new Set(c.layout.types.map((t) => t.fullName));
  const typeScope = new Scope(`interface ${witPackage(c.layout.namespace)}/types`);
  const local = new Map<string, string>();
  for (const t of c.layout.types) {
    if (t.kind === 'message' && t.fields.length === 0) continue;
    local.set(t.fullName, typeScope.claim(t.name, `type`));
  }
  /** Imported types this schema uses, by namespace: full name → WIT name (maybe `x as y`). */
  const used = new Map<string, Map<string, { wit: string; as?: string }>>();
  const lookup = (fullName: string): TypeLayout => {
    const t = table.get(fullName);
    if (!t) throw new Error(`WIT emitter: type '${fullName}' is not in the schema or its imports`);
    return t;
  };
  const ref = (fullName: string): string => {
    const hit = local.get(fullName);
    if (hit) return hit;
    if (own.has(fullName)) throw new Error(`WIT emitter: '${fullName}' has no WIT type (a message with no fields)`);
    const t = lookup(fullName);
    const ns = fullName.slice(0, fullName.length - t.name.length - 1);
    let byNs = used.get(ns);
    if (!byNs) used.set(ns, (byNs = new Map()));
    const prior = byNs.get(fullName);
    if (prior) return prior.as ?? prior.wit;
    const wit = witName(t.name, 'type');
    let entry: { wit: string; as?: string };
    try {
      typeScope.claim(fullName, 'type', wit);
      entry = { wit };
    } catch {
      // A local type (or another import) has this name: import it under <namespace>-<name>.
      const as = typeScope.claim(fullName, 'type', witName(`${ns.replace(/\./g, '_')}_${t.name}`, 'type'));
      entry = { wit, as };
    }
    byNs.set(fullName, entry);
    return entry.as ?? entry.wit;
  };
  const fixedSize = (t: TypeRef): boolean => {
    switch (t.kind) {
      case 'scalar':
      case 'enum':
        return true;
      case 'array':
        return fixedSize(t.element);
      case 'struct': {
        const s = lookup(t.name) as StructLayout;
        return s.fields.every((f) => !f.presence && fixedSize(f.type));
      }
      default:
        return false;
    }
  };
  const witType = (t: TypeRef): string => {
    switch (t.kind) {
      case 'scalar':
        return WIT_SCALAR[t.scalar];
      case 'enum':
      case 'struct':
        return ref(t.name);
      case 'union':
        return `option<${ref(t.name)}>`;
      case 'string':
        return 'string';
      case 'bytes':
        return 'list<u8>';
      case 'vector':
        return `list<${witType(t.element)}>`;
      case 'array': {
        const el = witType(t.element);
        const tuple = (n: number): string => `tuple<${Array(n).fill(el).join(', ')}>`;
        if (t.length <= WIT_MAX_TUPLE) return tuple(t.length);
        const chunks: string[] = [];
        for (let left = t.length; left > 0; left -= WIT_MAX_TUPLE) chunks.push(tuple(Math.min(left, WIT_MAX_TUPLE)));
        return `tuple<${chunks.join(', ')}>`;
      }
    }
  };

  const body: string[] = [];
  const fieldLine = (f: FieldLayout, scope: Scope, indent: string): string[] => {
    const notes = [f.doc, f.deprecated ? 'Deprecated.' : undefined, f.since > 1 ? `Since schema version ${f.since}.` : undefined];
    const ty = witType(f.type);
    return [...docLines(notes, indent), `${indent}${scope.claim(f.name, 'field')}: ${f.presence ? `option<${ty}>` : ty},`];
  };
  for (const t of c.layout.types) {
    const name = local.get(t.fullName);
    body.push('');
    if (t.kind === 'enum') {
      const values = t.values.map((v) => `${v.name} = ${v.value}${v.deprecated ? ' (deprecated)' : ''}`).join(', ');
      if (witEnumCompatible(t)) {
        body.push(...docLines([t.doc, `Isthmus enum ${t.fullName} : ${t.base}; case k is value k.`], '  '), `  enum ${name} {`);
        const scope = new Scope(`enum ${t.fullName}`);
        for (const v of t.values) body.push(...docLines([v.doc, v.deprecated ? 'Deprecated.' : undefined], '    '), `    ${scope.claim(v.name, 'enum value')},`);
        body.push('  }');
      } else {
        // Names are still checked so that a later switch to a WIT enum can not fail.
        const scope = new Scope(`enum ${t.fullName}`);
        for (const v of t.values) scope.claim(v.name, 'enum value');
        const why = t.base === 'u8' || t.base === 'i8' ? 'values are not 0, 1, 2, … in order' : `a WIT enum is one byte, ${t.base} is not`;
        body.push(...docLines([t.doc, `Isthmus enum ${t.fullName} : ${t.base}, carried as its number (${why}).`, `Values: ${values}.`], '  '), `  type ${name} = ${WIT_SCALAR[t.base]};`);
      }
    } else if (t.kind === 'union') {
      body.push(...docLines([t.doc, `Isthmus union ${t.fullName}: case k is tag k; fields hold option<${name}> (tag 0: none).`], '  '), `  variant ${name} {`);
      const scope = new Scope(`union ${t.fullName}`);
      for (const k of t.cases) body.push(...docLines([k.doc], '    '), `    ${scope.claim(k.name, 'union case')}(${witType(k.type)}),`);
      body.push('  }');
    } else if (t.kind === 'message' && t.fields.length === 0) {
      body.push(`  // Isthmus message ${t.fullName} has no fields: a WIT record needs one, so it has no WIT type.`);
    } else {
      const notes = [t.doc];
      if (t.kind === 'message') notes.push(`Isthmus message ${t.fullName}, type id ${t.typeId}, version ${t.version}.`);
      else if (fixedSize({ kind: 'struct', name: t.fullName })) {
        notes.push(`Fixed-size: the canonical-ABI layout of this record is the Isthmus layout (${t.size} bytes, align ${t.align}).`);
      }
      body.push(...docLines(notes, '  '), `  record ${name} {`);
      const scope = new Scope(`${t.kind} ${t.fullName}`);
      for (const f of t.fields) body.push(...fieldLine(f, scope, '    '));
      body.push('  }');
    }
  }

  const uses: string[] = [];
  for (const [ns, names] of [...used].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const items = [...names.values()].map((n) => (n.as ? `${n.wit} as ${n.as}` : n.wit));
    uses.push(`  use ${witPackage(ns)}/types.{${items.join(', ')}};`);
  }
  const out = [
    `// ${GENERATED_BANNER}`,
    `// Source: ${c.layout.file}. Mapping: docs/wasm.md, Components.`,
    `package ${witPackage(c.layout.namespace)};`,
    '',
    `/// Types of Isthmus schema ${c.layout.file} (namespace ${c.layout.namespace}).`,
    'interface types {',
    ...uses,
    // body starts with the blank line that separates declarations; none after the brace.
    ...body.slice(uses.length ? 0 : 1),
    '}',
    '',
  ];
  return [{ path: outputName(c.layout.file, '.wit'), contents: out.join('\n') }];
}
