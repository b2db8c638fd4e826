/**
 * `--emit ts`: zero-copy view classes over the layout (docs/layout.md §9, TypeScript).
 *
 * Per schema file, one module with: the layout descriptor (`SCHEMA`) and type table
 * (`TYPES`) that verify/toJSON/encode walk; a `const` object + type per enum; a view
 * class per struct (extends `StructView`), union (extends `UnionView`) and message
 * (extends `MessageCore`). Scalar accessors are one DataView call at a constant offset
 * and allocate nothing.
 */
import type { FieldLayout, ScalarName, StructLayout, TypeLayout, TypeRef, UnionLayout } from '@isthmus/runtime';
import { typeTable, type CompiledSchema } from '../compile.js';
import { docComment, GENERATED_BANNER, outputName, type EmittedFile } from './common.js';

const DV: Record<ScalarName, [string, string, boolean]> = {
  bool: ['Uint8', 'boolean', false],
  u8: ['Uint8', 'number', false],
  i8: ['Int8', 'number', false],
  u16: ['Uint16', 'number', true],
  i16: ['Int16', 'number', true],
  u32: ['Uint32', 'number', true],
  i32: ['Int32', 'number', true],
  f32: ['Float32', 'number', true],
  f64: ['Float64', 'number', true],
  u64: ['BigUint64', 'bigint', true],
  i64: ['BigInt64', 'bigint', true],
};

