/**
 * `--emit c`: one header per schema (docs/layout.md §9, C).
 *
 * For each struct and message: a C struct of its fixed part whose members sit at the
 * offsets of the layout, with `_Static_assert(offsetof(...))` for every member; a type
 * descriptor for the runtime's verify / JSON walkers (bindings/c/include/isthmus/layout.h);
 * bounds-checked accessors for the variable parts; builder helpers. Compiles clean as C11
 * and as C++17 with -Wall -Wextra -Werror.
 */
import type { FieldLayout, ScalarName, StructLayout, TypeLayout, TypeRef, UnionLayout } from '@isthmus/runtime';
import { typeTable, type CompiledSchema } from '../compile.js';
import { GENERATED_BANNER, outputName, type EmittedFile } from './common.js';

const CTYPE: Record<ScalarName, string> = {
  bool: 'uint8_t', u8: 'uint8_t', u16: 'uint16_t', u32: 'uint32_t', u64: 'uint64_t',
  i8: 'int8_t', i16: 'int16_t', i32: 'int32_t', i64: 'int64_t', f32: 'float', f64: 'double',
};
const KIND: Record<ScalarName, string> = {
  bool: 'ISTHMUS_BOOL', u8: 'ISTHMUS_U8', u16: 'ISTHMUS_U16', u32: 'ISTHMUS_U32', u64: 'ISTHMUS_U64',
  i8: 'ISTHMUS_I8', i16: 'ISTHMUS_I16', i32: 'ISTHMUS_I32', i64: 'ISTHMUS_I64', f32: 'ISTHMUS_F32', f64: 'ISTHMUS_F64',
};

/** `market.BookUpdate` → `market_BookUpdate`. */
export function cName(fullName: string): string {
  return fullName.replace(/\./g, '_');
}

