/**
 * `--emit c`: one header per schema (docs/layout.md §9, C), on top of the runtime in
 * bindings/c/include/isthmus/layout.h.
 *
 * Per struct and message: a C struct of its fixed part whose members sit at the offsets of
 * the layout (checked by `ISTHMUS_STATIC_ASSERT` for every member and the size), a byte
 * diagram, the type descriptor the runtime's verify / JSON walkers read, bounds-checked
 * accessors for the variable parts and for fields that may read as defaults, and builder
 * helpers. Per enum: a typedef of the underlying integer and one macro per value. Per
 * union: tag macros, case accessors and case builders.
 *
 * Names: types `<ns>_<Name>`; descriptors and tables `isthmus_desc_<ns>_<Name>`,
 * `isthmus_fields_…`, `isthmus_values_…`, `isthmus_cases_…`, `isthmus_versions_…` and
 * `isthmus_anon_<ns>_<k>` (so schema names can not collide with them); the message list
 * `isthmus_messages_<ns>`. Any other collision between generated names is an error here.
 */
import type { FieldLayout, ScalarName, StructLayout, TypeRef, UnionLayout } from '@isthmus/runtime';
import { typeTable, type CompiledSchema } from '../compile.js';
import { GENERATED_BANNER, outputName, type EmittedFile } from './common.js';

const CTYPE: Record<ScalarName, string> = {
  bool: 'uint8_t', u8: 'uint8_t', u16: 'uint16_t', u32: 'uint32_t', u64: 'uint64_t',
  i8: 'int8_t', i16: 'int16_t', i32: 'int32_t', i64: 'int64_t', f32: 'float', f64: 'double',
};

/** `market.BookUpdate` → `market_BookUpdate`. */
export function cName(fullName: string): string {
  return fullName.replace(/\./g, '_');
}

