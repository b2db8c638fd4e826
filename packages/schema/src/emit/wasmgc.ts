/**
 * `--emit wasm-gc`: per schema, one WebAssembly module (`<schema>.wat` and the same module
 * as `<schema>.wasm`) that declares the schema's types as one rec group of WasmGC structs
 * and arrays, and codec functions between those structs and the byte layout in an
 * imported linear memory. docs/layout.md §9 "WasmGC" is the contract (type mapping,
 * function ABI, error codes); this file implements it from the layout descriptor only.
 */
import type { EnumLayout, FieldLayout, ScalarName, StructLayout, TypeLayout, TypeRef, UnionLayout } from '@isthmus/runtime';
import { typeTable, type CompiledSchema } from '../compile.js';
import { GENERATED_BANNER, outputName, type EmittedFile } from './common.js';
import {
  block, br, brIf, call, get, gget, gset, i32, i64, iff, loop, op, ref, ret, set, tee, toWasm, toWat,
  type Func, type Instr, type Module, type RefType, type StorageType, type TypeDef, type ValType,
} from './wasmgc/wasm.js';

/** Error codes of `last_error()`: the §8 codes numbered as in the C binding, then the codec's own. */
export const WASMGC_ERRORS = {
  TRUNCATED: 1, BAD_TYPE_ID: 2, BAD_HEADER: 3, BAD_BOOL: 4, BAD_ENUM: 5, BAD_REF: 6, OUT_OF_BOUNDS: 7, BAD_UTF8: 8, BAD_UNION: 9,
  /** write: a fixed array's GC array does not have the declared length. */
  BAD_LENGTH: 10,
  /** write: the encoding does not fit `cap`. */
  CAPACITY: 11,
  /** read/write: `ptr` is not a multiple of 8 or `[ptr, ptr + len)` is not inside the memory. */
  BAD_REGION: 12,
} as const;
const E = WASMGC_ERRORS;

/** Memory the module imports: (import "isthmus" "memory" (memory 0)). */
export const WASMGC_MEMORY_IMPORT = { module: 'isthmus', name: 'memory' } as const;

const LOAD: Record<ScalarName, string> = {
  bool: 'i32.load8_u', u8: 'i32.load8_u', i8: 'i32.load8_s', u16: 'i32.load16_u', i16: 'i32.load16_s',
  u32: 'i32.load', i32: 'i32.load', u64: 'i64.load', i64: 'i64.load', f32: 'f32.load', f64: 'f64.load',
};
const STORE: Record<ScalarName, string> = {
  bool: 'i32.store8', u8: 'i32.store8', i8: 'i32.store8', u16: 'i32.store16', i16: 'i32.store16',
  u32: 'i32.store', i32: 'i32.store', u64: 'i64.store', i64: 'i64.store', f32: 'f32.store', f64: 'f64.store',
};
const SIGNED = new Set<string>(['i8', 'i16']);

const add = (a: Instr, b: Instr): Instr => op('i32.add', [], a, b);
const addK = (a: Instr, k: number): Instr => (k ? add(a, i32(k)) : a);
const u64 = (a: Instr): Instr => op('i64.extend_i32_u', [], a);
const eqz = (a: Instr): Instr => op('i32.eqz', [], a);
const fail = (code: number, at: Instr, value: Instr): Instr => call('err', i32(code), at, value);
const failBr = (code: number, at: Instr, value: Instr): Instr[] => [fail(code, at, value), br('fail')];
const failRet = (code: number, at: Instr, value: Instr, r: Instr): Instr[] => [fail(code, at, value), ret(r)];

function unpacked(t: StorageType): ValType {
  return t === 'i8' || t === 'i16' ? 'i32' : t;
}
function zero(t: ValType): Instr {
  if (t === 'i32') return i32(0);
  if (t === 'i64') return i64(0n);
  if (t === 'f32' || t === 'f64') return op(`${t}.const`, [0]);
  return op('ref.null', [t.ref]);
}
const isRef = (t: TypeRef): boolean => t.kind !== 'scalar' && t.kind !== 'enum';

class Gen {
  readonly table: Map<string, TypeLayout>;
  readonly arrays: TypeDef[] = [{ kind: 'array', name: 'bytes', element: 'i8', comment: 'string (UTF-8), bytes, and vector/array of bool, u8, i8' }];
  readonly records: TypeDef[] = [];
  readonly funcs = new Map<string, Func>();
  private readonly pending = new Set<string>();

  constructor(readonly c: CompiledSchema) {
    this.table = typeTable(c);
  }

  lookup<T extends TypeLayout>(name: string): T {
    const t = this.table.get(name);
    if (!t) throw new Error(`wasm-gc: unknown type ${name}`);
    return t as T;
  }

  // --- types ----------------------------------------------------------------------------------

  /** The storage type of a value of `t` in a struct field or array element (non-null). */
  storage(t: TypeRef): StorageType {
    switch (t.kind) {
      case 'scalar':
        switch (t.scalar) {
          case 'bool': case 'u8': case 'i8': return 'i8';
          case 'u16': case 'i16': return 'i16';
          case 'u32': case 'i32': return 'i32';
          case 'u64': case 'i64': return 'i64';
          default: return t.scalar;
        }
      case 'enum': return 'i32';
      case 'struct': case 'union': return ref(t.name);
      case 'string': case 'bytes': return ref('bytes');
      case 'vector': case 'array': return ref(this.arrayOf(this.storage(t.element)));
    }
  }

  /** Name of `(array (mut elem))`, declared on first use. */
  arrayOf(elem: StorageType): string {
    const name = elem === 'i8' ? 'bytes' : typeof elem === 'string' ? `arr_${elem}` : `arr_${elem.ref}`;
    if (!this.arrays.some((a) => a.name === name)) this.arrays.push({ kind: 'array', name, element: elem });
    return name;
  }

  /** The field's type when optional: nullable for references; scalars get a presence field. */
  fieldDefs(f: FieldLayout): { name: string; type: StorageType }[] {
    const s = this.storage(f.type);
    if (!f.presence) return [{ name: f.name, type: s }];
    if (typeof s !== 'string') return [{ name: f.name, type: { ref: s.ref, nullable: true } }];
    return [{ name: `has_${f.name}`, type: 'i8' }, { name: f.name, type: s }];
  }

