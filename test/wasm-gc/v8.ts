/**
 * Loading the `--emit wasm-gc` modules in this process (V8), for test/wasm-gc.test.ts and
 * bench/wasm/gc.bench.ts, plus a walk that turns a materialized GC struct back into the
 * docs/layout.md §10 JSON form through the module's exported getters.
 */
import { join } from 'node:path';
import { floatJSON, toBase64, type EnumLayout, type StructLayout, type TypeLayout, type TypeRef, type UnionLayout } from '@isthmus/runtime';
import { compileFile, EMITTERS, typeTable } from '@isthmus/schema';

/** The parts of the WebAssembly JS API used here (the project's TS lib has no DOM types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (d: { initial: number; maximum?: number }) => { buffer: ArrayBuffer };
  validate(bytes: Uint8Array): boolean;
}
export const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** An opaque reference to a GC struct or array, as JS holds it. */
export type GcRef = object;
type Fn = (...a: unknown[]) => unknown;

export interface Codec {
  readonly wasm: Uint8Array;
  readonly wat: string;
  readonly table: Map<string, TypeLayout>;
  readonly mem: Uint8Array;
  readonly x: Record<string, Fn>;
  /** The export `name`, or a thrown error naming it. */
  fn(name: string): Fn;
  read(message: string, ptr: number, len: number): GcRef | null;
  write(message: string, v: GcRef, ptr: number, cap: number): number;
  error(): { code: number; offset: number; value: bigint };
}

/** Compiles `schemas/<rel>` with the wasm-gc emitter and instantiates it over a fresh memory of `pages` pages. */
export function loadCodec(root: string, rel: string, pages = 4): Codec {
  const c = compileFile(join(root, 'schemas', rel));
  const files = EMITTERS['wasm-gc']!(c);
  const wasm = files.find((f) => f.path.endsWith('.wasm'))!.contents as Uint8Array;
  const wat = files.find((f) => f.path.endsWith('.wat'))!.contents as string;
  const memory = new WA.Memory({ initial: pages, maximum: pages });
  const inst = new WA.Instance(new WA.Module(wasm), { isthmus: { memory } });
  const x = inst.exports as Record<string, Fn>;
  const fn = (name: string): Fn => {
    const f = x[name];
    if (typeof f !== 'function') throw new Error(`wasm-gc module for ${rel} has no export '${name}'`);
    return f;
  };
  return {
    wasm, wat, table: typeTable(c), mem: new Uint8Array(memory.buffer), x, fn,
    read: (m, ptr, len) => fn(`read_${m}`)(ptr, len) as GcRef | null,
    write: (m, v, ptr, cap) => fn(`write_${m}`)(v, ptr, cap) as number,
    error: () => ({ code: fn('last_error')() as number, offset: fn('last_error_offset')() as number, value: fn('last_error_value')() as bigint }),
  };
}

/** Name of the WasmGC array type whose elements represent `t` (docs/layout.md §9). */
export function arrayTypeName(t: TypeRef): string {
  switch (t.kind) {
    case 'scalar':
      if (['bool', 'u8', 'i8'].includes(t.scalar)) return 'bytes';
      if (['u16', 'i16'].includes(t.scalar)) return 'arr_i16';
      if (['u32', 'i32'].includes(t.scalar)) return 'arr_i32';
      if (['u64', 'i64'].includes(t.scalar)) return 'arr_i64';
      return `arr_${t.scalar}`;
    case 'enum': return 'arr_i32';
    case 'struct': case 'union': return `arr_${t.name}`;
    case 'string': case 'bytes': return 'arr_bytes';
    case 'vector': case 'array': return `arr_${arrayTypeName(t.element)}`;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The §10 JSON form of the message or struct `v` (of type `name`), read through the getters. */
export function gcToJson(codec: Codec, name: string, v: GcRef): Record<string, unknown> {
  const t = codec.table.get(name) as StructLayout;
  const get = (type: string, field: string, o: GcRef): unknown => codec.fn(`${type}.${field}`)(o);
  const bytesOf = (a: GcRef): Uint8Array => {
    const n = codec.fn('bytes.len')(a) as number;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = codec.fn('bytes.get_u')(a, i) as number;
    return out;
  };
  const value = (ty: TypeRef, x: unknown): unknown => {
    switch (ty.kind) {
      case 'scalar':
        switch (ty.scalar) {
          case 'bool': return x !== 0;
          case 'u32': return (x as number) >>> 0;
          case 'u64': return BigInt.asUintN(64, x as bigint).toString();
          case 'i64': return (x as bigint).toString();
          case 'f32': return floatJSON(x as number, true);
          case 'f64': return floatJSON(x as number, false);
          default: return x;
        }
      case 'enum': {
        const e = codec.table.get(ty.name) as EnumLayout;
        const n = e.base === 'u32' ? (x as number) >>> 0 : (x as number);
        return e.values.find((k) => k.value === n)?.name ?? n;
      }
      case 'string': return utf8.decode(bytesOf(x as GcRef));
      case 'bytes': return toBase64(bytesOf(x as GcRef));
      case 'vector': case 'array': {
        const arr = arrayTypeName(ty.element);
        const n = codec.fn(`${arr}.len`)(x) as number;
        const getter = codec.x[`${arr}.get`] ?? codec.fn(ty.element.kind === 'scalar' && ['i8', 'i16'].includes(ty.element.scalar) ? `${arr}.get_s` : `${arr}.get_u`);
        return Array.from({ length: n }, (_, i) => value(ty.element, getter(x, i)));
      }
      case 'struct': return rec(ty.name, x as GcRef);
      case 'union': {
        const u = codec.table.get(ty.name) as UnionLayout;
        const tag = get(ty.name, 'tag', x as GcRef) as number;
        if (tag === 0) return null;
        const k = u.cases[tag - 1]!;
        return { [k.name]: value(k.type, get(ty.name, k.name, x as GcRef)) };
      }
    }
  };
  const rec = (type: string, o: GcRef): Record<string, unknown> => {
    const s = codec.table.get(type) as StructLayout;
    const out: Record<string, unknown> = {};
    for (const f of s.fields) {
      if (f.presence && (f.type.kind === 'scalar' || f.type.kind === 'enum')) {
        out[f.name] = get(type, `has_${f.name}`, o) ? value(f.type, get(type, f.name, o)) : null;
      } else {
        const x = get(type, f.name, o);
        out[f.name] = x === null ? null : value(f.type, x);
      }
    }
    return out;
  };
  return rec(t.fullName, v);
}
