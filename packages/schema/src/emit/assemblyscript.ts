/**
 * `--emit assemblyscript`: in-place views, builders, verify() and toJSON() for
 * AssemblyScript over linear memory (docs/layout.md §9, AssemblyScript; docs/wasm.md).
 *
 * Every access is a `load<T>(address, offset)` / `store<T>` at the EXPLICIT offset of the
 * layout descriptor; AssemblyScript's own class layout (which does not pad the tail) is
 * never used to map bytes. Per schema file one module `<name>.ts`, plus `isthmus_layout.ts`
 * (the shared runtime: message context, bounds-checked references, verifier, JSON writer;
 * identical for every schema) that the modules import as `./isthmus_layout`.
 *
 * Names per type: enums are namespaces of typed constants with `_valid(v)` / `_name(v)`;
 * structs and unions are view classes (extends `rt.View`: `_m` message, `_o` address);
 * messages extend `rt.Message` (`view`, `wrap`, `builder`, `build`, `finish`, `verify`,
 * `toJSON`). Field names that collide with those, or start with `_`, are rejected.
 */
import type { FieldLayout, ScalarName, StructLayout, TypeLayout, TypeRef, UnionLayout } from '@isthmus/runtime';
import { typeTable, type CompiledSchema } from '../compile.js';
import { GENERATED_BANNER, outputName, type EmittedFile } from './common.js';

/** The file the generated modules import the runtime from. */
export const AS_RUNTIME_FILE = 'isthmus_layout.ts';

const MESSAGE_RESERVED = new Set(['view', 'wrap', 'builder', 'build', 'finish', 'verify', 'toJSON', 'faults', 'constructor', 'NAME', 'TYPE_ID', 'FIXED_SIZE', 'VERSION', 'VERSION_SIZES']);
const VIEW_RESERVED = new Set(['constructor', 'SIZE', 'ALIGN', 'tag', 'kind']);