  unionTagField(u: UnionLayout): string {
    return u.cases.some((k) => k.name === 'tag') ? 'tag_' : 'tag';
  }

  declareTypes(): void {
    for (const t of this.table.values()) {
      if (t.kind === 'enum') continue;
      if (t.kind === 'union') {
        this.records.push({
          kind: 'struct', name: t.fullName,
          comment: `union ${t.fullName}: ${this.unionTagField(t)} 0 = no value, k = case k (1-based); only that case's field is meaningful`,
          fields: [{ name: this.unionTagField(t), type: 'i32' }, ...t.cases.map((k) => {
            const s = this.storage(k.type);
            return { name: k.name, type: typeof s === 'string' ? s : { ref: s.ref, nullable: true } };
          })],
        });
      } else {
        this.records.push({
          kind: 'struct', name: t.fullName,
          comment: `${t.kind} ${t.fullName}${t.kind === 'message' ? ` (type id ${t.typeId}, version ${t.version})` : ''}`,
          fields: t.fields.flatMap((f) => this.fieldDefs(f)),
        });
      }
    }
  }

  // --- helpers --------------------------------------------------------------------------------

  /** Declares the function `name` once, building it on first use. */
  fn(name: string, build: () => Omit<Func, 'name'>): string {
    if (this.funcs.has(name) || this.pending.has(name)) return name;
    this.pending.add(name);
    const f = build();
    this.pending.delete(name);
    this.funcs.set(name, { name, ...f });
    return name;
  }

  key(t: TypeRef): string {
    switch (t.kind) {
      case 'scalar': return t.scalar;
      case 'enum': case 'struct': case 'union': return t.name;
      case 'string': case 'bytes': return t.kind;
      case 'vector': return `vec<${this.key(t.element)}>`;
      case 'array': return `arr${t.length}<${this.key(t.element)}>`;
    }
  }

  enumCheck(name: string): string {
    const e = this.lookup<EnumLayout>(name);
    return this.fn(`enum.${name}`, () => {
      const vals = [...new Set(e.values.map((v) => v.value))].sort((a, b) => a - b);
      const runs: [number, number][] = [];
      for (const v of vals) {
        const last = runs[runs.length - 1];
        if (last && v === last[1] + 1) last[1] = v;
        else runs.push([v, v]);
      }
      const tests = runs.map(([lo, hi]) => op('i32.le_u', [], op('i32.sub', [], get('v'), i32(lo)), i32(hi - lo)));
      const any = tests.reduce<Instr | undefined>((acc, x) => (acc ? op('i32.or', [], acc, x) : x), undefined) ?? i32(0);
      return {
        comment: `1 if v (the value as ${e.base}, ${e.base.startsWith('u') && e.base !== 'u32' ? 'zero' : 'sign'}-extended to i32) is a declared value of ${name}, else 0`,
        params: [['v', 'i32']], results: ['i32'], locals: [], body: [any],
      };
    });
  }

  // --- reading --------------------------------------------------------------------------------

  /** The value of type `t` stored inline at `addr + off`, checked; branches to $fail on error. */
  readInline(t: TypeRef, addr: Instr, off: number): Instr {
    switch (t.kind) {
      case 'scalar':
        if (t.scalar === 'bool') {
          return block(undefined, 'i32', [
            iff(op('i32.gt_u', [], tee('t', op('i32.load8_u', [off], addr)), i32(1)), failBr(E.BAD_BOOL, addK(addr, off), u64(get('t')))),
            get('t'),
          ]);
        }
        return op(LOAD[t.scalar], [off], addr);
      case 'enum': {
        const e = this.lookup<EnumLayout>(t.name);
        return block(undefined, 'i32', [
          iff(eqz(call(this.enumCheck(t.name), tee('t', op(LOAD[e.base], [off], addr)))),
            failBr(E.BAD_ENUM, addK(addr, off), op(e.base === 'u32' ? 'i64.extend_i32_u' : 'i64.extend_i32_s', [], get('t')))),
          get('t'),
        ]);
      }
      default:
        return op('br_on_null', ['fail'], call(this.reader(t), addK(addr, off)));
    }
  }

  /** A reader function `(param $at i32) (result (ref null X))` for a reference-like type; null = failed. */
  reader(t: TypeRef): string {
    switch (t.kind) {
      case 'struct': return this.structReader(this.lookup<StructLayout>(t.name));
      case 'union': return this.unionReader(this.lookup<UnionLayout>(t.name));
      case 'string': case 'bytes': return this.stringReader(t.kind);
      case 'vector': case 'array': return this.arrayReader(t);
      default: throw new Error(`wasm-gc: no reader for ${t.kind}`);
    }
  }

  structReader(s: StructLayout): string {
    return this.fn(`read.${s.fullName}`, () => {
      const isMsg = s.kind === 'message';
      const ops: Instr[] = [];
      for (const f of s.fields) {
        const defs = this.fieldDefs(f);
        const versioned = isMsg && f.since > 1;
        const verOk = op('i32.ge_u', [], gget('ver'), i32(f.since));
        const value = this.readInline(f.type, get('at'), f.offset);
        if (f.presence) {
          const bit = op('i32.ne', [], op('i32.and', [], op('i32.load8_u', [f.presence.offset], get('at')), i32(1 << f.presence.bit)), i32(0));
          const present = versioned ? iff(verOk, [bit], [i32(0)], 'i32') : bit;
          if (defs.length === 1) {
            const rt = defs[0]!.type as RefType;
            ops.push(iff(present, [value], [op('ref.null', [rt.ref])], rt));
          } else {
            const vt = unpacked(defs[1]!.type);
            ops.push(tee('p', present), iff(get('p'), [value], [zero(vt)], vt));
          }
        } else {
          ops.push(versioned ? iff(verOk, [value], [this.defaultValue(f.type)], unpacked(defs[0]!.type)) : value);
        }
      }
      return {
        comment: `Materializes the ${s.kind} ${s.fullName} whose ${isMsg ? 'fixed part' : 'inline bytes'} start at absolute address $at,\n` +
          `checking as it goes; null (error in last_error) on the first failure. Caller: the message was\n` +
          `located by read_* ($base, $tail, $total${isMsg ? ', $ver' : ''} are set) and [$at, $at + ${s.size}) lies inside it.`,
        params: [['at', 'i32']], results: [ref(s.fullName, true)], locals: [['t', 'i32'], ['p', 'i32']],
        body: [block('fail', undefined, [ret(op('struct.new', [s.fullName], ...ops))]), op('ref.null', [s.fullName])],
      };
    });
  }