/** A C block comment; `*\/` inside the text is broken up. */
function comment(text: string | undefined, indent = ''): string[] {
  if (!text) return [];
  const lines = text.replace(/\*\//g, '* /').split('\n');
  if (lines.length === 1) return [`${indent}/* ${lines[0]} */`];
  return [`${indent}/*`, ...lines.map((l) => `${indent} *${l ? ' ' + l : ''}`), `${indent} */`];
}

function enumLiteral(value: number, unsigned: boolean): string {
  if (value === -2147483648) return '(-2147483647 - 1)';
  return value < 0 ? `(${value})` : `${value}${unsigned ? 'u' : ''}`;
}

export function emitC(c: CompiledSchema): EmittedFile[] {
  const table = typeTable(c);
  /** Whether every bit pattern of a value of `t` is valid: verify() need not look inside. */
  const plain = (t: TypeRef): boolean => {
    if (t.kind === 'scalar') return t.scalar !== 'bool';
    if (t.kind === 'array') return plain(t.element);
    if (t.kind !== 'struct') return false;
    const s = table.get(t.name);
    if (!s || s.kind === 'enum' || s.kind === 'union') throw new Error(`C emitter: '${t.name}' is not a struct`);
    return s.fields.every((f) => plain(f.type));
  };
  const ns = cName(c.layout.namespace);
  const out: string[] = [];
  const names = new Map<string, string>();
  /** Records a global C name; two generated things with one name are a schema the C mapping can not express. */
  const claim = (name: string, what: string): string => {
    const prior = names.get(name);
    if (prior) throw new Error(`C emitter: '${name}' would name both ${prior} and ${what} in ${c.layout.file}; rename one of them`);
    names.set(name, what);
    return name;
  };

  const guard = `ISTHMUS_GEN_${c.layout.file.replace(/\W/g, '_').toUpperCase()}`;
  out.push(`/* ${GENERATED_BANNER}`, ` * Source: ${c.layout.file}`, ' *', ' * Include after putting bindings/c/include on the include path. Field offsets, sizes and', ' * the reader rules are those of docs/layout.md. */');
  out.push(`#ifndef ${guard}`, `#define ${guard}`, '', '#include <stddef.h>', '#include <stdint.h>', '#include "isthmus/layout.h"');
  for (const i of c.layout.imports) out.push(`#include "${outputName(i.file, '.h')}"`);
  out.push('', '#ifdef __cplusplus', 'extern "C" {', '#endif', '');

  let anon = 0;
  /** C expression for the descriptor of `t`; emits anonymous array / vector descriptors first. */
  const desc = (t: TypeRef): string => {
    switch (t.kind) {
      case 'scalar':
        return `&isthmus_desc_${t.scalar}`;
      case 'string':
      case 'bytes':
        return `&isthmus_desc_${t.kind}`;
      case 'enum':
      case 'struct':
      case 'union':
        return `&isthmus_desc_${cName(t.name)}`;
      case 'array':
      case 'vector': {
        const el = desc(t.element);
        const name = claim(`isthmus_anon_${ns}_${anon++}`, 'a descriptor');
        const body = t.kind === 'array' ? `ISTHMUS_ARRAY_DESC(${el}, ${t.length}, ${t.stride}, ${+plain(t)})` : `ISTHMUS_VECTOR_DESC(${el}, ${t.stride})`;
        out.push(`static const isthmus_type ${name} = ${body};`);
        return `&${name}`;
      }
    }
  };

  /** C declarator for a member of type `t` called `name`. */
  const declare = (t: TypeRef, name: string): string => {
    switch (t.kind) {
      case 'scalar':
        return `${CTYPE[t.scalar]} ${name}`;
      case 'enum':
      case 'struct':
        return `${cName(t.name)} ${name}`;
      case 'union':
        return `isthmus_union_ref ${name}`;
      case 'string':
      case 'bytes':
      case 'vector':
        return `isthmus_ref ${name}`;
      case 'array':
        return declare(t.element, `${name}[${t.length}]`);
    }
  };
  /** C type a pointer to a value of `t` has: an array decays to its element. */
  const pointee = (t: TypeRef): string => (t.kind === 'array' ? pointee(t.element) : declare(t, '').trim());

  for (const t of c.layout.types) {
    const n = cName(t.fullName);
    if (t.kind === 'enum') {
      const unsigned = t.base.startsWith('u');
      out.push(...comment(`${t.doc ? t.doc + '\n\n' : ''}Enum ${t.fullName} : ${t.base}.`), `typedef ${CTYPE[t.base]} ${claim(n, `enum ${t.fullName}`)};`);
      for (const v of t.values) {
        const doc = [v.doc, v.deprecated ? 'Deprecated.' : undefined].filter(Boolean).join(' ');
        out.push(...comment(doc || undefined), `#define ${claim(`${n}_${v.name}`, `value ${t.fullName}.${v.name}`)} ((${n})${enumLiteral(v.value, unsigned)})`);
      }
      const values = claim(`isthmus_values_${n}`, 'a value table');
      out.push(`static const isthmus_enum_value ${values}[] = {${t.values.map((v) => `{"${v.name}", ${enumLiteral(v.value, false)}}`).join(', ')}};`);
      out.push(`static const isthmus_type ${claim(`isthmus_desc_${n}`, 'a descriptor')} = ISTHMUS_ENUM_DESC("${t.fullName}", ${t.base.endsWith('8') ? 1 : t.base.endsWith('16') ? 2 : 4}, ISTHMUS_${t.base.toUpperCase()}, ${values}, ${t.values.length});`, '');
    } else if (t.kind === 'union') {
      emitUnion(t, n);
    } else {
      emitRecord(t, n);
    }
  }

  function emitUnion(u: UnionLayout, n: string): void {
    out.push(...comment(`${u.doc ? u.doc + '\n\n' : ''}Union ${u.fullName}: an isthmus_union_ref {tag, offset}; tag 0 = no value.\n${u.cases.map((k) => `  tag ${k.tag}: ${k.name} (${k.size} bytes)`).join('\n')}`));
    for (const k of u.cases) out.push(`#define ${claim(`${n}_TAG_${k.name}`, `tag ${u.fullName}.${k.name}`)} ${k.tag}u`);
    const cases = u.cases.map((k) => `{"${k.name}", ${desc(k.type)}, ${k.size}}`);
    const table = claim(`isthmus_cases_${n}`, 'a case table');
    out.push(`static const isthmus_case ${table}[] = {${cases.join(', ')}};`);
    out.push(`static const isthmus_type ${claim(`isthmus_desc_${n}`, 'a descriptor')} = ISTHMUS_UNION_DESC("${u.fullName}", ${table}, ${u.cases.length});`);
    for (const k of u.cases) {
      const et = pointee(k.type);
      out.push(...comment(k.doc));
      out.push(`/* Case '${k.name}': its value, or NULL when *u holds another case or none, or when *u or the value leaves [msg, msg + len). */`);
      out.push(`static inline const ${et} *${claim(`${n}_${k.name}`, `case accessor ${u.fullName}.${k.name}`)}(const void *msg, size_t len, const isthmus_union_ref *u) {`);
      out.push(`  return (const ${et} *)isthmus_union_get(msg, len, u, ${k.tag}u, ${k.size}u).ptr;`, '}');
      out.push(`/* Builder: sets *u (inside the message being built) to case '${k.name}' and returns its zeroed value to fill in, or NULL. */`);
      out.push(`static inline ${et} *${claim(`${n}_init_${k.name}`, `case builder ${u.fullName}.${k.name}`)}(isthmus_builder *b, isthmus_union_ref *u) {`);
      out.push(`  return (${et} *)isthmus_builder_init_union(b, u, ${k.tag}u, ${k.size}u);`, '}');
    }
    out.push('');
  }

  function emitRecord(s: StructLayout, n: string): void {
    const isMsg = s.kind === 'message';
    const what = `${s.kind} ${s.fullName}`;
    const members = [
      ...s.presenceBytes.map((p, i) => ({ offset: p, size: 1, align: 1, decl: `uint8_t _presence${i}`, name: `_presence${i}`, f: undefined as FieldLayout | undefined })),
      ...s.fields.map((f) => ({ offset: f.offset, size: f.size, align: f.align, decl: declare(f.type, f.name), name: f.name, f })),
    ].sort((a, b) => a.offset - b.offset);

    // Byte diagram: every member and every padding gap.
    const rows: string[] = [];
    let cursor = 0;
    for (const m of members) {
      if (m.offset > cursor) rows.push(`  ${String(cursor).padStart(5)} ${String(m.offset - cursor).padStart(4)}  (padding)`);
      const notes = [
        m.f?.presence ? `optional: bit ${m.f.presence.bit} of byte ${m.f.presence.offset}` : '',
        m.f && m.f.since > 1 ? `@since(${m.f.since})` : '',
        m.f?.deprecated ? '@deprecated' : '',
        m.f ? '' : 'presence bits',
      ].filter(Boolean);
      rows.push(`  ${String(m.offset).padStart(5)} ${String(m.size).padStart(4)}  ${m.name}${notes.length ? ` (${notes.join(', ')})` : ''}`);
      cursor = m.offset + m.size;
    }
    if (s.size > cursor) rows.push(`  ${String(cursor).padStart(5)} ${String(s.size - cursor).padStart(4)}  (padding)`);
    const head = isMsg
      ? `Message ${s.fullName}: fixed part of ${s.size} bytes after the 16-byte header (offsets below are from its start, byte 16 of the message); version ${s.version}; type id ${s.typeId}.`
      : `Struct ${s.fullName}: ${s.size} bytes, align ${s.align}.`;
    out.push(...comment(`${s.doc ? s.doc + '\n\n' : ''}${head}${rows.length ? '\n offset size  field\n' + rows.join('\n') : ''}`));

    if (members.length) {
      out.push(`typedef struct ${claim(n, what)} {`);
      for (const m of members) {
        if (m.f) out.push(...comment([m.f.doc, m.f.deprecated ? 'Deprecated.' : undefined].filter(Boolean).join(' ') || undefined, '  '));
        out.push(`  ${m.decl};`);
      }
      // Natural alignment pads to the largest member's alignment; a message pads further to 8.
      const natural = Math.max(1, ...members.map((m) => m.align));
      const cSize = Math.ceil(cursor / natural) * natural;
      if (cSize < s.size) out.push(`  uint8_t _tail[${s.size - cSize}];`);
      out.push(`} ${n};`);
      for (const m of members) out.push(`ISTHMUS_STATIC_ASSERT(offsetof(${n}, ${m.name}) == ${m.offset}, "${n}.${m.name} must be at offset ${m.offset}");`);
      out.push(`ISTHMUS_STATIC_ASSERT(sizeof(${n}) == ${s.size}, "${n} must be ${s.size} bytes");`);
    }

    const fieldRows = s.fields.map((f) =>
      f.presence
        ? `ISTHMUS_OPTIONAL_FIELD("${f.name}", ${desc(f.type)}, ${f.offset}, ${f.since}, ${f.presence.offset}, ${f.presence.bit})`
        : `ISTHMUS_FIELD("${f.name}", ${desc(f.type)}, ${f.offset}, ${f.since})`,
    );
    const fields = s.fields.length ? claim(`isthmus_fields_${n}`, 'a field table') : 'NULL';
    if (s.fields.length) out.push(`static const isthmus_field ${fields}[] = {`, ...fieldRows.map((r) => `  ${r},`), '};');
    const descName = claim(`isthmus_desc_${n}`, 'a descriptor');
    if (isMsg) {
      const idMacro = claim(`${n.toUpperCase()}_TYPE_ID`, `the type id of ${s.fullName}`);
      const versions = claim(`isthmus_versions_${n}`, 'a version table');
      out.push(`#define ${idMacro} UINT64_C(${s.typeId})`);
      out.push(`/* Fixed-part size of each version, from 1. */`, `static const uint16_t ${versions}[] = {${s.versionSizes!.join(', ')}};`);
      out.push(`static const isthmus_type ${descName} = ISTHMUS_MESSAGE_DESC("${s.fullName}", ${s.size}, ${fields}, ${s.fields.length}, ${idMacro}, ${s.version}, ${versions});`);
      out.push(`/* Verifies untrusted bytes (docs/layout.md §8): 0 when safe to read, else -1 and *err (may be NULL). */`);
      out.push(`static inline int ${claim(`${n}_verify`, `verify of ${s.fullName}`)}(const void *msg, size_t len, isthmus_error *err) {`, `  return isthmus_verify(&${descName}, msg, len, err);`, '}');
      const ret = members.length ? n : 'void';
      if (members.length) {
        out.push(`/* The fixed part of the verified message at msg. Fields @since(N > 1) are read through their accessors, which apply the version rule. */`);
        out.push(`static inline const ${n} *${claim(`${n}_fixed`, `the fixed-part accessor of ${s.fullName}`)}(const void *msg) {`, `  return (const ${n} *)(const void *)((const uint8_t *)msg + ISTHMUS_HEADER_SIZE);`, '}');
      }
      out.push(`/* Builder: writes the header into buf[0, cap) (8-aligned) and returns the zeroed fixed part, or NULL if cap is too small. */`);
      out.push(`static inline ${ret} *${claim(`${n}_builder_init`, `the builder of ${s.fullName}`)}(isthmus_builder *b, void *buf, size_t cap) {`, `  return (${ret} *)isthmus_builder_init(b, &${descName}, buf, cap);`, '}');
    } else {
      out.push(`static const isthmus_type ${descName} = ISTHMUS_STRUCT_DESC("${s.fullName}", ${s.size}, ${fields}, ${s.fields.length}, ${+plain({ kind: 'struct', name: s.fullName })});`);
    }

    // Readers: a message's take (msg, len); a struct's take the struct in place too.
    const params = isMsg ? 'const void *msg, size_t len' : `const void *msg, size_t len, const ${n} *self`;
    s.fields.forEach((f, i) => {
      const fd = `&${fields}[${i}]`;
      const pos = isMsg ? `isthmus_msg_field(msg, len, ${fd})` : `isthmus_struct_field(msg, len, self, ${fd})`;
      const t = f.type;
      const mayDefault = !!f.presence || (isMsg && f.since > 1);
      const fn = (suffix: string, kind: string): string => claim(`${n}_${suffix}`, `${kind} of ${s.fullName}.${f.name}`);
      if (mayDefault) {
        const why = [f.presence ? 'its presence bit is set' : '', isMsg && f.since > 1 ? `the writer knew version ${f.since}` : ''].filter(Boolean).join(' and ');
        out.push(`/* Whether '${f.name}' holds a value: ${why}; 0 when that can not be read inside [msg, msg + len). */`);
        out.push(`static inline int ${fn(`has_${f.name}`, 'has_')}(${params}) {`, `  return ${isMsg ? `isthmus_msg_has(msg, len, ${fd})` : `isthmus_struct_has(msg, len, self, ${fd})`};`, '}');
      }
      const ok = 'ok = 0 when the reference or the block leaves [msg, msg + len)';
      const absent = mayDefault ? '; empty when the field reads as its default' : '';
      if (t.kind === 'string' || t.kind === 'bytes') {
        const rt = t.kind === 'string' ? 'isthmus_str' : 'isthmus_bytes';
        out.push(`/* '${f.name}' in place${t.kind === 'string' ? ' (not NUL-terminated)' : ''}${absent}; ${ok}. */`);
        out.push(`static inline ${rt} ${fn(f.name, 'accessor')}(${params}) {`, `  return isthmus_${t.kind === 'string' ? 'str' : 'bytes'}_at(msg, len, ${pos});`, '}');
      } else if (t.kind === 'vector') {
        out.push(`/* '${f.name}' in place: count elements of ${pointee(t.element)} at ptr, ${t.stride} bytes apart${absent}; ${ok}. */`);
        out.push(`static inline isthmus_span ${fn(f.name, 'accessor')}(${params}) {`, `  return isthmus_vector_at(msg, len, ${pos}, ${t.stride}u);`, '}');
      } else if (mayDefault && (t.kind === 'scalar' || t.kind === 'enum')) {
        const ct = declare(t, '').trim();
        out.push(`/* '${f.name}', or 0 when it reads as its default or lies outside [msg, msg + len). */`);
        out.push(`static inline ${ct} ${fn(f.name, 'accessor')}(${params}) {`, `  ${ct} v = 0;`, `  isthmus_read_at(msg, len, ${pos}, &v, sizeof v);`, '  return v;', '}');
      } else if (mayDefault) {
        const et = pointee(t);
        out.push(`/* '${f.name}' in place, or NULL when it reads as its default or lies outside [msg, msg + len). */`);
        out.push(`static inline const ${et} *${fn(f.name, 'accessor')}(${params}) {`, `  return (const ${et} *)isthmus_inline_at(msg, len, ${pos}, ${f.size}u);`, '}');
      }

      // Builders write into the message being built; `self` is its fixed part or a struct inside it.
      const self = `${n} *self`;
      const mark = f.presence ? [`  ((uint8_t *)self)[${f.presence.offset}] |= ${1 << f.presence.bit}u;`] : [];
      if (f.presence) {
        out.push(`/* Builder: marks '${f.name}' present. */`);
        out.push(`static inline void ${fn(`set_has_${f.name}`, 'set_has_')}(${self}) {`, ...mark, '}');
      }
      if (t.kind === 'string' || t.kind === 'bytes') {
        out.push(`/* Builder: copies n bytes${t.kind === 'string' ? ' of UTF-8' : ''} into a new tail block${f.presence ? ' and marks the field present' : ''}; 0, or -1 when out of capacity. */`);
        out.push(`static inline int ${fn(`set_${f.name}`, 'setter')}(isthmus_builder *b, ${self}, const void *p, size_t n) {`, ...mark, `  return isthmus_builder_set_bytes(b, &self->${f.name}, p, n);`, '}');
      } else if (t.kind === 'vector') {
        const et = pointee(t.element);
        out.push(`/* Builder: allocates count zeroed elements in a new tail block${f.presence ? ' and marks the field present' : ''}; NULL when out of capacity. */`);
        out.push(`static inline ${et} *${fn(`init_${f.name}`, 'init_')}(isthmus_builder *b, ${self}, uint32_t count) {`, ...mark, `  return (${et} *)isthmus_builder_init_ref(b, &self->${f.name}, count, ${t.stride}u);`, '}');
      } else if (f.presence && (t.kind === 'scalar' || t.kind === 'enum')) {
        out.push(`/* Builder: sets '${f.name}' and marks it present. */`);
        out.push(`static inline void ${fn(`set_${f.name}`, 'setter')}(${self}, ${declare(t, 'v')}) {`, ...mark, `  self->${f.name} = v;`, '}');
      }
    });
    out.push('');
  }

  const messages = c.layout.types.filter((t) => t.kind === 'message').map((t) => `&isthmus_desc_${cName(t.fullName)}`);
  out.push(`/* Every message type of this schema, NULL-terminated. */`);
  out.push(`static const isthmus_type *const ${claim(`isthmus_messages_${ns}`, 'the message list')}[] = {${[...messages, 'NULL'].join(', ')}};`);
  out.push('', '#ifdef __cplusplus', '}', '#endif', `#endif /* ${guard} */`, '');
  return [{ path: outputName(c.layout.file, '.h'), contents: out.join('\n') }];
}