export function emitTs(c: CompiledSchema): EmittedFile[] {
  const table = typeTable(c);
  const ns = c.layout.namespace;
  const aliases = new Map<string, string>();
  for (const i of c.layout.imports) aliases.set(i.namespace, i.namespace.replace(/\./g, '_'));

  /** TS expression naming a declared type from this module. */
  const tname = (full: string): string => {
    const dot = full.lastIndexOf('.');
    const tns = full.slice(0, dot);
    const name = full.slice(dot + 1);
    return tns === ns ? name : `${aliases.get(tns)}.${name}`;
  };
  const get = (full: string): TypeLayout => table.get(full)!;

  const out: string[] = [];
  out.push(`// ${GENERATED_BANNER}`, `// Source: ${c.layout.file}`, '/* eslint-disable */', '');
  out.push(`import * as rt from '@isthmus/runtime';`);
  for (const i of c.layout.imports) out.push(`import * as ${aliases.get(i.namespace)} from './${i.file.replace(/\.isthmus$/, '.js')}';`);
  out.push('');
  out.push('/** The layout descriptor of this schema (what `isthmus compile --emit json` writes). */');
  out.push(`export const SCHEMA: rt.SchemaLayout = ${JSON.stringify(c.layout)};`);
  out.push('');
  out.push('/** Every type this schema can reach, by full name: its own and its imports\'. */');
  out.push(`export const TYPES: rt.TypeTable = new Map([${c.layout.imports.map((i) => `...${aliases.get(i.namespace)}.TYPES, `).join('')}...rt.typeTable(SCHEMA)]);`);
  out.push('');

  /** Expression for an element codec of type `t`. */
  const elem = (t: TypeRef): string => {
    switch (t.kind) {
      case 'scalar':
        return `rt.E_${t.scalar.toUpperCase()}`;
      case 'enum':
        return `(rt.E_${(get(t.name) as { base: string }).base.toUpperCase()} as rt.Element<number> as rt.Element<${tname(t.name)}>)`;
      case 'string':
        return 'rt.E_STRING';
      case 'bytes':
        return 'rt.E_BYTES';
      case 'struct':
      case 'union':
        return `rt.structElement(${tname(t.name)})`;
      case 'vector':
        return `rt.vectorElement(${elem(t.element)}, ${t.stride})`;
      case 'array':
        return `rt.arrayElement(${elem(t.element)}, ${t.stride}, ${t.length})`;
    }
  };
  /** TS type of a value read through an element codec or a field getter. */
  const vtype = (t: TypeRef): string => {
    switch (t.kind) {
      case 'scalar':
        return DV[t.scalar][1];
      case 'enum':
      case 'struct':
      case 'union':
        return tname(t.name);
      case 'string':
        return 'string';
      case 'bytes':
        return 'Uint8Array';
      case 'vector':
      case 'array':
        return `rt.Vec<${vtype(t.element)}>`;
    }
  };

  for (const t of c.layout.types) {
    if (t.kind === 'enum') {
      if (t.doc) out.push(docComment(t.doc, '').trimEnd());
      out.push(`export const ${t.name} = {`);
      for (const v of t.values) out.push(`${docComment(v.doc, '  ')}  ${v.name}: ${v.value},${v.deprecated ? ' // deprecated' : ''}`);
      out.push('} as const;');
      out.push(`export type ${t.name} = (typeof ${t.name})[keyof typeof ${t.name}];`);
      out.push('');
    } else if (t.kind === 'union') {
      emitUnion(t);
    } else {
      emitRecord(t);
    }
  }

  function emitUnion(u: UnionLayout): void {
    out.push(docComment(`${u.doc ? u.doc + '\n\n' : ''}Union (tag u32, offset u32). Tags: ${u.cases.map((k) => `${k.tag} = ${k.name}`).join(', ')}; 0 = no value.`, '').trimEnd());
    out.push(`export class ${u.name} extends rt.UnionView {`);
    out.push(`  static readonly CASES = [${u.cases.map((k) => `'${k.name}'`).join(', ')}] as const;`);
    out.push(`  /** The name of the case held, or null. */`);
    out.push(`  get kind(): (typeof ${u.name}.CASES)[number] | null {`);
    out.push(`    return ${u.name}.CASES[this.tag - 1] ?? null;`);
    out.push('  }');
    for (const k of u.cases) {
      const T = vtype(k.type);
      if (k.doc) out.push(docComment(k.doc, '  ').trimEnd());
      out.push(`  get ${k.name}(): ${T} | null {`);
      out.push(`    if (this.tag !== ${k.tag}) return null;`);
      out.push(`    const at = this._value(${k.size});`);
      out.push(`    return ${readAt(k.type, 'this._m', 'at', true)};`);
      out.push('  }');
      // builders
      switch (k.type.kind) {
        case 'struct':
          out.push(`  init_${k.name}(): ${T} {`, `    return new ${T}(this._m, this._init(${k.tag}, ${k.size}));`, '  }');
          break;
        case 'vector':
          out.push(`  init_${k.name}(count: number): ${T} {`, `    const at = this._init(${k.tag}, 8);`, `    this._m._initRef(at, count, ${k.type.stride});`, `    return ${readAt(k.type, 'this._m', 'at', true)};`, '  }');
          break;
        case 'array':
          out.push(`  init_${k.name}(): ${T} {`, `    const at = this._init(${k.tag}, ${k.size});`, `    return ${readAt(k.type, 'this._m', 'at', true)};`, '  }');
          break;
        case 'union':
          break;
        default:
          out.push(`  set_${k.name}(v: ${T}): void {`, `    const at = this._init(${k.tag}, ${k.size});`, `    ${writeAt(k.type, 'this._m', 'at', 'v')};`, '  }');
      }
    }
    out.push('}', '');
  }

  /** Expression reading a value of type `t` at absolute offset expression `at` (fresh objects). */
  function readAt(t: TypeRef, m: string, at: string, fresh: boolean): string {
    switch (t.kind) {
      case 'scalar': {
        const [fn, , le] = DV[t.scalar];
        const e = `${m}._dv.get${fn}(${at}${le ? ', true' : ''})`;
        return t.scalar === 'bool' ? `${e} !== 0` : e;
      }
      case 'enum': {
        const base = (get(t.name) as { base: ScalarName }).base;
        const [fn, , le] = DV[base];
        return `${m}._dv.get${fn}(${at}${le ? ', true' : ''}) as ${tname(t.name)}`;
      }
      case 'string':
        return `${m}._str(${at})`;
      case 'bytes':
        return `${m}._bytes(${at})`;
      case 'struct':
      case 'union':
        return `new ${tname(t.name)}(${m}, ${at})`;
      case 'vector':
        void fresh;
        return `new rt.Vec(${m}, ${elem(t.element)}, ${t.stride})._atRef(${m}, ${at})`;
      case 'array':
        return `new rt.Vec(${m}, ${elem(t.element)}, ${t.stride})._atFixed(${m}, ${at}, ${t.length})`;
    }
  }

  /** Statement writing `v` of type `t` at absolute offset `at`. */
  function writeAt(t: TypeRef, m: string, at: string, v: string): string {
    switch (t.kind) {
      case 'scalar': {
        const [fn, , le] = DV[t.scalar];
        return `${m}._dv.set${fn}(${at}, ${t.scalar === 'bool' ? `${v} ? 1 : 0` : v}${le ? ', true' : ''})`;
      }
      case 'enum': {
        const [fn, , le] = DV[(get(t.name) as { base: ScalarName }).base];
        return `${m}._dv.set${fn}(${at}, ${v}${le ? ', true' : ''})`;
      }
      case 'string':
        return `${m}._setStr(${at}, ${v})`;
      case 'bytes':
        return `${m}._setBytes(${at}, ${v})`;
      default:
        throw new Error(`no direct write for ${t.kind}`);
    }
  }

  function emitRecord(s: StructLayout): void {
    const isMsg = s.kind === 'message';
    const M = isMsg ? 'this' : 'this._m';
    const diagram = [
      `${isMsg ? 'Message' : 'Struct'} layout (${s.size} bytes, align ${s.align}${isMsg ? `, after the 16-byte header; version ${s.version}, type id ${s.typeId}` : ''}):`,
      ...[...s.presenceBytes.map((p, i) => ({ offset: p, text: `  @${p} _presence${i}: u8` })),
        ...s.fields.map((f) => ({ offset: f.offset, text: `  @${f.offset} ${f.name}: ${typeText(f.type)}${f.presence ? `? (bit ${f.presence.bit} of @${f.presence.offset})` : ''} [${f.size} bytes]${f.since > 1 ? ` @since(${f.since})` : ''}${f.deprecated ? ' @deprecated' : ''}` }))].sort((a, b) => a.offset - b.offset).map((l) => l.text),
    ].join('\n');
    out.push(docComment(`${s.doc ? s.doc + '\n\n' : ''}${diagram}`, '').trimEnd());
    out.push(`export class ${s.name} extends ${isMsg ? 'rt.MessageCore' : 'rt.StructView'} {`);
    if (isMsg) {
      out.push(`  static readonly NAME = '${s.fullName}';`);
      out.push(`  static readonly TYPE_ID = ${s.typeId}n;`);
      out.push(`  static readonly FIXED_SIZE = ${s.size};`);
      out.push(`  static readonly VERSION = ${s.version};`);
      out.push(`  static readonly VERSION_SIZES: readonly number[] = [${s.versionSizes!.join(', ')}];`);
      out.push('');
      out.push('  protected _type(): rt.MessageType {', `    return ${s.name};`, '  }');
      out.push('');
      out.push('  /**');
      out.push('   * A view of the message at `bytes[offset, offset + length)`. Checks only what keeps');
      out.push('   * accessors inside that range; call `verify()` before trusting the values.');
      out.push('   */');
      out.push(`  static view(bytes: rt.Bytes, offset = 0, length?: number): ${s.name} {`, `    return new ${s.name}().wrap(bytes, offset, length);`, '  }');
      out.push('');
      out.push('  /** Starts a message in place at `bytes[offset]`, using at most `capacity` bytes. End with `finish()`. */');
      out.push(`  static builder(bytes: rt.Bytes, offset = 0, capacity?: number): ${s.name} {`, `    return new ${s.name}().build(bytes, offset, capacity);`, '  }');
      out.push('');
      out.push('  /** Verifies untrusted bytes (docs/layout.md §8): null when safe to read. */');
      out.push('  static verify(bytes: rt.Bytes, offset = 0, length?: number): rt.VerifyError | null {');
      out.push(`    const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);`);
      out.push(`    return rt.verify(TYPES, ${s.name}.NAME, u8, offset, length ?? u8.length - offset);`);
      out.push('  }');
      out.push('');
      out.push('  /** Writes the canonical encoding of a JSON-form value (docs/layout.md §10); returns its size. */');
      out.push('  static encode(value: { [k: string]: unknown }, out: Uint8Array, offset = 0, capacity?: number): number {');
      out.push(`    return rt.encode(TYPES, ${s.name}.NAME, value, out, offset, capacity);`);
      out.push('  }');
      out.push('');
      out.push('  /** Verifies this view\'s range. */');
      out.push('  verify(): rt.VerifyError | null {');
      out.push(`    return rt.verify(TYPES, ${s.name}.NAME, this._u8, this._base, this._len);`);
      out.push('  }');
      out.push('');
      out.push('  /** The JSON form of the values (docs/layout.md §10). */');
      out.push('  toJSON(): { [k: string]: rt.JsonValue } {');
      out.push(`    return rt.toJSON(TYPES, ${s.name}.NAME, this._u8.subarray(this._base, this._base + this._len));`);
      out.push('  }');
    } else {
      out.push(`  static readonly SIZE = ${s.size};`);
      out.push(`  static readonly ALIGN = ${s.align};`);
    }

    s.fields.forEach((f, i) => emitField(f, i));
    out.push('}', '');

    function emitField(f: FieldLayout, i: number): void {
      const at = `this._o + ${f.offset}`;
      const cache = `_c${i}`;
      const T = vtype(f.type);
      const versioned = f.since > 1;
      const doc = docComment([f.doc, f.deprecated ? '@deprecated' : undefined].filter(Boolean).join('\n') || undefined, '  ').trimEnd();
      const lines: string[] = [];
      const presence = f.presence ? `(${M}._dv.getUint8(this._o + ${f.presence.offset}) & ${1 << f.presence.bit}) !== 0` : undefined;
      const absent = versioned ? `${M}._v < ${f.since}` : undefined;
      const writable = versioned ? `    ${M}._writable(${f.since}, '${f.name}');` : undefined;
      const setBit = f.presence ? `    ${M}._dv.setUint8(this._o + ${f.presence.offset}, ${M}._dv.getUint8(this._o + ${f.presence.offset}) | ${1 << f.presence.bit});` : undefined;
      const clearBit = f.presence ? `    ${M}._dv.setUint8(this._o + ${f.presence.offset}, ${M}._dv.getUint8(this._o + ${f.presence.offset}) & ${0xff ^ (1 << f.presence.bit)});` : undefined;
      const guard = (dflt: string): string[] => [
        ...(absent ? [`    if (${absent}) return ${f.presence ? 'null' : dflt};`] : []),
        ...(presence ? [`    if (!(${presence})) return null;`] : []),
      ];
      const ret = f.presence ? `${T} | null` : T;
      if (f.presence) {
        lines.push(`  /** Whether the optional field '${f.name}' holds a value. */`);
        lines.push(`  get has_${f.name}(): boolean {`, `    return ${absent ? `!(${absent}) && ` : ''}${presence};`, '  }');
      }
      if (doc) lines.push(doc);
      const cachedView = (cls: string, ctor: string, point: string): void => {
        lines.push(`  /** @internal */ ${cache}: ${cls} | undefined;`);
        lines.push(`  get ${f.name}(): ${ret} {`);
        lines.push(`    const c = (this.${cache} ??= ${ctor});`);
        if (absent) lines.push(`    if (${absent}) return ${f.presence ? 'null' : `${point.replace(/__M__/g, 'rt.ZERO').replace(/__AT__/g, `16 + ${f.offset}`)}`};`);
        if (presence) lines.push(`    if (!(${presence})) return null;`);
        lines.push(`    return ${point.replace(/__M__/g, M).replace(/__AT__/g, at)};`);
        lines.push('  }');
      };
      switch (f.type.kind) {
        case 'scalar':
        case 'enum': {
          const dflt = f.type.kind === 'scalar' ? (f.type.scalar === 'bool' ? 'false' : DV[f.type.scalar][1] === 'bigint' ? '0n' : '0') : `0 as ${T}`;
          lines.push(`  get ${f.name}(): ${ret} {`, ...guard(dflt), `    return ${readAt(f.type, M, at, false)};`, '  }');
          lines.push(`  set ${f.name}(v: ${ret}) {`);
          if (writable) lines.push(writable);
          if (f.presence) {
            lines.push('    if (v === null) {', clearBit!, `    ${writeAt(f.type, M, at, dflt.replace(/ as .*/, ''))};`, '      return;', '    }', setBit!);
          }
          lines.push(`    ${writeAt(f.type, M, at, 'v')};`, '  }');
          break;
        }
        case 'string':
        case 'bytes': {
          const dflt = f.type.kind === 'string' ? `''` : `${M}._u8.subarray(0, 0)`;
          lines.push(`  get ${f.name}(): ${ret} {`, ...guard(dflt), `    return ${readAt(f.type, M, at, false)};`, '  }');
          lines.push(`  /** Builder: stores ${f.type.kind === 'string' ? 'the string' : 'a copy of the bytes'} in the tail${f.presence ? ' (null clears the field)' : ''}. */`);
          lines.push(`  set_${f.name}(v: ${ret}): void {`);
          if (writable) lines.push(writable);
          if (f.presence) lines.push('    if (v === null) {', clearBit!, `      ${M}._dv.setBigUint64(${at}, 0n, true);`, '      return;', '    }', setBit!);
          lines.push(`    ${writeAt(f.type, M, at, 'v')};`, '  }');
          break;
        }
        case 'struct':
        case 'union': {
          const cls = tname(f.type.name);
          cachedView(cls, `new ${cls}(${M}, 0)`, '((c._m = __M__), (c._o = __AT__), c)');
          if (f.presence || versioned) {
            lines.push(`  /** Builder: ${f.presence ? 'marks the field present and ' : ''}returns its view. */`);
            lines.push(`  init_${f.name}(): ${cls} {`);
            if (writable) lines.push(writable);
            if (setBit) lines.push(setBit);
            lines.push(`    const c = (this.${cache} ??= new ${cls}(${M}, 0));`, `    c._m = ${M};`, `    c._o = ${at};`, '    return c;', '  }');
          }
          break;
        }
        case 'array': {
          const t = f.type;
          cachedView(T, `new rt.Vec(${M}, ${elem(t.element)}, ${t.stride})`, `c._atFixed(__M__, __AT__, ${t.length})`);
          if (f.presence || versioned) {
            lines.push(`  /** Builder: ${f.presence ? 'marks the field present and ' : ''}returns the array. */`);
            lines.push(`  init_${f.name}(): ${T} {`);
            if (writable) lines.push(writable);
            if (setBit) lines.push(setBit);
            lines.push(`    return (this.${cache} ??= new rt.Vec(${M}, ${elem(t.element)}, ${t.stride}))._atFixed(${M}, ${at}, ${t.length});`, '  }');
          }
          break;
        }
        case 'vector': {
          const t = f.type;
          cachedView(T, `new rt.Vec(${M}, ${elem(t.element)}, ${t.stride})`, `c._atRef(__M__, __AT__)`);
          lines.push(`  /** Builder: allocates ${'`count`'} zeroed elements in the tail and returns them. */`);
          lines.push(`  init_${f.name}(count: number): ${T} {`);
          if (writable) lines.push(writable);
          if (setBit) lines.push(setBit);
          lines.push(`    ${M}._initRef(${at}, count, ${t.stride});`);
          lines.push(`    return (this.${cache} ??= new rt.Vec(${M}, ${elem(t.element)}, ${t.stride}))._atRef(${M}, ${at});`, '  }');
          const et = t.element;
          if (et.kind === 'scalar' || et.kind === 'enum' || et.kind === 'string' || et.kind === 'bytes') {
            const ET = vtype(et);
            lines.push(`  /** Builder: stores the values (canonical order: elements, then their blocks). */`);
            lines.push(`  set_${f.name}(values: readonly ${ET}[]${ET === 'number' ? ' | ArrayLike<number>' : ''}): void {`);
            lines.push(`    const v = this.init_${f.name}(values.length);`, '    for (let i = 0; i < values.length; i++) v.set(i, values[i]!);', '  }');
          }
          break;
        }
      }
      out.push(...lines);
    }
  }

  return [{ path: outputName(c.layout.file, '.ts'), contents: out.filter((l, i, a) => !(l === '' && a[i - 1] === '')).join('\n').replace(/\n+$/, '\n') }];
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