  stringReader(kind: 'string' | 'bytes'): string {
    return this.fn(`read.${kind}`, () => ({
      comment: `The ${kind} referenced at absolute address $at (a checked (offset, length) reference) as a new $bytes${kind === 'string' ? ', after checking its UTF-8' : ''}; null on failure.`,
      params: [['at', 'i32']], results: [ref('bytes', true)], locals: [['blk', 'i32'], ['n', 'i32'], ['bad', 'i32']],
      body: [
        block('fail', undefined, [
          set('blk', call('ref', get('at'), i32(1))),
          brIf('fail', op('i32.eq', [], get('blk'), i32(-1))),
          set('n', op('i32.load', [4], get('at'))),
          ...(kind === 'string'
            ? [iff(get('blk'), [
                set('bad', call('utf8', get('blk'), get('n'))),
                iff(op('i32.ne', [], get('bad'), i32(-1)), failBr(E.BAD_UTF8, get('at'), u64(op('i32.sub', [], get('bad'), gget('base'))))),
              ])]
            : []),
          ret(call('bytes_in', get('blk'), get('n'))),
        ]),
        op('ref.null', ['bytes']),
      ],
    }));
  }

  arrayReader(t: Extract<TypeRef, { kind: 'vector' | 'array' }>): string {
    const arr = (this.storage(t) as RefType).ref;
    const elem = this.storage(t.element);
    return this.fn(`read.${this.key(t)}`, () => {
      const head: Instr[] = t.kind === 'vector'
        ? [
            set('blk', call('ref', get('at'), i32(t.stride))),
            brIf('fail', op('i32.eq', [], get('blk'), i32(-1))),
            set('n', op('i32.load', [4], get('at'))),
          ]
        : [set('blk', get('at')), set('n', i32(t.length))];
      const elemAt = (i: Instr): Instr => add(get('blk'), op('i32.mul', [], i, i32(t.stride)));
      const scalarElem = typeof elem === 'string';
      const body: Instr[] = [
        ...head,
        iff(eqz(get('n')), [ret(op('array.new_fixed', [arr, 0]))]),
        scalarElem
          ? set('a', op('array.new_default', [arr], get('n')))
          : set('a', op('array.new', [arr], this.readInline(t.element, get('blk'), 0), get('n'))),
        set('i', i32(scalarElem ? 0 : 1)),
        block('done', undefined, [loop('next', [
          brIf('done', op('i32.ge_u', [], get('i'), get('n'))),
          op('array.set', [arr], get('a'), get('i'), this.readInline(t.element, elemAt(get('i')), 0)),
          set('i', add(get('i'), i32(1))),
          br('next'),
        ])]),
        ret(get('a')),
      ];
      return {
        comment: t.kind === 'vector'
          ? `The vector referenced at absolute address $at (a checked (offset, count) reference), every element read and checked; null on failure.`
          : `The fixed array of ${t.length} stored inline at absolute address $at, every element read and checked; null on failure.`,
        params: [['at', 'i32']], results: [ref(arr, true)],
        locals: [['blk', 'i32'], ['n', 'i32'], ['i', 'i32'], ['t', 'i32'], ['p', 'i32'], ['a', ref(arr, true)]],
        body: [block('fail', undefined, body), op('ref.null', [arr])],
      };
    });
  }

  unionReader(u: UnionLayout): string {
    return this.fn(`read.${u.fullName}`, () => {
      const cases: Instr[] = u.cases.map((k, idx) => iff(op('i32.eq', [], get('tag'), i32(k.tag)), [
        iff(op('i32.or', [], op('i32.lt_u', [], get('off'), gget('tail')),
          op('i64.gt_u', [], op('i64.add', [], u64(get('off')), i64(BigInt(k.size))), u64(gget('total')))),
        failBr(E.OUT_OF_BOUNDS, get('at'), u64(get('off')))),
        ret(op('struct.new', [u.fullName], i32(k.tag), ...u.cases.map((o, j) => {
          if (j === idx) return this.readInline(k.type, add(gget('base'), get('off')), 0);
          const s = this.storage(o.type);
          return typeof s === 'string' ? zero(unpacked(s)) : op('ref.null', [s.ref]);
        }))),
      ]));
      return {
        comment: `The union ${u.fullName} stored inline at absolute address $at (u32 tag, u32 offset), its value read and checked; null on failure.`,
        params: [['at', 'i32']], results: [ref(u.fullName, true)], locals: [['tag', 'i32'], ['off', 'i32'], ['t', 'i32'], ['p', 'i32']],
        body: [
          block('fail', undefined, [
            set('tag', op('i32.load', [0], get('at'))),
            set('off', op('i32.load', [4], get('at'))),
            iff(eqz(get('tag')), [
              iff(get('off'), failBr(E.BAD_UNION, get('at'), u64(get('off')))),
              ret(op('struct.new_default', [u.fullName])),
            ]),
            iff(op('i32.gt_u', [], get('tag'), i32(u.cases.length)), failBr(E.BAD_UNION, get('at'), u64(get('tag')))),
            iff(op('i32.and', [], get('off'), i32(7)), failBr(E.BAD_REF, get('at'), u64(get('off')))),
            ...cases,
            op('unreachable', []),
          ]),
          op('ref.null', [u.fullName]),
        ],
      };
    });
  }