export function emitAssemblyScript(c: CompiledSchema): EmittedFile[] {
  const table = typeTable(c);
  const ns = c.layout.namespace;
  const alias = new Map<string, string>();
  for (const i of c.layout.imports) alias.set(i.namespace, i.namespace.replace(/\./g, '_'));
  const tname = (full: string): string => {
    const dot = full.lastIndexOf('.');
    const tns = full.slice(0, dot);
    const name = full.slice(dot + 1);
    return tns === ns ? name : `${alias.get(tns)}.${name}`;
  };
  const get = (full: string): TypeLayout => table.get(full)!;
  const enumBase = (full: string): ScalarName => (get(full) as { base: ScalarName }).base;
  /** AS type of a scalar or enum value. */
  const vt = (t: TypeRef): string => (t.kind === 'scalar' ? t.scalar : t.kind === 'enum' ? enumBase(t.name) : '?');
  const needsWalk = (t: TypeRef): boolean => !(t.kind === 'scalar' && t.scalar !== 'bool');

  const out: string[] = [];
  out.push(`// ${GENERATED_BANNER}`, `// Source: ${c.layout.file}`, '// AssemblyScript (docs/layout.md §9, docs/wasm.md). Offsets are explicit, from the layout.', '');
  out.push(`import * as rt from "./isthmus_layout";`);
  for (const i of c.layout.imports) out.push(`import * as ${alias.get(i.namespace)} from "./${i.file.replace(/\.isthmus$/, '')}";`);
  out.push('');

  /** Lines verifying a value of type t at address expression `a` (d: nesting depth for names). */
  function check(t: TypeRef, a: string, d: number): string[] {
    switch (t.kind) {
      case 'scalar':
        return t.scalar === 'bool' ? [`if (!v.bool(${a})) return false;`] : [];
      case 'enum': {
        const b = enumBase(t.name);
        return [`{`, `  const x${d} = load<${b}>(${a});`, `  if (!${tname(t.name)}._valid(x${d})) return v.fail(rt.BAD_ENUM, ${a}, <u64>${b.startsWith('i') ? '<i64>' : ''}x${d});`, `}`];
      }
      case 'struct':
        return [`if (!${tname(t.name)}._verify(v, ${a}, 255)) return false;`];
      case 'union':
        return [`if (!${tname(t.name)}._verify(v, ${a})) return false;`];
      case 'string':
        return [`if (!v.string(${a})) return false;`];
      case 'bytes':
        return [`v.ref(${a}, 1);`, `if (v.error) return false;`];
      case 'array': {
        if (!needsWalk(t.element)) return [];
        const i = `i${d}`;
        return [`for (let ${i}: u32 = 0; ${i} < ${t.length}; ${i}++) {`, `  v.index(${i});`, ...check(t.element, `${a} + <usize>${i} * ${t.stride}`, d + 1).map((l) => '  ' + l), `  v.leave();`, `}`];
      }
      case 'vector': {
        const p = `p${d}`;
        const i = `i${d}`;
        const lines = [`{`, `  const ${p} = v.ref(${a}, ${t.stride});`, `  if (v.error) return false;`];
        if (needsWalk(t.element)) {
          lines.push(`  const n${d}: u32 = ${p} == 0 ? 0 : load<u32>(${a}, 4);`, `  for (let ${i}: u32 = 0; ${i} < n${d}; ${i}++) {`, `    v.index(${i});`, ...check(t.element, `${p} + <usize>${i} * ${t.stride}`, d + 1).map((l) => '    ' + l), `    v.leave();`, `  }`);
        }
        lines.push(`}`);
        return lines;
      }
    }
  }

  /** Lines writing the JSON form of a value of type t at address `a` into `j` (references resolve through `m`). */
  function json(t: TypeRef, a: string, d: number): string[] {
    switch (t.kind) {
      case 'scalar':
        switch (t.scalar) {
          case 'bool':
            return [`j.raw(load<u8>(${a}) != 0 ? "true" : "false");`];
          case 'u64':
          case 'i64':
            return [`j.raw("\\"" + load<${t.scalar}>(${a}).toString() + "\\"");`];
          case 'f32':
            return [`j.f64(<f64>load<f32>(${a}));`];
          case 'f64':
            return [`j.f64(load<f64>(${a}));`];
          default:
            return [`j.raw(load<${t.scalar}>(${a}).toString());`];
        }
      case 'enum': {
        const b = enumBase(t.name);
        return [`{`, `  const x${d} = load<${b}>(${a});`, `  const n${d} = ${tname(t.name)}._name(x${d});`, `  if (n${d} != null) j.str(n${d}!);`, `  else j.raw(x${d}.toString());`, `}`];
      }
      case 'struct':
        return [`${tname(t.name)}._json(j, m, ${a}, 255);`];
      case 'union':
        return [`${tname(t.name)}._json(j, m, ${a});`];
      case 'string':
        return [`j.str(m._str(${a}));`];
      case 'bytes':
        return [`j.bytes(m._bytes(${a}));`];
      case 'array': {
        const i = `i${d}`;
        return [`j.raw("[");`, `for (let ${i}: u32 = 0; ${i} < ${t.length}; ${i}++) {`, `  if (${i} != 0) j.raw(",");`, ...json(t.element, `${a} + <usize>${i} * ${t.stride}`, d + 1).map((l) => '  ' + l), `}`, `j.raw("]");`];
      }
      case 'vector': {
        const p = `p${d}`;
        const i = `i${d}`;
        return [`{`, `  const ${p} = m._ref(${a}, ${t.stride});`, `  const n${d} = m._cnt;`, `  j.raw("[");`, `  for (let ${i}: u32 = 0; ${i} < n${d}; ${i}++) {`, `    if (${i} != 0) j.raw(",");`, ...json(t.element, `${p} + <usize>${i} * ${t.stride}`, d + 1).map((l) => '    ' + l), `  }`, `  j.raw("]");`, `}`];
      }
    }
  }

  for (const t of c.layout.types) {
    if (t.kind === 'enum') emitEnum(t);
    else if (t.kind === 'union') emitUnion(t);
    else emitRecord(t);
  }

  function doc(text: string | undefined, indent: string): void {
    if (!text) return;
    const ls = text.split('\n');
    out.push(`${indent}/**`, ...ls.map((l) => `${indent} * ${l}`.trimEnd()), `${indent} */`);
  }

  function emitEnum(e: Extract<TypeLayout, { kind: 'enum' }>): void {
    doc(`${e.doc ? e.doc + '\n\n' : ''}enum ${e.name} : ${e.base}. Values are ${e.base} constants; _valid() is what verify() checks.`, '');
    out.push(`export namespace ${e.name} {`);
    for (const v of e.values) out.push(`  export const ${v.name}: ${e.base} = ${v.value};${v.deprecated ? ' // deprecated' : ''}`);
    out.push(`  export function _valid(v: ${e.base}): bool {`, `    switch (<i64>v) {`);
    for (const v of e.values) out.push(`      case ${v.value}:`);
    out.push(`        return true;`, `    }`, `    return false;`, `  }`);
    out.push(`  export function _name(v: ${e.base}): string | null {`, `    switch (<i64>v) {`);
    for (const v of e.values) out.push(`      case ${v.value}: return "${v.name}";`);
    out.push(`    }`, `    return null;`, `  }`, `}`, '');
  }

  /** A lazily created, cached child view: `this.<cache>`, repointed on every access. */
  function cached(cache: string, cls: string, mExpr: string): string {
    return `(this.${cache} != null ? this.${cache}! : (this.${cache} = new ${cls}(${mExpr}))!)`;
  }

  function emitUnion(u: UnionLayout): void {
    doc(`${u.doc ? u.doc + '\n\n' : ''}Union ${u.name} (u32 tag, u32 offset; docs/layout.md §3.3). Tags: ${u.cases.map((k) => `${k.tag} = ${k.name}`).join(', ')}; 0 = no value.\nThe value is a tail block at the offset, checked against the view's bounds when followed.`, '');
    for (const k of u.cases) if (VIEW_RESERVED.has(k.name) || k.name.startsWith('_')) throw new Error(`assemblyscript: union case ${u.fullName}.${k.name} collides with a generated name`);
    out.push(`export class ${u.name} extends rt.View {`);
    u.cases.forEach((k, i) => {
      if (k.type.kind === 'struct' || k.type.kind === 'union') out.push(`  _c${i}: ${tname(k.type.name)} | null = null;`);
      if (k.type.kind === 'vector' || k.type.kind === 'array') out.push(`  _c${i}: rt.List | null = null;`);
    });
    out.push(`  _at(o: usize): ${u.name} {`, `    this._o = o;`, `    return this;`, `  }`);
    out.push(`  /** The case held: 0 none, ${u.cases.map((k) => `${k.tag} ${k.name}`).join(', ')}. */`);
    out.push(`  get tag(): u32 {`, `    return load<u32>(this._o);`, `  }`);
    out.push(`  /** The name of the case held, or "" (none or unknown). */`);
    out.push(`  get kind(): string {`, `    switch (this.tag) {`);
    for (const k of u.cases) out.push(`      case ${k.tag}: return "${k.name}";`);
    out.push(`    }`, `    return "";`, `  }`);
    u.cases.forEach((k, i) => {
      doc(k.doc, '  ');
      const p = `this._m._unionAt(this._o, ${k.size})`;
      switch (k.type.kind) {
        case 'scalar':
        case 'enum': {
          const T = vt(k.type);
          const rd = T === 'bool' ? `load<u8>(p) != 0` : `load<${T}>(p)`;
          const dflt = T === 'bool' ? 'false' : '0';
          out.push(`  get ${k.name}(): ${T} {`, `    if (this.tag != ${k.tag}) return ${dflt};`, `    const p = ${p};`, `    return p == 0 ? ${dflt} : ${rd};`, `  }`);
          out.push(`  /** Builder: holds case ${k.name} with value v (allocates its block in the tail). */`);
          out.push(`  set_${k.name}(v: ${T}): void {`, `    const p = this._m._initUnion(this._o, ${k.tag}, ${k.size});`, `    if (p != 0) store<${T === 'bool' ? 'u8' : T}>(p, ${T === 'bool' ? 'v ? 1 : 0' : 'v'});`, `  }`);
          break;
        }
        case 'string':
        case 'bytes': {
          const isStr = k.type.kind === 'string';
          const T = isStr ? 'string' : 'Uint8Array';
          const rd = isStr ? `this._m._str(p)` : `this._m._bytes(p)`;
          const dflt = isStr ? '""' : 'new Uint8Array(0)';
          out.push(`  get ${k.name}(): ${T} {`, `    if (this.tag != ${k.tag}) return ${dflt};`, `    const p = ${p};`, `    return p == 0 ? ${dflt} : ${rd};`, `  }`);
          out.push(`  /** Builder: holds case ${k.name} with value v (its reference block, then its bytes, in the tail). */`);
          out.push(`  set_${k.name}(v: ${T}): void {`, `    const p = this._m._initUnion(this._o, ${k.tag}, 8);`);
          out.push(isStr ? `    if (p != 0) this._m._setStr(p, v);` : `    if (p != 0) this._m._setRaw(p, v.dataStart, v.length);`, `  }`);
          break;
        }
        case 'struct':
        case 'union': {
          const cls = tname(k.type.name);
          out.push(`  get ${k.name}(): ${cls} | null {`, `    if (this.tag != ${k.tag}) return null;`, `    const p = ${p};`, `    if (p == 0) return null;`, `    return ${cached(`_c${i}`, cls, 'this._m')}._at(p);`, `  }`);
          if (k.type.kind === 'struct') out.push(`  /** Builder: holds case ${k.name}; returns the zeroed value to fill. */`, `  init_${k.name}(): ${cls} {`, `    const p = this._m._initUnion(this._o, ${k.tag}, ${k.size});`, `    return ${cached(`_c${i}`, cls, 'this._m')}._at(p != 0 ? p : rt.zeros(${k.size}));`, `  }`);
          break;
        }
        case 'vector':
        case 'array': {
          const t = k.type;
          const point = t.kind === 'vector' ? `_atRef(p, ${t.stride})` : `_fixed(p, ${t.length}, ${t.stride})`;
          out.push(`  get ${k.name}(): rt.List {`, `    const l = ${cached(`_c${i}`, 'rt.List', 'this._m')};`, `    if (this.tag != ${k.tag}) return l._fixed(0, 0, ${t.stride});`, `    const p = ${p};`, `    return p == 0 ? l._fixed(0, 0, ${t.stride}) : l.${point};`, `  }`);
          if (t.kind === 'vector') out.push(`  /** Builder: holds case ${k.name} with count zeroed elements. */`, `  init_${k.name}(count: u32): rt.List {`, `    const p = this._m._initUnion(this._o, ${k.tag}, 8);`, `    const l = ${cached(`_c${i}`, 'rt.List', 'this._m')};`, `    if (p == 0) return l._fixed(0, 0, ${t.stride});`, `    this._m._initRef(p, count, ${t.stride});`, `    return l._atRef(p, ${t.stride});`, `  }`);
          break;
        }
      }
    });
    out.push(`  /** §8 checks of the union at 'at' (its path already entered). */`);
    out.push(`  static _verify(v: rt.Verifier, at: usize): bool {`, `    const tag = load<u32>(at);`, `    const off = load<u32>(at, 4);`, `    if (tag == 0) return off == 0 || v.fail(rt.BAD_UNION, at, off);`, `    if (tag > ${u.cases.length}) return v.fail(rt.BAD_UNION, at, tag);`);
    out.push(`    switch (tag) {`);
    for (const k of u.cases) {
      out.push(`      case ${k.tag}: {`, `        v.enter("${k.name}");`, `        if ((off & 7) != 0) return v.fail(rt.BAD_REF, at, off);`, `        if (off < v.tailStart || <u64>off + ${k.size} > <u64>v.total) return v.fail(rt.OUT_OF_BOUNDS, at, off);`, `        const a = v._base + off;`);
      out.push(...check(k.type, 'a', 0).map((l) => '        ' + l), `        v.leave();`, `        return true;`, `      }`);
    }
    out.push(`    }`, `    return true;`, `  }`);
    out.push(`  static _json(j: rt.Json, m: rt.Message, at: usize): void {`, `    const tag = load<u32>(at);`, `    if (tag == 0) {`, `      j.raw("null");`, `      return;`, `    }`, `    switch (tag) {`);
    for (const k of u.cases) out.push(`      case ${k.tag}: {`, `        j.raw("{\\"${k.name}\\":");`, `        let a = m._unionAt(at, ${k.size});`, `        if (a == 0) a = rt.zeros(${k.size});`, ...json(k.type, 'a', 0).map((l) => '        ' + l), `        j.raw("}");`, `        return;`, `      }`);
    out.push(`    }`, `    j.raw("{\\"" + tag.toString() + "\\":null}");`, `  }`, `}`, '');
  }

  function emitRecord(s: StructLayout): void {
    const isMsg = s.kind === 'message';
    const reserved = isMsg ? MESSAGE_RESERVED : VIEW_RESERVED;
    const generated = (f: FieldLayout): string[] => [f.name, `has_${f.name}`, `clear_${f.name}`, `set_${f.name}`, `init_${f.name}`, `${f.name}_at`, `${f.name}_ptr`, `${f.name}_len`, `set_${f.name}_raw`];
    for (const f of s.fields) {
      if (f.name.startsWith('_') || reserved.has(f.name)) throw new Error(`assemblyscript: field ${s.fullName}.${f.name} collides with a generated name`);
      if (s.fields.some((g) => g !== f && generated(g).slice(1).includes(f.name))) throw new Error(`assemblyscript: field ${s.fullName}.${f.name} collides with a generated accessor`);
    }
    const diagram = [
      `${isMsg ? 'Message' : 'Struct'} ${s.fullName} (${s.size} bytes, align ${s.align}${isMsg ? `, after the 16-byte header; version ${s.version}, type id ${s.typeId}` : ''}):`,
      ...[...s.presenceBytes.map((p, i) => ({ offset: p, text: `  @${p} _presence${i}: u8` })),
        ...s.fields.map((f) => ({ offset: f.offset, text: `  @${f.offset} ${f.name}: ${typeText(f.type)}${f.presence ? `? (bit ${f.presence.bit} of @${f.presence.offset})` : ''} [${f.size} bytes]${f.since > 1 ? ` @since(${f.since})` : ''}${f.deprecated ? ' @deprecated' : ''}` }))].sort((a, b) => a.offset - b.offset).map((l) => l.text),
      isMsg ? `Offsets are from the fixed part, which starts at byte 16 of the message.` : `Offsets are from the struct's first byte.`,
    ].join('\n');
    doc(`${s.doc ? s.doc + '\n\n' : ''}${diagram}`, '');
    out.push(`export class ${s.name} extends ${isMsg ? 'rt.Message' : 'rt.View'} {`);
    const A = isMsg ? 'this._base' : 'this._o';
    const M = isMsg ? 'this' : 'this._m';
    const imm = (off: number): number => (isMsg ? 16 + off : off);
    const at = (off: number): string => (imm(off) === 0 ? A : `${A} + ${imm(off)}`);
    if (isMsg) {
      out.push(`  static readonly NAME: string = "${s.fullName}";`);
      out.push(`  static readonly TYPE_ID: u64 = ${s.typeId};`);
      out.push(`  static readonly FIXED_SIZE: u32 = ${s.size};`);
      out.push(`  static readonly VERSION: u32 = ${s.version};`);
      out.push(`  /** Fixed-part size per version, index 0 = version 1. */`);
      out.push(`  static readonly VERSION_SIZES: StaticArray<u32> = [${s.versionSizes!.join(', ')}];`);
    } else {
      out.push(`  static readonly SIZE: u32 = ${s.size};`, `  static readonly ALIGN: u32 = ${s.align};`);
    }
    s.fields.forEach((f, i) => {
      const t = f.type;
      if (t.kind === 'struct' || t.kind === 'union') out.push(`  _c${i}: ${tname(t.name)} | null = null;`);
      if (t.kind === 'vector' || t.kind === 'array') {
        out.push(`  _c${i}: rt.List | null = null;`);
        if (t.element.kind === 'struct' || t.element.kind === 'union') out.push(`  _e${i}: ${tname(t.element.name)} | null = null;`);
      }
    });
    if (isMsg) {
      out.push('');
      out.push(`  /** A view of the message at [ptr, ptr + len). Check faults/verify() before trusting values. */`);
      out.push(`  static view(ptr: usize, len: u32): ${s.name} {`, `    const m = new ${s.name}();`, `    m.wrap(ptr, len);`, `    return m;`, `  }`);
      out.push(`  /**`, `   * Repoints this view (its cached child views follow). False when [ptr, ptr + len) can not`, `   * hold the header and the fixed part of the message's version: the view then reads zeros.`, `   * Caller guarantees: [ptr, ptr + len) is readable while the view is used; ptr % 8 == 0.`, `   */`);
      out.push(`  wrap(ptr: usize, len: u32): bool {`, `    return this._wrap(ptr, len, ${s.version}, ${s.name}.VERSION_SIZES);`, `  }`);
      out.push(`  /** Starts a message in place at ptr using at most capacity bytes; end with finish(). */`);
      out.push(`  static builder(ptr: usize, capacity: u32): ${s.name} {`, `    const m = new ${s.name}();`, `    m.build(ptr, capacity);`, `    return m;`, `  }`);
      out.push(`  /** Restarts this object as a builder. Caller guarantees [ptr, ptr + capacity) is writable; ptr % 8 == 0. */`);
      out.push(`  build(ptr: usize, capacity: u32): bool {`, `    return this._build(ptr, capacity, ${s.name}.TYPE_ID, ${s.size}, ${s.version});`, `  }`);
      out.push(`  /** Verifies untrusted bytes (docs/layout.md §8): null when safe to read, else the first problem. */`);
      out.push(`  static verify(ptr: usize, len: u32): rt.VerifyError | null {`, `    const v = new rt.Verifier();`, `    v.enter("${s.name}");`, `    const version = v.header(ptr, len, ${s.name}.TYPE_ID, ${s.version}, ${s.name}.VERSION_SIZES);`, `    if (version == 0) return v.error;`);
      out.push(`    if (!${s.name}._verify(v, ptr + 16, version)) return v.error;`, `    return null;`, `  }`);
      out.push(`  /** The JSON form of the values (docs/layout.md §10); f32 values print as the f64 they convert to. */`);
      out.push(`  toJSON(): string {`, `    const j = new rt.Json();`, `    ${s.name}._json(j, this, this._base + 16, this._v);`, `    return j.toString();`, `  }`);
    } else {
      out.push(`  _at(o: usize): ${s.name} {`, `    this._o = o;`, `    return this;`, `  }`);
    }
    s.fields.forEach((f, i) => emitField(f, i));

    out.push(`  /** §8 checks of the fields at 'at' (the fixed part): declaration order, depth first. */`);
    out.push(`  static _verify(v: rt.Verifier, at: usize, version: u32): bool {`);
    for (const f of s.fields) {
      const body = check(f.type, `at + ${f.offset}`, 0);
      if (!body.length) continue;
      const conds = [...(f.since > 1 ? [`version >= ${f.since}`] : []), ...(f.presence ? [`(load<u8>(at, ${f.presence.offset}) & ${1 << f.presence.bit}) != 0`] : [])];
      const ind = conds.length ? '      ' : '    ';
      if (conds.length) out.push(`    if (${conds.join(' && ')}) {`);
      out.push(`${ind}v.enter("${f.name}");`, ...body.map((l) => ind + l), `${ind}v.leave();`);
      if (conds.length) out.push(`    }`);
    }
    out.push(`    return true;`, `  }`);
    out.push(`  static _json(j: rt.Json, m: rt.Message, at: usize, version: u32): void {`);
    out.push(`    j.raw("{");`);
    s.fields.forEach((f, i) => {
      out.push(`    j.key(${i === 0}, "${f.name}");`);
      if (f.presence) {
        out.push(`    if (${f.since > 1 ? `version < ${f.since} || ` : ''}(load<u8>(at, ${f.presence.offset}) & ${1 << f.presence.bit}) == 0) j.raw("null");`, `    else {`, ...json(f.type, `at + ${f.offset}`, 0).map((l) => '      ' + l), `    }`);
      } else if (f.since > 1) {
        out.push(`    {`, `      const a = version < ${f.since} ? rt.zeros(${f.size}) : at + ${f.offset};`, ...json(f.type, 'a', 0).map((l) => '      ' + l), `    }`);
      } else {
        out.push(...json(f.type, `at + ${f.offset}`, 0).map((l) => '    ' + l));
      }
    });
    out.push(`    j.raw("}");`, `  }`, `}`, '');

    function emitField(f: FieldLayout, i: number): void {
      const t = f.type;
      const a = at(f.offset);
      const presence = f.presence ? `(load<u8>(${A}, ${imm(f.presence.offset)}) & ${1 << f.presence.bit}) != 0` : undefined;
      const absent = f.since > 1 ? `${M}._v < ${f.since}` : undefined;
      const setBit = f.presence ? `    store<u8>(${A}, load<u8>(${A}, ${imm(f.presence.offset)}) | ${1 << f.presence.bit}, ${imm(f.presence.offset)});` : undefined;
      const clearBit = f.presence ? `    store<u8>(${A}, load<u8>(${A}, ${imm(f.presence.offset)}) & ${0xff ^ (1 << f.presence.bit)}, ${imm(f.presence.offset)});` : undefined;
      const guard = (dflt: string): string[] => [...(absent ? [`    if (${absent}) return ${dflt};`] : []), ...(presence ? [`    if (!(${presence})) return ${dflt};`] : [])];
      out.push('');
      doc([`@${f.offset} ${typeText(t)}${f.presence ? '?' : ''}${f.since > 1 ? ` @since(${f.since})` : ''}`, f.doc, f.deprecated ? '@deprecated' : undefined].filter(Boolean).join('\n'), '  ');
      if (presence || absent) {
        out.push(`  /** Whether '${f.name}' holds a value${absent ? ` (false when the writer predates version ${f.since})` : ''}. */`);
        out.push(`  get has_${f.name}(): bool {`, `    return ${[absent ? `!(${absent})` : undefined, presence].filter(Boolean).join(' && ')};`, `  }`);
      }
      if (f.presence) {
        out.push(`  /** Builder: marks '${f.name}' absent and zeroes its inline bytes. */`);
        out.push(`  clear_${f.name}(): void {`, clearBit!, `    memory.fill(${a}, 0, ${f.size});`, `  }`);
      }
      switch (t.kind) {
        case 'scalar':
        case 'enum': {
          const T = vt(t);
          const isBool = T === 'bool';
          const dflt = isBool ? 'false' : '0';
          out.push(`  get ${f.name}(): ${T} {`, ...guard(dflt), `    return ${isBool ? `load<u8>(${A}, ${imm(f.offset)}) != 0` : `load<${T}>(${A}, ${imm(f.offset)})`};`, `  }`);
          out.push(`  set ${f.name}(v: ${T}) {`);
          if (setBit) out.push(setBit);
          out.push(`    store<${isBool ? 'u8' : T}>(${A}, ${isBool ? 'v ? 1 : 0' : 'v'}, ${imm(f.offset)});`, `  }`);
          break;
        }
        case 'string':
        case 'bytes': {
          const isStr = t.kind === 'string';
          const T = isStr ? 'string' : 'Uint8Array';
          const dflt = isStr ? '""' : 'new Uint8Array(0)';
          out.push(`  get ${f.name}(): ${T} {`, ...guard(dflt), `    return ${M}.${isStr ? '_str' : '_bytes'}(${a});`, `  }`);
          out.push(`  /** Address of the ${isStr ? 'UTF-8 bytes' : 'bytes'} in place (0 when empty, absent or out of the view's bounds). */`);
          out.push(`  ${f.name}_ptr(): usize {`, ...guard('0'), `    return ${M}._ref(${a}, 1);`, `  }`);
          out.push(`  /** Byte length (0 when empty, absent or out of the view's bounds). */`);
          out.push(`  ${f.name}_len(): u32 {`, ...guard('0'), `    ${M}._ref(${a}, 1);`, `    return ${M}._cnt;`, `  }`);
          out.push(`  /** Builder: stores ${isStr ? 'the string as UTF-8' : 'a copy of the bytes'} in the tail. */`);
          out.push(`  set_${f.name}(v: ${T}): void {`);
          if (setBit) out.push(setBit);
          out.push(isStr ? `    ${M}._setStr(${a}, v);` : `    ${M}._setRaw(${a}, v.dataStart, v.length);`, `  }`);
          out.push(`  /** Builder: copies [src, src + len) into the tail. Caller guarantees the range is readable${isStr ? ' and valid UTF-8' : ''}. */`);
          out.push(`  set_${f.name}_raw(src: usize, len: u32): void {`);
          if (setBit) out.push(setBit);
          out.push(`    ${M}._setRaw(${a}, src, len);`, `  }`);
          break;
        }
        case 'struct':
        case 'union': {
          const cls = tname(t.name);
          const ret = f.presence ? `${cls} | null` : cls;
          out.push(`  get ${f.name}(): ${ret} {`);
          const view = `${cached(`_c${i}`, cls, M)}`;
          if (absent) out.push(`    if (${absent}) return ${f.presence ? 'null' : `${view}._at(rt.zeros(${f.size}))`};`);
          if (presence) out.push(`    if (!(${presence})) return null;`);
          out.push(`    return ${view}._at(${a});`, `  }`);
          if (f.presence || absent) {
            out.push(`  /** Builder: ${f.presence ? 'marks the field present and ' : ''}returns its view to fill. */`);
            out.push(`  init_${f.name}(): ${cls} {`);
            if (setBit) out.push(setBit);
            out.push(`    return ${view}._at(${a});`, `  }`);
          }
          break;
        }
        case 'array':
        case 'vector': {
          const el = t.element;
          const view = cached(`_c${i}`, 'rt.List', M);
          const point = t.kind === 'array' ? `_fixed(${a}, ${t.length}, ${t.stride})` : `_atRef(${a}, ${t.stride})`;
          out.push(`  /** ${t.kind === 'array' ? `The ${t.length} elements in place` : 'The elements in place (empty when the reference leaves the view)'}; stride ${t.stride}. */`);
          out.push(`  get ${f.name}(): rt.List {`);
          if (absent) out.push(`    if (${absent}) return ${view}._fixed(0, 0, ${t.stride});`);
          if (presence) out.push(`    if (!(${presence})) return ${view}._fixed(0, 0, ${t.stride});`);
          out.push(`    return ${view}.${point};`, `  }`);
          if (el.kind === 'struct' || el.kind === 'union') {
            const cls = tname(el.name);
            out.push(`  /** Element i as a view (cached, repointed by the next call); zeros past the end. */`);
            out.push(`  ${f.name}_at(i: u32): ${cls} {`, `    return ${cached(`_e${i}`, cls, M)}._at(this.${f.name}.addr(i));`, `  }`);
          }
          if (t.kind === 'vector') {
            out.push(`  /** Builder: allocates count zeroed elements in the tail and returns them. */`);
            out.push(`  init_${f.name}(count: u32): rt.List {`);
            if (setBit) out.push(setBit);
            out.push(`    ${M}._initRef(${a}, count, ${t.stride});`, `    return ${view}._atRef(${a}, ${t.stride});`, `  }`);
          } else if (f.presence || absent) {
            out.push(`  /** Builder: ${f.presence ? 'marks the field present and ' : ''}returns the elements to fill. */`);
            out.push(`  init_${f.name}(): rt.List {`);
            if (setBit) out.push(setBit);
            out.push(`    return ${view}._fixed(${a}, ${t.length}, ${t.stride});`, `  }`);
          }
          break;
        }
      }
    }
  }

  const text = out.filter((l, i, arr) => !(l === '' && arr[i - 1] === '')).join('\n').replace(/\n+$/, '\n');
  return [
    { path: outputName(c.layout.file, '.ts'), contents: text },
    { path: AS_RUNTIME_FILE, contents: `// ${GENERATED_BANNER}\n${AS_RUNTIME}` },
  ];
}