function comment(doc: string | undefined, indent = ''): string[] {
  if (!doc) return [];
  const lines = doc.replace(/\*\//g, '* /').split('\n');
  return [lines.map((l, i) => `${indent}${i ? ' *' : '/*'}${l ? ' ' + l : ''}`).join('\n') + ' */'];
}

export function emitC(c: CompiledSchema): EmittedFile[] {
  const table = typeTable(c);
  const get = (n: string): TypeLayout => table.get(n)!;
  const out: string[] = [];
  const guard = `ISTHMUS_GEN_${cName(c.layout.namespace).toUpperCase()}_${c.layout.file.replace(/\W/g, '_').toUpperCase()}`;
  out.push(`/* ${GENERATED_BANNER}\n * Source: ${c.layout.file} */`);
  out.push(`#ifndef ${guard}`, `#define ${guard}`, '', '#include <stddef.h>', '#include <stdint.h>', '#include "isthmus/layout.h"');
  for (const i of c.layout.imports) out.push(`#include "${outputName(i.file, '.h')}"`);
  out.push('', '#ifdef __cplusplus', 'extern "C" {', '#endif', '');

  let anon = 0;
  /** C expression for the descriptor of `t`, emitting anonymous descriptors first as needed. */
  const desc = (t: TypeRef, prefix: string): string => {
    switch (t.kind) {
      case 'scalar':
        return `&isthmus_t_${t.scalar}`;
      case 'string':
      case 'bytes':
        return `&isthmus_t_${t.kind}`;
      case 'enum':
      case 'struct':
      case 'union':
        return `&${cName(t.name)}_type`;
      case 'array':
      case 'vector': {
        const el = desc(t.element, prefix);
        const name = `${prefix}_d${anon++}`;
        const size = t.kind === 'array' ? t.stride * t.length : 8;
        out.push(`static const isthmus_type ${name} = {${t.kind === 'array' ? 'ISTHMUS_ARRAY' : 'ISTHMUS_VECTOR'}, "${t.kind}", ${size}, NULL, 0, ISTHMUS_BOOL, NULL, 0, NULL, 0, ${el}, ${t.kind === 'array' ? t.length : 0}, ${t.stride}, 0, 0, NULL};`);
        return `&${name}`;
      }
    }
  };

  /** C declarator for a member of type `t` called `name`. */
  const member = (t: TypeRef, name: string): string => {
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
        return member(t.element, `${name}[${t.length}]`);
    }
  };
  /** C type of one element in place, for typed element pointers. */
  const elemType = (t: TypeRef): string => (t.kind === 'array' ? 'void' : member(t, '').trim());

  for (const t of c.layout.types) {
    const n = cName(t.fullName);
    if (t.kind === 'enum') {
      const base = CTYPE[t.base];
      out.push(...comment(t.doc), `typedef ${base} ${n};`);
      for (const v of t.values) out.push(`#define ${n}_${v.name} ((${n})${v.value < 0 ? `(${v.value})` : `${v.value}${t.base.startsWith('u') ? 'u' : ''}`})${v.deprecated ? ' /* deprecated */' : ''}`);
      out.push(`static const isthmus_enum_value ${n}_values[] = {${t.values.map((v) => `{"${v.name}", ${v.value}}`).join(', ')}};`);
      out.push(`static const isthmus_type ${n}_type = {ISTHMUS_ENUM, "${t.fullName}", ${base === 'uint8_t' || base === 'int8_t' ? 1 : base.includes('16') ? 2 : 4}, NULL, 0, ${KIND[t.base]}, ${n}_values, ${t.values.length}, NULL, 0, NULL, 0, 0, 0, 0, NULL};`, '');
    } else if (t.kind === 'union') {
      emitUnion(t, n);
    } else {
      emitRecord(t, n);
    }
  }

  function emitUnion(u: UnionLayout, n: string): void {
    out.push(...comment(`${u.doc ? u.doc + '\n' : ''}Union ${u.fullName}: isthmus_union_ref {tag, offset}; tags ${u.cases.map((k) => `${k.tag} = ${k.name}`).join(', ')}; 0 = no value.`));
    for (const k of u.cases) out.push(`#define ${n}_TAG_${k.name} ${k.tag}u`);
    const cases = u.cases.map((k) => `{"${k.name}", ${desc(k.type, n)}, ${k.size}}`);
    out.push(`static const isthmus_case ${n}_cases[] = {${cases.join(', ')}};`);
    out.push(`static const isthmus_type ${n}_type = {ISTHMUS_UNION, "${u.fullName}", 8, NULL, 0, ISTHMUS_BOOL, NULL, 0, ${n}_cases, ${u.cases.length}, NULL, 0, 0, 0, 0, NULL};`);
    for (const k of u.cases) {
      const et = elemType(k.type);
      out.push(`/* Case '${k.name}': a pointer to its value (${et}), or NULL if the union holds another case or the value leaves [msg, msg + len). */`);
      out.push(`static inline const ${et} *${n}_${k.name}(const void *msg, size_t len, const isthmus_union_ref *u) {`, `  return (const ${et} *)isthmus_union_get(msg, len, u, ${k.tag}u, ${k.size}u).ptr;`, '}');
      out.push(`/* Builder: sets *u to case '${k.name}' and returns its zeroed value to fill in, or NULL when out of capacity. */`);
      out.push(`static inline ${et} *${n}_init_${k.name}(isthmus_builder *b, isthmus_union_ref *u) {`, `  return (${et} *)isthmus_builder_init_union(b, u, ${k.tag}u, ${k.size}u);`, '}');
    }
    out.push('');
  }

  function emitRecord(s: StructLayout, n: string): void {
    const isMsg = s.kind === 'message';
    const members = [
      ...s.presenceBytes.map((p, i) => ({ offset: p, decl: `uint8_t _presence${i}`, name: `_presence${i}`, f: undefined as FieldLayout | undefined })),
      ...s.fields.map((f) => ({ offset: f.offset, decl: member(f.type, f.name), name: f.name, f })),
    ].sort((a, b) => a.offset - b.offset);
    const diagram = [
      `${isMsg ? 'Message' : 'Struct'} ${s.fullName}: ${s.size} bytes, align ${s.align}${isMsg ? `; the fixed part after the 16-byte header; version ${s.version}; type id ${s.typeId}` : ''}`,
      ...members.map((m) => `  @${String(m.offset).padEnd(4)} ${m.name}${m.f?.presence ? ` (optional: bit ${m.f.presence.bit} of @${m.f.presence.offset})` : ''}${m.f && m.f.since > 1 ? ` @since(${m.f.since})` : ''}${m.f?.deprecated ? ' @deprecated' : ''}`),
    ].join('\n');
    out.push(...comment(`${s.doc ? s.doc + '\n\n' : ''}${diagram}`));
    if (members.length) {
      out.push(`typedef struct ${n} {`);
      for (const m of members) {
        if (m.f) out.push(...comment(m.f.doc, '  '));
        out.push(`  ${m.decl};`);
      }
      const natural = members.reduce((a, m) => Math.max(a, m.f ? m.f.align : 1), 1);
      const end = members.reduce((e, m) => Math.max(e, m.offset + (m.f ? m.f.size : 1)), 0);
      const cSize = Math.ceil(end / natural) * natural;
      if (cSize < s.size) out.push(`  uint8_t _tail[${s.size - cSize}];`);
      out.push(`} ${n};`);
      for (const m of members) out.push(`ISTHMUS_STATIC_ASSERT(offsetof(${n}, ${m.name}) == ${m.offset}, "${n}.${m.name} must be at offset ${m.offset}");`);
      out.push(`ISTHMUS_STATIC_ASSERT(sizeof(${n}) == ${s.size}, "${n} must be ${s.size} bytes");`);
    }
    const fieldDescs = s.fields.map((f) => `{"${f.name}", ${desc(f.type, n)}, ${f.offset}, ${f.presence ? f.presence.offset : -1}, ${f.presence ? f.presence.bit : 0}, ${f.since}}`);
    if (fieldDescs.length) out.push(`static const isthmus_field ${n}_fields[] = {${fieldDescs.join(',\n  ')}};`);
    const fields = fieldDescs.length ? `${n}_fields` : 'NULL';
    if (isMsg) {
      out.push(`#define ${n.toUpperCase()}_TYPE_ID UINT64_C(${s.typeId})`);
      out.push(`static const uint16_t ${n}_version_sizes[] = {${s.versionSizes!.join(', ')}};`);
      out.push(`static const isthmus_type ${n}_type = {ISTHMUS_MESSAGE, "${s.fullName}", ${s.size}, ${fields}, ${s.fields.length}, ISTHMUS_BOOL, NULL, 0, NULL, 0, NULL, 0, 0, ${n.toUpperCase()}_TYPE_ID, ${s.version}, ${n}_version_sizes};`);
      out.push(`/* Verifies untrusted bytes (docs/layout.md §8): 0 when safe to read, else -1 and *err. */`);
      out.push(`static inline int ${n}_verify(const void *msg, size_t len, isthmus_error *err) {`, `  return isthmus_verify(&${n}_type, msg, len, err);`, '}');
      if (members.length) {
        out.push(`/* The fixed part of the message at msg (8-aligned). Read fields @since(N > 1) through their has_ function. */`);
        out.push(`static inline const ${n} *${n}_fixed(const void *msg) {`, `  return (const ${n} *)(const void *)((const uint8_t *)msg + ISTHMUS_HEADER_SIZE);`, '}');
        out.push(`/* Builder: writes the header into buf[0, cap) and returns the zeroed fixed part, or NULL if cap is too small. */`);
        out.push(`static inline ${n} *${n}_builder_init(isthmus_builder *b, void *buf, size_t cap) {`, `  return (${n} *)isthmus_builder_init(b, &${n}_type, buf, cap);`, '}');
      } else {
        out.push(`static inline void *${n}_builder_init(isthmus_builder *b, void *buf, size_t cap) {`, `  return isthmus_builder_init(b, &${n}_type, buf, cap);`, '}');
      }
    } else {
      out.push(`static const isthmus_type ${n}_type = {ISTHMUS_STRUCT, "${s.fullName}", ${s.size}, ${fields}, ${s.fields.length}, ISTHMUS_BOOL, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0, NULL};`);
    }
    // Accessors: messages take (msg, len); structs also take the struct in place.
    const self = isMsg ? `const void *msg, size_t len` : `const void *msg, size_t len, const ${n} *self`;
    const selfExpr = isMsg ? `${n}_fixed(msg)` : 'self';
    for (const f of s.fields) {
      const versioned = isMsg && f.since > 1;
      if (f.presence || versioned) {
        const sig = isMsg ? 'const void *msg' : `const ${n} *self`;
        const conds = [...(versioned ? [`isthmus_msg_version(msg) >= ${f.since}`] : []), ...(f.presence ? [`(((const uint8_t *)${isMsg ? `${n}_fixed(msg)` : 'self'})[${f.presence.offset}] & ${1 << f.presence.bit}u)`] : [])];
        out.push(`/* Whether '${f.name}' holds a value${versioned ? ` (the writer knew version ${f.since})` : ''}. */`);
        out.push(`static inline int ${n}_has_${f.name}(${sig}) {`, `  return ${conds.join(' && ') || '1'} ? 1 : 0;`, '}');
        if (f.presence) out.push(`static inline void ${n}_set_has_${f.name}(${n} *self) {`, `  ((uint8_t *)self)[${f.presence.offset}] |= ${1 << f.presence.bit}u;`, '}');
      }
      const t = f.type;
      if (t.kind === 'string') {
        out.push(`/* '${f.name}' in place (not NUL-terminated); ok = 0 when the reference leaves [msg, msg + len). */`);
        out.push(`static inline isthmus_str ${n}_${f.name}(${self}) {`);
        if (isMsg) out.push(`  if (len < ISTHMUS_HEADER_SIZE + sizeof(${n})) { isthmus_str bad = {NULL, 0, 0}; return bad; }`);
        out.push(`  return isthmus_str_get(msg, len, &${selfExpr}->${f.name});`, '}');
      } else if (t.kind === 'bytes' || t.kind === 'vector') {
        const stride = t.kind === 'vector' ? t.stride : 1;
        const et = t.kind === 'vector' ? elemType(t.element) : 'uint8_t';
        out.push(`/* '${f.name}' in place: count ${t.kind === 'vector' ? `elements of ${et}` : 'bytes'} at ptr; ok = 0 when the reference leaves [msg, msg + len). */`);
        out.push(`static inline isthmus_span ${n}_${f.name}(${self}) {`);
        if (isMsg) out.push(`  if (len < ISTHMUS_HEADER_SIZE + sizeof(${n})) { isthmus_span bad = {NULL, 0, 0}; return bad; }`);
        out.push(`  return isthmus_ref_get(msg, len, &${selfExpr}->${f.name}, ${stride}u);`, '}');
      }
      // builders
      const mut = `isthmus_builder *b, ${n} *self`;
      if (t.kind === 'string' || t.kind === 'bytes') {
        out.push(`/* Builder: copies n bytes into the tail${f.presence ? ' and marks the field present' : ''}; 0 on success, -1 when out of capacity. */`);
        out.push(`static inline int ${n}_set_${f.name}(${mut}, const void *p, size_t n) {`);
        if (f.presence) out.push(`  ${n}_set_has_${f.name}(self);`);
        out.push(`  return isthmus_builder_set_bytes(b, &self->${f.name}, p, n);`, '}');
      } else if (t.kind === 'vector') {
        const et = elemType(t.element);
        out.push(`/* Builder: allocates count zeroed elements in the tail${f.presence ? ' and marks the field present' : ''}; NULL when out of capacity. */`);
        out.push(`static inline ${et} *${n}_init_${f.name}(${mut}, uint32_t count) {`);
        if (f.presence) out.push(`  ${n}_set_has_${f.name}(self);`);
        out.push(`  return (${et} *)isthmus_builder_init_ref(b, &self->${f.name}, count, ${t.stride}u);`, '}');
      }
    }
    out.push('');
  }

  const messages = c.layout.types.filter((t) => t.kind === 'message').map((t) => `&${cName(t.fullName)}_type`);
  out.push(`/* Every message type of this schema, NULL-terminated. */`);
  out.push(`static const isthmus_type *const ${cName(c.layout.namespace)}_MESSAGES[] = {${[...messages, 'NULL'].join(', ')}};`);
  out.push('', '#ifdef __cplusplus', '}', '#endif', `#endif /* ${guard} */`, '');
  return [{ path: outputName(c.layout.file, '.h'), contents: out.join('\n') }];
}