  /** The value a reader gives a field that the writer's version did not have (§6). */
  defaultValue(t: TypeRef): Instr {
    switch (t.kind) {
      case 'scalar': case 'enum': return zero(unpacked(this.storage(t)));
      case 'string': case 'bytes': return op('array.new_fixed', ['bytes', 0]);
      case 'vector': return op('array.new_fixed', [(this.storage(t) as RefType).ref, 0]);
      case 'union': return op('struct.new_default', [t.name]);
      case 'struct': {
        const s = this.lookup<StructLayout>(t.name);
        return call(this.fn(`default.${s.fullName}`, () => ({
          comment: `A new ${s.fullName} holding the default of every field (zero, false, empty, absent).`,
          params: [], results: [ref(s.fullName)], locals: [],
          body: [op('struct.new', [s.fullName], ...s.fields.flatMap((f) => {
            const defs = this.fieldDefs(f);
            if (!f.presence) return [this.defaultValue(f.type)];
            if (defs.length === 1) return [op('ref.null', [(defs[0]!.type as RefType).ref])];
            return [i32(0), zero(unpacked(defs[1]!.type))];
          }))],
        })));
      }
      case 'array': {
        const arr = (this.storage(t) as RefType).ref;
        const scalarElem = typeof this.storage(t.element) === 'string';
        return call(this.fn(`default.${this.key(t)}`, () => ({
          comment: `A new array of ${t.length} default elements.`,
          params: [], results: [ref(arr)], locals: [['a', ref(arr, true)], ['i', 'i32']],
          body: scalarElem
            ? [op('array.new_default', [arr], i32(t.length))]
            : [
                set('a', op('array.new', [arr], this.defaultValue(t.element), i32(t.length))),
                set('i', i32(1)),
                block('done', undefined, [loop('next', [
                  brIf('done', op('i32.ge_u', [], get('i'), i32(t.length))),
                  op('array.set', [arr], get('a'), get('i'), this.defaultValue(t.element)),
                  set('i', add(get('i'), i32(1))),
                  br('next'),
                ])]),
                op('ref.as_non_null', [], get('a')),
              ],
        })));
      }
    }
  }

  // --- writing --------------------------------------------------------------------------------

  /** Reads a field or element of storage type `s` as its unpacked value. */
  structGet(type: string, field: string, s: StorageType, t: TypeRef, obj: Instr): Instr {
    if (s === 'i8' || s === 'i16') return op(t.kind === 'scalar' && SIGNED.has(t.scalar) ? 'struct.get_s' : 'struct.get_u', [type, field], obj);
    return op('struct.get', [type, field], obj);
  }
  arrayGet(arr: string, s: StorageType, t: TypeRef, a: Instr, i: Instr): Instr {
    if (s === 'i8' || s === 'i16') return op(t.kind === 'scalar' && SIGNED.has(t.scalar) ? 'array.get_s' : 'array.get_u', [arr], a, i);
    return op('array.get', [arr], a, i);
  }

  /** Statements writing `value` (of `t`) inline at `addr + off`; `return 1` on failure. */
  writeInline(t: TypeRef, value: Instr, addr: Instr, off: number): Instr[] {
    switch (t.kind) {
      case 'scalar':
        return [op(STORE[t.scalar], [off], addr, t.scalar === 'bool' ? op('i32.ne', [], value, i32(0)) : value)];
      case 'enum': {
        const e = this.lookup<EnumLayout>(t.name);
        return [
          set('t', value),
          iff(eqz(call(this.enumCheck(t.name), get('t'))), failRet(E.BAD_ENUM, addK(addr, off), op(e.base === 'u32' ? 'i64.extend_i32_u' : 'i64.extend_i32_s', [], get('t')), i32(1))),
          op(STORE[e.base], [off], addr, get('t')),
        ];
      }
      default:
        return [iff(call(this.writer(t), value, addK(addr, off)), [ret(i32(1))])];
    }
  }

  writer(t: TypeRef): string {
    switch (t.kind) {
      case 'struct': return this.structWriter(this.lookup<StructLayout>(t.name));
      case 'union': return this.unionWriter(this.lookup<UnionLayout>(t.name));
      case 'string': case 'bytes': return this.stringWriter(t.kind);
      case 'vector': case 'array': return this.arrayWriter(t);
      default: throw new Error(`wasm-gc: no writer for ${t.kind}`);
    }
  }

  structWriter(s: StructLayout): string {
    return this.fn(`write.${s.fullName}`, () => {
      const body: Instr[] = [];
      for (const f of s.fields) {
        const defs = this.fieldDefs(f);
        const vdef = defs[defs.length - 1]!;
        const value = this.structGet(s.fullName, f.name, vdef.type, f.type, get('v'));
        const write = this.writeInline(f.type, value, get('at'), f.offset);
        if (!f.presence) {
          body.push(...write);
          continue;
        }
        const setBit = op('i32.store8', [f.presence.offset], get('at'),
          op('i32.or', [], op('i32.load8_u', [f.presence.offset], get('at')), i32(1 << f.presence.bit)));
        const present = defs.length === 1
          ? eqz(op('ref.is_null', [], op('struct.get', [s.fullName, f.name], get('v'))))
          : op('struct.get_u', [s.fullName, `has_${f.name}`], get('v'));
        body.push(iff(present, [setBit, ...write]));
      }
      body.push(i32(0));
      return {
        comment: `Writes $v's fields into the zeroed ${s.size}-byte ${s.kind === 'message' ? 'fixed part' : 'inline form'} at absolute address $at and appends\n` +
          `its tail blocks in canonical order (§5) at $end; 0, or 1 with last_error set. $v must not be null.`,
        params: [['v', ref(s.fullName, true)], ['at', 'i32']], results: ['i32'], locals: [['t', 'i32']], body,
      };
    });
  }

  stringWriter(kind: 'string' | 'bytes'): string {
    return this.fn(`write.${kind}`, () => ({
      comment: `Appends $a's bytes as a tail block and stores the (offset, length) reference at absolute address $at${kind === 'string' ? ';\nthe bytes must be well-formed UTF-8 (BAD_UTF8 otherwise)' : ''}. 0, or 1 with last_error set. $a must not be null.`,
      params: [['a', ref('bytes', true)], ['at', 'i32']], results: ['i32'], locals: [['n', 'i32'], ['blk', 'i32'], ['bad', 'i32']],
      body: [
        set('n', op('array.len', [], get('a'))),
        iff(eqz(get('n')), [ret(i32(0))]),
        set('blk', call('alloc', get('at'), u64(get('n')))),
        iff(op('i32.eq', [], get('blk'), i32(-1)), [ret(i32(1))]),
        call('bytes_out', get('a'), get('blk')),
        ...(kind === 'string'
          ? [
              set('bad', call('utf8', get('blk'), get('n'))),
              iff(op('i32.ne', [], get('bad'), i32(-1)), failRet(E.BAD_UTF8, get('at'), u64(op('i32.sub', [], get('bad'), gget('base'))), i32(1))),
            ]
          : []),
        op('i32.store', [0], get('at'), op('i32.sub', [], get('blk'), gget('base'))),
        op('i32.store', [4], get('at'), get('n')),
        i32(0),
      ],
    }));
  }