function typeText(t: TypeRef): string {
  switch (t.kind) {
    case 'scalar':
      return t.scalar;
    case 'enum':
    case 'struct':
    case 'union':
      return t.name;
    case 'string':
    case 'bytes':
      return t.kind;
    case 'array':
      return `[${typeText(t.element)}; ${t.length}]`;
    case 'vector':
      return `vector<${typeText(t.element)}>`;
  }
}

/** The shared runtime module (isthmus_layout.ts), identical for every schema. */
const AS_RUNTIME = String.raw`// Runtime of the AssemblyScript mapping (docs/layout.md §9, docs/wasm.md): message
// contexts, bounds-checked references, the verifier of §8 and the JSON writer of §10.
// Emitted next to every generated schema module; every copy is identical.
//
// Raw pointers: a message view is given (ptr, len). The caller guarantees that
// [ptr, ptr + len) is readable linear memory for as long as the view is used, and
// writable for a builder, and that ptr is a multiple of 8. Accessors never read outside
// that range: wrap() checks the fixed part once, every reference is checked against len
// when it is followed (a bad one reads as empty and counts a fault), and the bounds come
// from the view, never from the message.

// Verify codes (docs/layout.md §8), numbered as in the C runtime (isthmus_code).
export const OK: i32 = 0;
export const TRUNCATED: i32 = 1;
export const BAD_TYPE_ID: i32 = 2;
export const BAD_HEADER: i32 = 3;
export const BAD_BOOL: i32 = 4;
export const BAD_ENUM: i32 = 5;
export const BAD_REF: i32 = 6;
export const OUT_OF_BOUNDS: i32 = 7;
export const BAD_UTF8: i32 = 8;
export const BAD_UNION: i32 = 9;

export function codeName(code: i32): string {
  switch (code) {
    case OK: return "OK";
    case TRUNCATED: return "TRUNCATED";
    case BAD_TYPE_ID: return "BAD_TYPE_ID";
    case BAD_HEADER: return "BAD_HEADER";
    case BAD_BOOL: return "BAD_BOOL";
    case BAD_ENUM: return "BAD_ENUM";
    case BAD_REF: return "BAD_REF";
    case OUT_OF_BOUNDS: return "OUT_OF_BOUNDS";
    case BAD_UTF8: return "BAD_UTF8";
    case BAD_UNION: return "BAD_UNION";
  }
  return "UNKNOWN";
}

// Header field offsets (docs/layout.md §2):
//  0 type_id u64 | 8 total_size u32 | 12 fixed_size u16 | 14 version u8 | 15 flags u8
export const HEADER_SIZE: u32 = 16;
export const H_TYPE_ID: u32 = 0;
export const H_TOTAL_SIZE: u32 = 8;
export const H_FIXED_SIZE: u32 = 12;
export const H_VERSION: u32 = 14;
export const H_FLAGS: u32 = 15;

@inline export function align8(n: u32): u32 {
  return (n + 7) & ~7;
}

let zeroBlock: usize = 0;
let zeroSize: usize = 0;
/** 'n' zero bytes that stay zero: what absent fields and failed wraps read. Never written. */
export function zeros(n: usize): usize {
  if (n > zeroSize) {
    zeroSize = max<usize>(n, 256);
    zeroBlock = heap.alloc(zeroSize);
    memory.fill(zeroBlock, 0, zeroSize);
  }
  return zeroBlock;
}

/**
 * The state every view of one message shares: where the message is, how many bytes the
 * view may touch, the version it reads with, and (for builders) the tail cursor.
 */
export class Message {
  /** Address of the header (a multiple of 8). */
  _base: usize = 0;
  /** Bytes the view may read (a builder: its capacity). */
  _len: u32 = 0;
  /** min(header version, reader's version); fields with a higher @since read as defaults. */
  _v: u32 = 0;
  /** Builders: end of the last tail block (offset from base); 0 when not building. */
  _end: u32 = 0;
  /** References that left the view and allocations that did not fit (reads give empty values). */
  _faults: u32 = 0;
  /** References that left the view or allocations that did not fit, since wrap()/build(). */
  get faults(): u32 {
    return this._faults;
  }
  /** Element count of the reference _ref() resolved last. */
  _cnt: u32 = 0;

  /**
   * Resolves the reference (u32 offset, u32 count) at absolute address 'at' to the
   * address of its block, with _cnt = count; 0 (and _cnt = 0) for an empty reference or
   * one that does not lie inside [base, base + len) (a fault).
   */
  _ref(at: usize, stride: u32): usize {
    const off = load<u32>(at);
    const cnt = load<u32>(at, 4);
    if (cnt == 0) {
      if (off != 0) this._faults++;
      this._cnt = 0;
      return 0;
    }
    if ((off & 7) != 0 || off < HEADER_SIZE || <u64>off + <u64>cnt * <u64>stride > <u64>this._len) {
      this._faults++;
      this._cnt = 0;
      return 0;
    }
    this._cnt = cnt;
    return this._base + off;
  }

  /** A union's value: address of a 'size'-byte block at the offset stored at 'at + 4', or 0. */
  _unionAt(at: usize, size: u32): usize {
    const off = load<u32>(at, 4);
    if ((off & 7) != 0 || off < HEADER_SIZE || <u64>off + <u64>size > <u64>this._len) {
      this._faults++;
      return 0;
    }
    return this._base + off;
  }

  _str(at: usize): string {
    const p = this._ref(at, 1);
    if (p == 0) return "";
    return String.UTF8.decodeUnsafe(p, this._cnt);
  }

  _bytes(at: usize): Uint8Array {
    const p = this._ref(at, 1);
    const out = new Uint8Array(this._cnt);
    if (p != 0) memory.copy(out.dataStart, p, this._cnt);
    return out;
  }

  // --- builders -------------------------------------------------------------------------

  /** Starts a message: header, zeroed fixed part. Caller guarantees [ptr, ptr + capacity) is writable. */
  _build(ptr: usize, capacity: u32, typeId: u64, fixed: u32, version: u32): bool {
    this._base = ptr;
    this._len = capacity;
    this._faults = 0;
    this._v = version;
    if (capacity < HEADER_SIZE + fixed || (ptr & 7) != 0) {
      this._base = zeros(HEADER_SIZE + fixed);
      this._len = 0;
      this._end = 0;
      this._faults++;
      return false;
    }
    memory.fill(ptr, 0, HEADER_SIZE + fixed);
    store<u64>(ptr, typeId, H_TYPE_ID);
    store<u16>(ptr, <u16>fixed, H_FIXED_SIZE);
    store<u8>(ptr, <u8>version, H_VERSION);
    this._end = HEADER_SIZE + fixed;
    return true;
  }

  /** Allocates 'n' zeroed tail bytes at the next multiple of 8; the offset, or 0 when full (a fault). */
  _alloc(n: u64): u32 {
    if (this._end == 0) {
      this._faults++;
      return 0;
    }
    const at = <u64>align8(this._end);
    if (at + n > <u64>this._len) {
      this._faults++;
      return 0;
    }
    memory.fill(this._base + <usize>at, 0, <usize>n);
    this._end = <u32>(at + n);
    return <u32>at;
  }

  /** Allocates 'count × stride' bytes and points the reference at 'at' to them; the block's address or 0. */
  _initRef(at: usize, count: u32, stride: u32): usize {
    if (count == 0) {
      store<u64>(at, 0);
      return 0;
    }
    const off = this._alloc(<u64>count * <u64>stride);
    if (off == 0) {
      store<u64>(at, 0);
      return 0;
    }
    store<u32>(at, off);
    store<u32>(at, count, 4);
    return this._base + off;
  }

  _setStr(at: usize, s: string): void {
    const n = <u32>String.UTF8.byteLength(s);
    const p = this._initRef(at, n, 1);
    if (p != 0) String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, p);
  }

  /** Copies 'len' bytes from 'src' into the tail. Caller guarantees [src, src + len) is readable. */
  _setRaw(at: usize, src: usize, len: u32): void {
    const p = this._initRef(at, len, 1);
    if (p != 0) memory.copy(p, src, len);
  }

  /** Union builder: tag, and a zeroed 'size'-byte block for the value; the block's address or 0. */
  _initUnion(at: usize, tag: u32, size: u32): usize {
    const off = this._alloc(<u64>size);
    if (off == 0) {
      store<u64>(at, 0);
      return 0;
    }
    store<u32>(at, tag);
    store<u32>(at, off, 4);
    return this._base + off;
  }

  /** Ends a builder: total_size = end rounded up to 8 (padding zeroed). Returns it, or 0 after a fault. */
  finish(): u32 {
    if (this._end == 0 || this._faults != 0) return 0;
    const total = align8(this._end);
    memory.fill(this._base + this._end, 0, total - this._end);
    store<u32>(this._base, total, H_TOTAL_SIZE);
    this._end = 0;
    return total;
  }

  /** Points the view at a message; false (and a view reading zeros) when the fixed part is out of range. */
  _wrap(ptr: usize, len: u32, version: u32, sizes: StaticArray<u32>): bool {
    this._base = ptr;
    this._len = len;
    this._faults = 0;
    this._end = 0;
    if (len >= HEADER_SIZE && (ptr & 7) == 0) {
      const v = min<u32>(<u32>load<u8>(ptr, H_VERSION), version);
      if (v >= 1 && len >= HEADER_SIZE + unchecked(sizes[v - 1])) {
        this._v = v;
        return true;
      }
    }
    this._base = zeros(HEADER_SIZE + sizes[sizes.length - 1]);
    this._len = 0;
    this._v = version;
    this._faults++;
    return false;
  }
}

/** A view of one struct (or union) inside a message: the shared context and an address. */
export class View {
  /** The message this view reads; references resolve against its bounds. */
  _m: Message;
  /** Absolute address of the record's first byte. */
  _o: usize = 0;
  constructor(m: Message) {
    this._m = m;
  }
}

/**
 * A fixed array or a vector block: 'length' elements of 'stride' bytes from 'p'. Reading
 * past 'length' reads zeros (and counts a fault); nested references resolve against '_m'.
 */
export class List {
  _m: Message;
  p: usize = 0;
  length: u32 = 0;
  stride: u32 = 0;
  constructor(m: Message) {
    this._m = m;
  }
  _fixed(p: usize, length: u32, stride: u32): List {
    this.p = p;
    this.length = length;
    this.stride = stride;
    return this;
  }
  _atRef(at: usize, stride: u32): List {
    this.p = this._m._ref(at, stride);
    this.length = this._m._cnt;
    this.stride = stride;
    return this;
  }
  /** Address of element i, or of zeros when i >= length. */
  addr(i: u32): usize {
    if (i >= this.length) {
      this._m._faults++;
      return zeros(this.stride);
    }
    return this.p + <usize>i * this.stride;
  }
  get<T>(i: u32): T {
    return load<T>(this.addr(i));
  }
  set<T>(i: u32, v: T): void {
    if (i < this.length) store<T>(this.p + <usize>i * this.stride, v);
    else this._m._faults++;
  }
  /** Element i as a string (elements that are string references). */
  str(i: u32): string {
    return this._m._str(this.addr(i));
  }
  bytes(i: u32): Uint8Array {
    return this._m._bytes(this.addr(i));
  }
  /** Element i as a nested vector (elements that are vector references) of 'stride'-byte elements. */
  list(i: u32, stride: u32): List {
    return new List(this._m)._atRef(this.addr(i), stride);
  }
  /** Builder: element i (a string reference) gets 's'. */
  setStr(i: u32, s: string): void {
    if (i < this.length) this._m._setStr(this.p + <usize>i * this.stride, s);
    else this._m._faults++;
  }
  /** Builder: element i (a vector reference) gets 'count' zeroed elements of 'stride' bytes. */
  initList(i: u32, count: u32, stride: u32): List {
    const l = new List(this._m);
    if (i >= this.length) {
      this._m._faults++;
      return l;
    }
    const at = this.p + <usize>i * this.stride;
    this._m._initRef(at, count, stride);
    return l._atRef(at, stride);
  }
}

// --- verify (§8) --------------------------------------------------------------------------

/** The first problem verify() found: code, field path, offset (from message start) and value. */
export class VerifyError {
  constructor(public code: i32, public path: string, public offset: u32, public value: u64) {}
  toString(): string {
    return codeName(this.code) + " at " + this.path + " (offset " + this.offset.toString() + "): value " + this.value.toString();
  }
}

/**
 * One verification: message bounds, the tail, and the path of the field being checked (a
 * stack of names and indexes, rendered only on failure).
 */
export class Verifier {
  _base: usize = 0;
  tailStart: u32 = 0;
  total: u32 = 0;
  error: VerifyError | null = null;
  segs: string[] = [];
  idxs: i32[] = [];

  @inline enter(name: string): void {
    this.segs.push(name);
    this.idxs.push(-1);
  }
  @inline index(i: u32): void {
    this.segs.push("");
    this.idxs.push(<i32>i);
  }
  @inline leave(): void {
    this.segs.pop();
    this.idxs.pop();
  }

  path(): string {
    let s = "";
    for (let i = 0; i < this.segs.length; i++) {
      const k = unchecked(this.idxs[i]);
      if (k >= 0) s += "[" + k.toString() + "]";
      else s += (i == 0 ? "" : ".") + unchecked(this.segs[i]);
    }
    return s;
  }

  fail(code: i32, at: usize, value: u64): bool {
    this.error = new VerifyError(code, this.path(), <u32>(at - this._base), value);
    return false;
  }

  /** Checks the reference at 'at' to count × stride bytes; its block's address, 0 when empty, or fails. */
  ref(at: usize, stride: u32): usize {
    const off = load<u32>(at);
    const cnt = load<u32>(at, 4);
    if (cnt == 0) {
      if (off != 0) this.fail(BAD_REF, at, off);
      return 0;
    }
    if ((off & 7) != 0) {
      this.fail(BAD_REF, at, off);
      return 0;
    }
    if (off < this.tailStart || <u64>off + <u64>cnt * <u64>stride > <u64>this.total) {
      this.fail(OUT_OF_BOUNDS, at, off);
      return 0;
    }
    return this._base + off;
  }

  bool(at: usize): bool {
    const b = load<u8>(at);
    return b <= 1 || this.fail(BAD_BOOL, at, b);
  }

  string(at: usize): bool {
    const p = this.ref(at, 1);
    if (this.error) return false;
    if (p == 0) return true;
    const bad = utf8InvalidAt(p, p + load<u32>(at, 4));
    return bad == 0 || this.fail(BAD_UTF8, at, <u64>(bad - this._base));
  }

  /**
   * Header checks in the order of §8; false when one fails. On success tailStart and
   * total are set and the message's version is returned through 'version'.
   */
  header(ptr: usize, len: u32, typeId: u64, readerVersion: u32, sizes: StaticArray<u32>): u32 {
    this._base = ptr;
    if (len < HEADER_SIZE) return <u32>this.fail(TRUNCATED, ptr, len);
    const total = load<u32>(ptr, H_TOTAL_SIZE);
    if (total > len) return <u32>this.fail(TRUNCATED, ptr + H_TOTAL_SIZE, total);
    const id = load<u64>(ptr, H_TYPE_ID);
    if (id != typeId) return <u32>this.fail(BAD_TYPE_ID, ptr + H_TYPE_ID, id);
    const fixed = <u32>load<u16>(ptr, H_FIXED_SIZE);
    const version = <u32>load<u8>(ptr, H_VERSION);
    const flags = <u32>load<u8>(ptr, H_FLAGS);
    if ((total & 7) != 0) return <u32>this.fail(BAD_HEADER, ptr + H_TOTAL_SIZE, total);
    if ((fixed & 7) != 0) return <u32>this.fail(BAD_HEADER, ptr + H_FIXED_SIZE, fixed);
    if (HEADER_SIZE + fixed > total) return <u32>this.fail(BAD_HEADER, ptr + H_FIXED_SIZE, fixed);
    if (version < 1) return <u32>this.fail(BAD_HEADER, ptr + H_VERSION, version);
    if (flags != 0) return <u32>this.fail(BAD_HEADER, ptr + H_FLAGS, flags);
    const rv = min<u32>(version, readerVersion);
    if (fixed < sizes[rv - 1]) return <u32>this.fail(BAD_HEADER, ptr + H_FIXED_SIZE, fixed);
    this.tailStart = HEADER_SIZE + fixed;
    this.total = total;
    return version;
  }
}

/**
 * Address of the first byte in [p, end) that is not well-formed UTF-8 (overlongs,
 * surrogates and code points above U+10FFFF are invalid), or 0 when all of it is valid.
 */
export function utf8InvalidAt(p: usize, end: usize): usize {
  let i = p;
  while (i < end) {
    const c = <u32>load<u8>(i);
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: u32;
    let lo: u32;
    let cp: u32;
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1; lo = 0x80; cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2; lo = 0x800; cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3; lo = 0x10000; cp = c & 0x07;
    } else return i;
    if (i + need >= end) return i;
    for (let k: u32 = 1; k <= need; k++) {
      const cc = <u32>load<u8>(i + k);
      if ((cc & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < lo || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return 0;
}

// --- JSON (§10) ---------------------------------------------------------------------------

/** Builds the JSON text of a value, piece by piece. */
export class Json {
  parts: string[] = [];
  @inline raw(s: string): void {
    this.parts.push(s);
  }
  key(first: bool, name: string): void {
    this.parts.push(first ? "\"" + name + "\":" : ",\"" + name + "\":");
  }
  str(s: string): void {
    let out = "\"";
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c == 0x22) out += "\\\"";
      else if (c == 0x5c) out += "\\\\";
      else if (c < 0x20) {
        const h = "0123456789abcdef";
        out += "\\u00" + h.charAt(c >> 4) + h.charAt(c & 15);
      } else out += String.fromCharCode(c);
    }
    this.parts.push(out + "\"");
  }
  f64(v: f64): void {
    if (isNaN(v)) this.parts.push("\"NaN\"");
    else if (!isFinite(v)) this.parts.push(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    else if (v == 0) this.parts.push("0");
    else this.parts.push(v.toString());
  }
  bytes(b: Uint8Array): void {
    const A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let out = "\"";
    let i = 0;
    const n = b.length;
    for (; i + 2 < n; i += 3) {
      const x = (<u32>b[i] << 16) | (<u32>b[i + 1] << 8) | <u32>b[i + 2];
      out += A.charAt(x >> 18) + A.charAt((x >> 12) & 63) + A.charAt((x >> 6) & 63) + A.charAt(x & 63);
    }
    if (n - i == 1) {
      const x = <u32>b[i] << 16;
      out += A.charAt(x >> 18) + A.charAt((x >> 12) & 63) + "==";
    } else if (n - i == 2) {
      const x = (<u32>b[i] << 16) | (<u32>b[i + 1] << 8);
      out += A.charAt(x >> 18) + A.charAt((x >> 12) & 63) + A.charAt((x >> 6) & 63) + "=";
    }
    this.parts.push(out + "\"");
  }
  toString(): string {
    return this.parts.join("");
  }
}
`;