  arrayWriter(t: Extract<TypeRef, { kind: 'vector' | 'array' }>): string {
    const arr = (this.storage(t) as RefType).ref;
    const elem = this.storage(t.element);
    return this.fn(`write.${this.key(t)}`, () => {
      const loopBody = (blk: Instr, n: Instr): Instr => block('done', undefined, [loop('next', [
        brIf('done', op('i32.ge_u', [], get('i'), n)),
        set('e', add(blk, op('i32.mul', [], get('i'), i32(t.stride)))),
        ...this.writeInline(t.element, this.arrayGet(arr, elem, t.element, get('a'), get('i')), get('e'), 0),
        set('i', add(get('i'), i32(1))),
        br('next'),
      ])]);
      const body: Instr[] = t.kind === 'vector'
        ? [
            set('n', op('array.len', [], get('a'))),
            iff(eqz(get('n')), [ret(i32(0))]),
            set('blk', call('alloc', get('at'), op('i64.mul', [], u64(get('n')), i64(BigInt(t.stride))))),
            iff(op('i32.eq', [], get('blk'), i32(-1)), [ret(i32(1))]),
            op('i32.store', [0], get('at'), op('i32.sub', [], get('blk'), gget('base'))),
            op('i32.store', [4], get('at'), get('n')),
            loopBody(get('blk'), get('n')),
            i32(0),
          ]
        : [
            set('n', op('array.len', [], get('a'))),
            iff(op('i32.ne', [], get('n'), i32(t.length)), failRet(E.BAD_LENGTH, get('at'), u64(get('n')), i32(1))),
            loopBody(get('at'), get('n')),
            i32(0),
          ];
      return {
        comment: t.kind === 'vector'
          ? `Appends the vector $a as a tail block (elements then their own blocks, in order) and stores the\n(offset, count) reference at absolute address $at. 0, or 1 with last_error set. $a must not be null.`
          : `Writes the fixed array $a (exactly ${t.length} elements, else BAD_LENGTH) inline at absolute address $at. 0, or 1 with last_error set.`,
        params: [['a', ref(arr, true)], ['at', 'i32']], results: ['i32'],
        locals: [['n', 'i32'], ['blk', 'i32'], ['i', 'i32'], ['e', 'i32'], ['t', 'i32']], body,
      };
    });
  }

  unionWriter(u: UnionLayout): string {
    return this.fn(`write.${u.fullName}`, () => {
      const tagField = this.unionTagField(u);
      const cases = u.cases.map((k) => {
        const s = this.storage(k.type);
        const val = this.structGet(u.fullName, k.name, s, k.type, get('u'));
        return iff(op('i32.eq', [], get('tag'), i32(k.tag)), [
          ...(isRef(k.type) ? [iff(op('ref.is_null', [], op('struct.get', [u.fullName, k.name], get('u'))), failRet(E.BAD_UNION, get('at'), i64(BigInt(k.tag)), i32(1)))] : []),
          set('blk', call('alloc', get('at'), i64(BigInt(k.size)))),
          iff(op('i32.eq', [], get('blk'), i32(-1)), [ret(i32(1))]),
          op('i32.store', [0], get('at'), i32(k.tag)),
          op('i32.store', [4], get('at'), op('i32.sub', [], get('blk'), gget('base'))),
          ...this.writeInline(k.type, val, get('blk'), 0),
          ret(i32(0)),
        ]);
      });
      return {
        comment: `Writes the union $u at absolute address $at: nothing for tag 0, else the selected case's value as a\n` +
          `tail block. A tag above ${u.cases.length} or a null selected reference is BAD_UNION. 0, or 1 with last_error set.`,
        params: [['u', ref(u.fullName, true)], ['at', 'i32']], results: ['i32'], locals: [['tag', 'i32'], ['blk', 'i32'], ['t', 'i32']],
        body: [
          set('tag', op('struct.get', [u.fullName, tagField], get('u'))),
          iff(eqz(get('tag')), [ret(i32(0))]),
          ...cases,
          fail(E.BAD_UNION, get('at'), u64(get('tag'))),
          i32(1),
        ],
      };
    });
  }

  // --- the exported ABI -------------------------------------------------------------------------

  messageFuncs(m: StructLayout): void {
    const F = m.size;
    const sizes = m.versionSizes!;
    const typeId = BigInt(m.typeId!);
    const hdr = (at: number, v: Instr): Instr[] => failRet(E.BAD_HEADER, addK(get('ptr'), at), u64(v), op('ref.null', [m.fullName]));
    const region = (len: string, r: Instr): Instr =>
      iff(op('i32.or', [], op('i32.and', [], get('ptr'), i32(7)),
        op('i64.gt_u', [], op('i64.add', [], u64(get('ptr')), u64(get(len))), op('i64.shl', [], u64(op('memory.size', [])), i64(16n)))),
      failRet(E.BAD_REGION, get('ptr'), u64(get('ptr')), r));
    this.fn(`read_${m.name}`, () => ({
      export: `read_${m.name}`,
      comment: `read_${m.name}(ptr, len): the message at [ptr, ptr + len) of the memory as a new $${m.fullName}, verified as\n` +
        `it is read (every check of docs/layout.md §8, in its order); null on the first failure, with last_error(),\n` +
        `last_error_offset() and last_error_value() telling which. ptr must be a multiple of 8. Never traps on bad input.`,
      params: [['ptr', 'i32'], ['len', 'i32']], results: [ref(m.fullName, true)],
      locals: [['total', 'i32'], ['fixed', 'i32'], ['version', 'i32'], ['need', 'i32']],
      body: [
        gset('code', i32(0)), gset('eoff', i32(0)), gset('eval', i64(0n)),
        gset('base', get('ptr')),
        region('len', op('ref.null', [m.fullName])),
        iff(op('i32.lt_u', [], get('len'), i32(16)), failRet(E.TRUNCATED, get('ptr'), u64(get('len')), op('ref.null', [m.fullName]))),
        set('total', op('i32.load', [8], get('ptr'))),
        iff(op('i32.gt_u', [], get('total'), get('len')), failRet(E.TRUNCATED, addK(get('ptr'), 8), u64(get('total')), op('ref.null', [m.fullName]))),
        iff(op('i64.ne', [], op('i64.load', [0], get('ptr')), i64(typeId)),
          failRet(E.BAD_TYPE_ID, get('ptr'), op('i64.load', [0], get('ptr')), op('ref.null', [m.fullName]))),
        set('fixed', op('i32.load16_u', [12], get('ptr'))),
        set('version', op('i32.load8_u', [14], get('ptr'))),
        iff(op('i32.and', [], get('total'), i32(7)), hdr(8, get('total'))),
        iff(op('i32.and', [], get('fixed'), i32(7)), hdr(12, get('fixed'))),
        iff(op('i32.gt_u', [], add(get('fixed'), i32(16)), get('total')), hdr(12, get('fixed'))),
        iff(eqz(get('version')), hdr(14, get('version'))),
        iff(op('i32.load8_u', [15], get('ptr')), hdr(15, op('i32.load8_u', [15], get('ptr')))),
        set('need', i32(sizes[0]!)),
        ...sizes.slice(1).map((sz, k) => iff(op('i32.ge_u', [], get('version'), i32(k + 2)), [set('need', i32(sz))])),
        iff(op('i32.lt_u', [], get('fixed'), get('need')), hdr(12, get('fixed'))),
        gset('tail', add(get('fixed'), i32(16))),
        gset('total', get('total')),
        gset('ver', get('version')),
        call(this.structReader(m), addK(get('ptr'), 16)),
      ],
    }));
    this.fn(`write_${m.name}`, () => ({
      export: `write_${m.name}`,
      comment: `write_${m.name}(v, ptr, cap): the canonical encoding (§5) of $v into [ptr, ptr + cap); returns its length, or\n` +
        `-1 with last_error() set (CAPACITY: value = bytes needed; BAD_ENUM, BAD_UNION, BAD_UTF8, BAD_LENGTH: a\n` +
        `value that has no encoding; BAD_REGION). ptr must be a multiple of 8. Writes nothing outside [ptr, ptr + cap).`,
      params: [['v', ref(m.fullName)], ['ptr', 'i32'], ['cap', 'i32']], results: ['i32'], locals: [['size', 'i64']],
      body: [
        gset('code', i32(0)), gset('eoff', i32(0)), gset('eval', i64(0n)),
        gset('base', get('ptr')),
        region('cap', i32(-1)),
        gset('limit', op('i64.add', [], u64(get('ptr')), u64(get('cap')))),
        iff(op('i32.lt_u', [], get('cap'), i32(16 + F)), failRet(E.CAPACITY, get('ptr'), i64(BigInt(16 + F)), i32(-1))),
        op('memory.fill', [], get('ptr'), i32(0), i32(16 + F)),
        op('i64.store', [0], get('ptr'), i64(typeId)),
        op('i32.store16', [12], get('ptr'), i32(F)),
        op('i32.store8', [14], get('ptr'), i32(m.version!)),
        gset('end', u64(addK(get('ptr'), 16 + F))),
        iff(call(this.structWriter(m), get('v'), addK(get('ptr'), 16)), [ret(i32(-1))]),
        set('size', op('i64.and', [], op('i64.add', [], op('i64.sub', [], gget('end'), u64(get('ptr'))), i64(7n)), i64(-8n))),
        iff(op('i64.gt_u', [], op('i64.add', [], u64(get('ptr')), get('size')), gget('limit')), failRet(E.CAPACITY, get('ptr'), get('size'), i32(-1))),
        op('memory.fill', [], op('i32.wrap_i64', [], gget('end')), i32(0),
          op('i32.wrap_i64', [], op('i64.sub', [], op('i64.add', [], u64(get('ptr')), get('size')), gget('end')))),
        op('i32.store', [8], get('ptr'), op('i32.wrap_i64', [], get('size'))),
        op('i32.wrap_i64', [], get('size')),
      ],
    }));
    this.fn(`roundtrip_${m.name}`, () => ({
      export: `roundtrip_${m.name}`,
      comment: `roundtrip_${m.name}(src, len, dst, cap) = write_${m.name}(read_${m.name}(src, len), dst, cap), for hosts that can not hold GC\nreferences: -1 (last_error set) when either fails. [src, src + len) and [dst, dst + cap) must not overlap.`,
      params: [['src', 'i32'], ['len', 'i32'], ['dst', 'i32'], ['cap', 'i32']], results: ['i32'], locals: [],
      body: [
        block('fail', undefined, [ret(call(`write_${m.name}`, op('br_on_null', ['fail'], call(`read_${m.name}`, get('src'), get('len'))), get('dst'), get('cap')))]),
        i32(-1),
      ],
    }));
  }

  /** Field getters, so hosts (and tests) can inspect a struct they hold as an opaque reference. */
  getters(): void {
    for (const t of this.records) {
      if (t.kind !== 'struct') continue;
      const layout = this.lookup<TypeLayout>(t.name);
      for (const fd of t.fields) {
        let tref: TypeRef | undefined;
        if (layout.kind === 'union') tref = layout.cases.find((k) => k.name === fd.name)?.type;
        else if (layout.kind !== 'enum') tref = layout.fields.find((f) => f.name === fd.name)?.type;
        const vt = unpacked(fd.type);
        this.fn(`get.${t.name}.${fd.name}`, () => ({
          export: `${t.name}.${fd.name}`,
          comment: `Getter: field $${fd.name} of a non-null $${t.name}${fd.type === 'i8' || fd.type === 'i16' ? (tref && tref.kind === 'scalar' && SIGNED.has(tref.scalar) ? ' (sign-extended)' : ' (zero-extended)') : ''}.`,
          params: [['v', ref(t.name, true)]], results: [vt], locals: [],
          body: [tref ? this.structGet(t.name, fd.name, fd.type, tref, get('v')) : op(fd.type === 'i8' || fd.type === 'i16' ? 'struct.get_u' : 'struct.get', [t.name, fd.name], get('v'))],
        }));
        this.fn(`set.${t.name}.${fd.name}`, () => ({
          export: `${t.name}.set_${fd.name}`,
          comment: `Setter: stores $x into field $${fd.name} of a non-null $${t.name}${fd.type === 'i8' || fd.type === 'i16' ? ' (truncated to the packed width)' : ''}.`,
          params: [['v', ref(t.name, true)], ['x', vt]], results: [], locals: [],
          body: [op('struct.set', [t.name, fd.name], get('v'), get('x'))],
        }));
      }
    }
    for (const a of this.arrays) {
      if (a.kind !== 'array') continue;
      const packed = a.element === 'i8' || a.element === 'i16';
      this.fn(`get.${a.name}.len`, () => ({
        export: `${a.name}.len`, comment: `Getter: length of a non-null $${a.name}.`,
        params: [['a', ref(a.name, true)]], results: ['i32'], locals: [], body: [op('array.len', [], get('a'))],
      }));
      for (const variant of packed ? ['get_u', 'get_s'] : ['get']) {
        this.fn(`get.${a.name}.${variant}`, () => ({
          export: `${a.name}.${variant}`,
          comment: `Getter: element $i of a non-null $${a.name}${packed ? (variant === 'get_u' ? ' (zero-extended)' : ' (sign-extended)') : ''}; traps when $i is out of range.`,
          params: [['a', ref(a.name, true)], ['i', 'i32']], results: [unpacked(a.element)], locals: [],
          body: [op(`array.${variant}`, [a.name], get('a'), get('i'))],
        }));
      }
    }
  }

  /** Functions every module has: error state, reference checks, UTF-8, byte copies, tail allocation. */
  runtime(): void {
    this.fn('err', () => ({
      comment: 'Records the first failure: code, offset of `at` from message start, offending value.',
      params: [['code', 'i32'], ['at', 'i32'], ['value', 'i64']], results: [], locals: [],
      body: [gset('code', get('code')), gset('eoff', op('i32.sub', [], get('at'), gget('base'))), gset('eval', get('value'))],
    }));
    this.fn('last_error', () => ({
      export: 'last_error', comment: 'last_error(): 0 after a successful read_*/write_*, else the error code (docs/layout.md §9).',
      params: [], results: ['i32'], locals: [], body: [gget('code')],
    }));
    this.fn('last_error_offset', () => ({
      export: 'last_error_offset', comment: 'last_error_offset(): byte offset from message start of the field (or header byte) that failed.',
      params: [], results: ['i32'], locals: [], body: [gget('eoff')],
    }));
    this.fn('last_error_value', () => ({
      export: 'last_error_value', comment: 'last_error_value(): the offending value (an offset, length, tag, enum value, type id or bytes needed).',
      params: [], results: ['i64'], locals: [], body: [gget('eval')],
    }));
    const rel = (x: Instr): Instr => u64(x);
    this.fn('ref', () => ({
      comment: 'Checks the (offset, count) reference at absolute address $at to count × $stride bytes (§3.1, §8:\n' +
        'BAD_REF, then OUT_OF_BOUNDS against [$tail, $total)). Returns the block\'s absolute address, 0 when empty,\n' +
        '-1 on failure. Overflow-free: sizes are computed in i64.',
      params: [['at', 'i32'], ['stride', 'i32']], results: ['i32'], locals: [['off', 'i32'], ['cnt', 'i32']],
      body: [
        set('off', op('i32.load', [0], get('at'))),
        set('cnt', op('i32.load', [4], get('at'))),
        iff(eqz(get('cnt')), [iff(get('off'), failRet(E.BAD_REF, get('at'), rel(get('off')), i32(-1))), ret(i32(0))]),
        iff(op('i32.and', [], get('off'), i32(7)), failRet(E.BAD_REF, get('at'), rel(get('off')), i32(-1))),
        iff(op('i32.or', [], op('i32.lt_u', [], get('off'), gget('tail')),
          op('i64.gt_u', [], op('i64.add', [], u64(get('off')), op('i64.mul', [], u64(get('cnt')), u64(get('stride')))), u64(gget('total')))),
        failRet(E.OUT_OF_BOUNDS, get('at'), rel(get('off')), i32(-1))),
        add(gget('base'), get('off')),
      ],
    }));
    const lt = (a: Instr, b: Instr): Instr => op('i32.lt_u', [], a, b);
    const at = add(get('p'), get('i'));
    this.fn('utf8', () => ({
      comment: 'Absolute address of the first byte of an invalid UTF-8 sequence in [$p, $p + $n) (overlong, surrogate,\n' +
        'above U+10FFFF, truncated), or -1 when it is all valid. Caller: the range lies inside the memory.',
      params: [['p', 'i32'], ['n', 'i32']], results: ['i32'],
      locals: [['i', 'i32'], ['c', 'i32'], ['need', 'i32'], ['min', 'i32'], ['cp', 'i32'], ['k', 'i32'], ['cc', 'i32']],
      body: [
        block('done', undefined, [loop('next', [
          brIf('done', op('i32.ge_u', [], get('i'), get('n'))),
          set('c', op('i32.load8_u', [0], at)),
          iff(lt(get('c'), i32(0x80)), [set('i', add(get('i'), i32(1))), br('next')]),
          iff(op('i32.le_u', [], op('i32.sub', [], get('c'), i32(0xc2)), i32(0xdf - 0xc2)),
            [set('need', i32(1)), set('min', i32(0x80)), set('cp', op('i32.and', [], get('c'), i32(0x1f)))],
            [iff(op('i32.le_u', [], op('i32.sub', [], get('c'), i32(0xe0)), i32(0x0f)),
              [set('need', i32(2)), set('min', i32(0x800)), set('cp', op('i32.and', [], get('c'), i32(0x0f)))],
              [iff(op('i32.le_u', [], op('i32.sub', [], get('c'), i32(0xf0)), i32(4)),
                [set('need', i32(3)), set('min', i32(0x10000)), set('cp', op('i32.and', [], get('c'), i32(0x07)))],
                [ret(at)])])]),
          iff(op('i32.ge_u', [], get('need'), op('i32.sub', [], get('n'), get('i'))), [ret(at)]),
          set('k', i32(1)),
          loop('cont', [
            set('cc', op('i32.load8_u', [0], add(at, get('k')))),
            iff(op('i32.ne', [], op('i32.and', [], get('cc'), i32(0xc0)), i32(0x80)), [ret(at)]),
            set('cp', op('i32.or', [], op('i32.shl', [], get('cp'), i32(6)), op('i32.and', [], get('cc'), i32(0x3f)))),
            set('k', add(get('k'), i32(1))),
            brIf('cont', op('i32.le_u', [], get('k'), get('need'))),
          ]),
          iff(op('i32.or', [], op('i32.or', [], lt(get('cp'), get('min')), op('i32.gt_u', [], get('cp'), i32(0x10ffff))),
            lt(op('i32.sub', [], get('cp'), i32(0xd800)), i32(0x800))), [ret(at)]),
          set('i', add(get('i'), add(get('need'), i32(1)))),
          br('next'),
        ])]),
        i32(-1),
      ],
    }));
    this.fn('bytes_in', () => ({
      comment: 'A new $bytes holding a copy of [$src, $src + $n). Caller: the range lies inside the memory.',
      params: [['src', 'i32'], ['n', 'i32']], results: [ref('bytes')], locals: [['a', ref('bytes', true)], ['i', 'i32']],
      body: [
        set('a', op('array.new_default', ['bytes'], get('n'))),
        block('done', undefined, [loop('next', [
          brIf('done', op('i32.ge_u', [], get('i'), get('n'))),
          op('array.set', ['bytes'], get('a'), get('i'), op('i32.load8_u', [0], add(get('src'), get('i')))),
          set('i', add(get('i'), i32(1))),
          br('next'),
        ])]),
        op('ref.as_non_null', [], get('a')),
      ],
    }));
    this.fn('bytes_out', () => ({
      comment: 'Copies the non-null $a to [$dst, $dst + len(a)). Caller: that range was allocated by $alloc.',
      params: [['a', ref('bytes', true)], ['dst', 'i32']], results: [], locals: [['n', 'i32'], ['i', 'i32']],
      body: [
        set('n', op('array.len', [], get('a'))),
        block('done', undefined, [loop('next', [
          brIf('done', op('i32.ge_u', [], get('i'), get('n'))),
          op('i32.store8', [0], add(get('dst'), get('i')), op('array.get_u', ['bytes'], get('a'), get('i'))),
          set('i', add(get('i'), i32(1))),
          br('next'),
        ])]),
      ],
    }));
    this.fn('alloc', () => ({
      comment: 'Places a tail block of $size bytes at align_up($end, 8), zeroing [$end, block end), and returns its absolute\n' +
        'address; -1 (CAPACITY at $at, value = bytes the message needs) when it would pass $limit.',
      params: [['at', 'i32'], ['size', 'i64']], results: ['i32'], locals: [['start', 'i64'], ['stop', 'i64']],
      body: [
        set('start', op('i64.and', [], op('i64.add', [], gget('end'), i64(7n)), i64(-8n))),
        set('stop', op('i64.add', [], get('start'), get('size'))),
        iff(op('i64.gt_u', [], get('stop'), gget('limit')), failRet(E.CAPACITY, get('at'), op('i64.sub', [], get('stop'), u64(gget('base'))), i32(-1))),
        op('memory.fill', [], op('i32.wrap_i64', [], gget('end')), i32(0), op('i32.wrap_i64', [], op('i64.sub', [], get('stop'), gget('end')))),
        gset('end', get('stop')),
        op('i32.wrap_i64', [], get('start')),
      ],
    }));
  }
}

const ABI = `Codec ABI (docs/layout.md §9 "WasmGC"): per message M of this schema,
  read_M(ptr: i32, len: i32) -> (ref null $M)        null on failure, see last_error*
  write_M(v: (ref $M), ptr: i32, cap: i32) -> i32    length written, or -1 (see last_error*)
  roundtrip_M(src, len, dst, cap) -> i32             write_M(read_M(src, len), dst, cap)
  last_error() -> i32, last_error_offset() -> i32, last_error_value() -> i64
and accessors "<type>.<field>", "<type>.set_<field>", "<array>.len", "<array>.get[_u|_s]" for hosts holding
opaque references (the JS API); every accessor traps on a null reference.
Error codes: ${Object.entries(WASMGC_ERRORS).map(([k, v]) => `${v} ${k}`).join(', ')}.
The memory is imported as ("${WASMGC_MEMORY_IMPORT.module}" "${WASMGC_MEMORY_IMPORT.name}"); pointers are byte addresses in it.`;

/** The module for one schema, as a model (printed by toWat, encoded by toWasm). */
export function wasmGcModule(c: CompiledSchema): Module {
  const g = new Gen(c);
  g.declareTypes();
  g.runtime();
  for (const t of c.layout.types) if (t.kind === 'message') g.messageFuncs(t);
  g.getters();
  return {
    comment: `${GENERATED_BANNER}\nSource: ${c.layout.file} (namespace ${c.layout.namespace}).\n\n${ABI}`,
    types: [...g.arrays, ...g.records],
    memoryImport: WASMGC_MEMORY_IMPORT,
    globals: [
      { name: 'code', type: 'i32', comment: 'last_error state' }, { name: 'eoff', type: 'i32' }, { name: 'eval', type: 'i64' },
      { name: 'base', type: 'i32', comment: 'absolute address of the message being read or written' },
      { name: 'tail', type: 'i32', comment: 'read: 16 + fixed_size, where the tail starts (relative)' },
      { name: 'total', type: 'i32', comment: 'read: total_size (relative)' },
      { name: 'ver', type: 'i32', comment: 'read: the message\'s version' },
      { name: 'end', type: 'i64', comment: 'write: absolute address of the end of the last block' },
      { name: 'limit', type: 'i64', comment: 'write: ptr + cap' },
    ],
    funcs: [...g.funcs.values()],
  };
}

export function emitWasmGc(c: CompiledSchema): EmittedFile[] {
  const m = wasmGcModule(c);
  return [
    { path: outputName(c.layout.file, '.wat'), contents: toWat(m) },
    { path: outputName(c.layout.file, '.wasm'), contents: toWasm(m) },
  ];
}
