/**
 * Descriptor-driven walks over a message: `verify` (docs/layout.md §8), `toJSON` and the
 * canonical `encode` from JSON values (§5, §10). Generated classes call these with their
 * schema's type table; tools can call them with a descriptor loaded from `--emit json`.
 *
 * ```ts
 * const table = typeTable(layoutJson);
 * const err = verify(table, 'market.BookUpdate', bytes);
 * if (!err) console.log(toJSON(table, 'market.BookUpdate', bytes));
 * ```
 */
import {
  BLOCK_ALIGN, HEADER_SIZE, SCALAR_SIZE,
  type EnumLayout, type FieldLayout, type SchemaLayout, type StructLayout, type TypeLayout, type TypeRef, type UnionLayout,
} from './descriptor.js';
import { CapacityError, EncodeError, VerifyError, type VerifyCode } from './errors.js';
import { utf8Decode, utf8InvalidAt, utf8Length, utf8Write } from './utf8.js';
import { alignUp, H_FIXED_SIZE, H_FLAGS, H_TOTAL_SIZE, H_TYPE_ID, H_VERSION } from './views.js';
import { fromBase64, toBase64 } from './base64.js';

export type TypeTable = ReadonlyMap<string, TypeLayout>;

/** Builds a lookup of every type in the given schema descriptors, by full name. */
export function typeTable(...schemas: readonly SchemaLayout[]): Map<string, TypeLayout> {
  const m = new Map<string, TypeLayout>();
  for (const s of schemas) for (const t of s.types) m.set(t.fullName, t);
  return m;
}

interface ByKind {
  struct: StructLayout;
  message: StructLayout;
  enum: EnumLayout;
  union: UnionLayout;
}

function lookup<K extends keyof ByKind>(table: TypeTable, name: string, kind: K): ByKind[K] {
  const t = table.get(name);
  if (!t || (t.kind !== kind && !(kind === 'struct' && t.kind === 'message'))) throw new TypeError(`type '${name}' is not a known ${kind}`);
  return t as ByKind[K];
}

// --- verify ---------------------------------------------------------------------------------

/**
 * One verification pass. The path of the value being checked is kept as a stack of
 * segments (field names, element indices) and turned into a string only when a check
 * fails, so a message that verifies allocates nothing: the SDK verifies every received
 * message on its hot path (bench/ring.bench.ts measures bytes per message).
 */
class Verifier {
  table: TypeTable;
  u8: Uint8Array;
  dv: DataView;
  base = 0;
  tailStart = 0;
  total = 0;
  /**
   * Path segments below the message name: a string is `.name`, a number `[i]`; the first
   * `depth` entries are live. The array only grows (setting its length would let V8
   * reallocate its backing store on every call).
   */
  private readonly segs: (string | number)[] = [];
  private depth = 0;
  private root = '';

  constructor(table: TypeTable, u8: Uint8Array) {
    this.table = table;
    this.u8 = u8;
    this.dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  }

  /** Re-points this verifier at another buffer (a new DataView only when the bytes differ). */
  reset(table: TypeTable, u8: Uint8Array, base: number, root: string): void {
    this.table = table;
    if (u8 !== this.u8) {
      this.u8 = u8;
      this.dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
    }
    this.base = base;
    this.root = root;
    this.depth = 0;
  }

  path(extra?: string): string {
    let p = this.root;
    for (let i = 0; i < this.depth; i++) {
      const s = this.segs[i]!;
      p += typeof s === 'number' ? `[${s}]` : `.${s}`;
    }
    return extra === undefined ? p : `${p}.${extra}`;
  }

  fail(code: VerifyCode, at: number, value: number | bigint, detail: string, extra?: string): never {
    throw new VerifyError(code, this.path(extra), at - this.base, value, detail);
  }

  record(s: StructLayout, at: number, version: number): void {
    const dv = this.dv;
    for (const f of s.fields) {
      if (f.since > version) continue;
      if (f.presence && (dv.getUint8(at + f.presence.offset) & (1 << f.presence.bit)) === 0) continue;
      this.segs[this.depth++] = f.name;
      this.value(f.type, at + f.offset);
      this.depth--;
    }
  }

  /** Checks a reference at `at` to `count × stride` bytes; returns the absolute block offset or -1. */
  ref(at: number, stride: number): number {
    const off = this.dv.getUint32(at, true);
    const cnt = this.dv.getUint32(at + 4, true);
    if (cnt === 0) {
      if (off !== 0) this.fail('BAD_REF', at, off, `empty reference must have offset 0, has ${off}`);
      return -1;
    }
    if (off % BLOCK_ALIGN !== 0) this.fail('BAD_REF', at, off, `reference offset ${off} is not a multiple of ${BLOCK_ALIGN}`);
    const end = off + cnt * stride;
    if (off < this.tailStart || end > this.total) this.fail('OUT_OF_BOUNDS', at, off, `reference [${off}, ${end}) (count ${cnt}, stride ${stride}) is outside the tail [${this.tailStart}, ${this.total})`);
    return this.base + off;
  }

  value(t: TypeRef, at: number): void {
    const dv = this.dv;
    switch (t.kind) {
      case 'scalar':
        if (t.scalar === 'bool') {
          const b = dv.getUint8(at);
          if (b > 1) this.fail('BAD_BOOL', at, b, `bool must be 0 or 1, is ${b}`);
        }
        return;
      case 'enum': {
        const e = lookup(this.table, t.name, 'enum');
        const v = readEnum(dv, at, e);
        if (!enumHas(e, v)) this.fail('BAD_ENUM', at, v, `${v} is not a value of enum ${e.fullName}`);
        return;
      }
      case 'struct':
        this.record(lookup(this.table, t.name, 'struct'), at, 255);
        return;
      case 'array':
        for (let i = 0; i < t.length; i++) {
          this.segs[this.depth++] = i;
          this.value(t.element, at + i * t.stride);
          this.depth--;
        }
        return;
      case 'string': {
        const p = this.ref(at, 1);
        if (p >= 0) {
          const n = dv.getUint32(at + 4, true);
          const bad = utf8InvalidAt(this.u8, p, p + n);
          if (bad >= 0) this.fail('BAD_UTF8', at, bad - this.base, `invalid UTF-8 at byte ${bad - this.base} of the message`);
        }
        return;
      }
      case 'bytes':
        this.ref(at, 1);
        return;
      case 'vector': {
        const p = this.ref(at, t.stride);
        if (p < 0 || !needsWalk(t.element)) return;
        const n = dv.getUint32(at + 4, true);
        for (let i = 0; i < n; i++) {
          this.segs[this.depth++] = i;
          this.value(t.element, p + i * t.stride);
          this.depth--;
        }
        return;
      }
      case 'union': {
        const u = lookup(this.table, t.name, 'union');
        const tag = dv.getUint32(at, true);
        const off = dv.getUint32(at + 4, true);
        if (tag === 0) {
          if (off !== 0) this.fail('BAD_UNION', at, off, `union without a value must have offset 0, has ${off}`);
          return;
        }
        const c = u.cases[tag - 1];
        if (!c) this.fail('BAD_UNION', at, tag, `tag ${tag} is not a case of ${u.fullName} (it has ${u.cases.length})`);
        if (off % BLOCK_ALIGN !== 0) this.fail('BAD_REF', at, off, `union offset ${off} is not a multiple of ${BLOCK_ALIGN}`, c.name);
        if (off < this.tailStart || off + c.size > this.total) this.fail('OUT_OF_BOUNDS', at, off, `union value [${off}, ${off + c.size}) is outside the tail [${this.tailStart}, ${this.total})`, c.name);
        this.segs[this.depth++] = c.name;
        this.value(c.type, this.base + off);
        this.depth--;
        return;
      }
    }
  }
}

function enumHas(e: EnumLayout, v: number): boolean {
  for (const x of e.values) if (x.value === v) return true;
  return false;
}

/** Whether elements of this type need checking beyond their bounds. */
function needsWalk(t: TypeRef): boolean {
  return !(t.kind === 'scalar' && t.scalar !== 'bool');
}

/** The type id of each message layout as two u32 halves (parsed once; no bigint per call). */
const typeIds = new WeakMap<StructLayout, { lo: number; hi: number }>();
/** One verifier, reused by every call: verify() is not re-entrant and never needs to be. */
let shared: Verifier | null = null;

/**
 * Verifies the message of type `typeName` at `bytes[offset, offset + length)`. Returns
 * null when it is safe to read, else the first problem found (fields in declaration
 * order, depth first). A message that verifies costs no allocation.
 */
export function verify(table: TypeTable, typeName: string, bytes: Uint8Array, offset = 0, length = bytes.length - offset): VerifyError | null {
  const m = lookup(table, typeName, 'message');
  const v = shared ?? (shared = new Verifier(table, bytes));
  v.reset(table, bytes, offset, m.name);
  const dv = v.dv;
  try {
    if (length < HEADER_SIZE) v.fail('TRUNCATED', offset, length, `${length} bytes can not hold the ${HEADER_SIZE}-byte header`);
    const total = dv.getUint32(offset + H_TOTAL_SIZE, true);
    if (total > length) v.fail('TRUNCATED', offset + H_TOTAL_SIZE, total, `total_size ${total} exceeds the ${length} bytes available`);
    let want = typeIds.get(m);
    if (want === undefined) {
      const t = BigInt(m.typeId!);
      typeIds.set(m, (want = { lo: Number(t & 0xffffffffn), hi: Number(t >> 32n) }));
    }
    if (dv.getUint32(offset + H_TYPE_ID, true) !== want.lo || dv.getUint32(offset + H_TYPE_ID + 4, true) !== want.hi) {
      const id = dv.getBigUint64(offset + H_TYPE_ID, true);
      v.fail('BAD_TYPE_ID', offset + H_TYPE_ID, id, `type id 0x${id.toString(16).padStart(16, '0')} is not ${m.fullName} (${m.typeId})`);
    }
    const fixed = dv.getUint16(offset + H_FIXED_SIZE, true);
    const version = dv.getUint8(offset + H_VERSION);
    const flags = dv.getUint8(offset + H_FLAGS);
    if (total % 8 !== 0) v.fail('BAD_HEADER', offset + H_TOTAL_SIZE, total, `total_size ${total} is not a multiple of 8`);
    if (fixed % 8 !== 0) v.fail('BAD_HEADER', offset + H_FIXED_SIZE, fixed, `fixed_size ${fixed} is not a multiple of 8`);
    if (HEADER_SIZE + fixed > total) v.fail('BAD_HEADER', offset + H_FIXED_SIZE, fixed, `fixed part [16, ${16 + fixed}) exceeds total_size ${total}`);
    if (version < 1) v.fail('BAD_HEADER', offset + H_VERSION, version, 'version must be at least 1');
    if (flags !== 0) v.fail('BAD_HEADER', offset + H_FLAGS, flags, `flags must be 0 in layout v1, are ${flags}`);
    const rv = Math.min(version, m.version!);
    const need = m.versionSizes![rv - 1]!;
    if (fixed < need) v.fail('BAD_HEADER', offset + H_FIXED_SIZE, fixed, `fixed_size ${fixed} is smaller than the ${need} bytes of version ${rv}`);
    v.tailStart = HEADER_SIZE + fixed;
    v.total = total;
    v.record(m, offset + HEADER_SIZE, version);
    return null;
  } catch (e) {
    if (e instanceof VerifyError) return e;
    throw e;
  }
}

function readEnum(dv: DataView, at: number, e: EnumLayout): number {
  return readInt(dv, at, e.base);
}

/** Reads an integer of at most 32 bits. */
function readInt(dv: DataView, at: number, s: 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32'): number {
  switch (s) {
    case 'u8': return dv.getUint8(at);
    case 'i8': return dv.getInt8(at);
    case 'u16': return dv.getUint16(at, true);
    case 'i16': return dv.getInt16(at, true);
    case 'u32': return dv.getUint32(at, true);
    case 'i32': return dv.getInt32(at, true);
  }
}

// --- toJSON ---------------------------------------------------------------------------------

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/** The JSON value form (docs/layout.md §10) of a message. Verify untrusted bytes first. */
export function toJSON(table: TypeTable, typeName: string, bytes: Uint8Array, offset = 0): { [k: string]: JsonValue } {
  const m = lookup(table, typeName, 'message');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint8(offset + H_VERSION);
  const read = (t: TypeRef, at: number): JsonValue => {
    switch (t.kind) {
      case 'scalar':
        return scalarJSON(dv, at, t.scalar);
      case 'enum': {
        const e = lookup(table, t.name, 'enum');
        const v = readEnum(dv, at, e);
        return e.values.find((x) => x.value === v)?.name ?? v;
      }
      case 'struct':
        return rec(lookup(table, t.name, 'struct'), at, 255);
      case 'array':
        return Array.from({ length: t.length }, (_, i) => read(t.element, at + i * t.stride));
      case 'string': {
        const off = dv.getUint32(at, true);
        return utf8Decode(bytes, offset + off, offset + off + dv.getUint32(at + 4, true));
      }
      case 'bytes': {
        const off = dv.getUint32(at, true);
        return toBase64(bytes.subarray(offset + off, offset + off + dv.getUint32(at + 4, true)));
      }
      case 'vector': {
        const off = dv.getUint32(at, true);
        const n = dv.getUint32(at + 4, true);
        return Array.from({ length: n }, (_, i) => read(t.element, offset + off + i * t.stride));
      }
      case 'union': {
        const tag = dv.getUint32(at, true);
        if (tag === 0) return null;
        const c = lookup(table, t.name, 'union').cases[tag - 1];
        if (!c) return { [String(tag)]: null };
        return { [c.name]: read(c.type, offset + dv.getUint32(at + 4, true)) };
      }
    }
  };
  const rec = (s: StructLayout, at: number, ver: number): { [k: string]: JsonValue } => {
    const o: { [k: string]: JsonValue } = {};
    for (const f of s.fields) {
      if (f.presence && (f.since > ver || (dv.getUint8(at + f.presence.offset) & (1 << f.presence.bit)) === 0)) o[f.name] = null;
      else if (f.since > ver) o[f.name] = defaultJSON(f.type, table);
      else o[f.name] = read(f.type, at + f.offset);
    }
    return o;
  };
  return rec(m, offset + HEADER_SIZE, version);
}

function defaultJSON(t: TypeRef, table: TypeTable): JsonValue {
  switch (t.kind) {
    case 'string':
    case 'bytes':
      return '';
    case 'vector':
      return [];
    case 'union':
      return null;
    default: {
      if (t.kind === 'scalar') return scalarJSON(new DataView(new ArrayBuffer(8)), 0, t.scalar);
      if (t.kind === 'enum') {
        const e = lookup(table, t.name, 'enum');
        return e.values.find((x) => x.value === 0)?.name ?? 0;
      }
      if (t.kind === 'array') return Array.from({ length: t.length }, () => defaultJSON(t.element, table));
      const s = lookup(table, t.name, 'struct');
      return Object.fromEntries(s.fields.map((f) => [f.name, f.presence ? null : defaultJSON(f.type, table)]));
    }
  }
}

function scalarJSON(dv: DataView, at: number, s: keyof typeof SCALAR_SIZE): JsonValue {
  switch (s) {
    case 'bool': return dv.getUint8(at) !== 0;
    case 'u64': return dv.getBigUint64(at, true).toString();
    case 'i64': return dv.getBigInt64(at, true).toString();
    case 'f32': return floatJSON(dv.getFloat32(at, true), true);
    case 'f64': return floatJSON(dv.getFloat64(at, true), false);
    default: return readInt(dv, at, s);
  }
}

/** Shortest decimal that reads back as the same binary32/binary64 value. */
export function floatJSON(v: number, f32: boolean): number | string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (!f32) return v;
  for (let p = 1; p <= 9; p++) {
    const d = Number(v.toPrecision(p));
    if (Math.fround(d) === v) return d;
  }
  return v;
}

// --- encode ---------------------------------------------------------------------------------

/**
 * Writes the canonical encoding (docs/layout.md §5) of a JSON-form value into
 * `out[offset, offset + capacity)` and returns its size. Throws EncodeError for a value
 * that does not fit its type, CapacityError when it does not fit the space.
 */
export function encode(table: TypeTable, typeName: string, value: { [k: string]: unknown }, out: Uint8Array, offset = 0, capacity = out.length - offset): number {
  const m = lookup(table, typeName, 'message');
  const dv = new DataView(out.buffer, out.byteOffset);
  const fixedEnd = HEADER_SIZE + m.size;
  const room = (n: number): void => {
    if (n > capacity) throw new CapacityError(n, capacity);
  };
  room(fixedEnd);
  out.fill(0, offset, offset + fixedEnd);
  let end = fixedEnd;
  const alloc = (size: number): number => {
    const start = alignUp(end, BLOCK_ALIGN);
    room(start + size);
    out.fill(0, offset + end, offset + start + size);
    end = start + size;
    return start;
  };
  const setRef = (at: number, off: number, n: number): void => {
    dv.setUint32(at, off, true);
    dv.setUint32(at + 4, n, true);
  };
  const write = (t: TypeRef, at: number, v: unknown, path: string): void => {
    switch (t.kind) {
      case 'scalar':
        writeScalar(dv, at, t.scalar, v ?? defaultScalar(t.scalar), path);
        return;
      case 'enum': {
        const e = lookup(table, t.name, 'enum');
        if ((v === undefined || v === null) && !e.values.some((k) => k.value === 0)) throw new EncodeError(path, `a value is required: enum ${e.fullName} has no value 0 to default to`);
        const x = v === undefined || v === null ? 0 : typeof v === 'string' ? e.values.find((k) => k.name === v)?.value : v;
        if (typeof x !== 'number' || ((v !== undefined && v !== null) && !e.values.some((k) => k.value === x))) throw new EncodeError(path, `${JSON.stringify(v)} is not a value of enum ${e.fullName}`);
        writeScalar(dv, at, e.base, x, path);
        return;
      }
      case 'struct':
        rec(lookup(table, t.name, 'struct'), at, v ?? {}, path);
        return;
      case 'array': {
        const a = (v ?? []) as unknown[];
        if (!Array.isArray(a) || a.length > t.length) throw new EncodeError(path, `expected an array of at most ${t.length} elements`);
        for (let i = 0; i < t.length; i++) write(t.element, at + i * t.stride, a[i], `${path}[${i}]`);
        return;
      }
      case 'string': {
        if (v === undefined || v === null || v === '') return;
        if (typeof v !== 'string') throw new EncodeError(path, `expected a string, got ${typeof v}`);
        const n = utf8Length(v);
        const p = alloc(n);
        utf8Write(v, out, offset + p);
        setRef(at, p, n);
        return;
      }
      case 'bytes': {
        if (v === undefined || v === null || v === '') return;
        const b = typeof v === 'string' ? fromBase64(v) : v instanceof Uint8Array ? v : undefined;
        if (!b) throw new EncodeError(path, 'expected base64 text or a Uint8Array');
        if (b.length === 0) return;
        const p = alloc(b.length);
        out.set(b, offset + p);
        setRef(at, p, b.length);
        return;
      }
      case 'vector': {
        if (v === undefined || v === null) return;
        if (!Array.isArray(v)) throw new EncodeError(path, `expected an array, got ${typeof v}`);
        if (v.length === 0) return;
        const p = alloc(v.length * t.stride);
        setRef(at, p, v.length);
        for (let i = 0; i < v.length; i++) write(t.element, offset + p + i * t.stride, v[i], `${path}[${i}]`);
        return;
      }
      case 'union': {
        if (v === undefined || v === null) return;
        const keys = typeof v === 'object' ? Object.keys(v as object) : [];
        const u = lookup(table, t.name, 'union');
        const c = u.cases.find((k) => k.name === keys[0]);
        if (keys.length !== 1 || !c) throw new EncodeError(path, `expected null or an object with one key out of ${u.cases.map((k) => k.name).join(', ')}`);
        const p = alloc(c.size);
        dv.setUint32(at, c.tag, true);
        dv.setUint32(at + 4, p, true);
        write(c.type, offset + p, (v as Record<string, unknown>)[c.name], `${path}.${c.name}`);
        return;
      }
    }
  };
  const rec = (s: StructLayout, at: number, v: unknown, path: string): void => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new EncodeError(path, `expected an object, got ${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v}`);
    const obj = v as Record<string, unknown>;
    const known = new Set(s.fields.map((f) => f.name));
    for (const k of Object.keys(obj)) if (!known.has(k)) throw new EncodeError(path, `unknown field '${k}'; ${s.fullName} has ${[...known].join(', ') || 'no fields'}`);
    for (const f of s.fields) writeField(f, at, obj[f.name], `${path}.${f.name}`);
  };
  const writeField = (f: FieldLayout, at: number, v: unknown, path: string): void => {
    if (f.presence) {
      if (v === undefined || v === null) return;
      dv.setUint8(at + f.presence.offset, dv.getUint8(at + f.presence.offset) | (1 << f.presence.bit));
    }
    write(f.type, at + f.offset, v, path);
  };
  dv.setBigUint64(offset + H_TYPE_ID, BigInt(m.typeId!), true);
  dv.setUint16(offset + H_FIXED_SIZE, m.size, true);
  dv.setUint8(offset + H_VERSION, m.version!);
  rec(m, offset + HEADER_SIZE, value, m.name);
  const total = alignUp(end, BLOCK_ALIGN);
  room(total);
  out.fill(0, offset + end, offset + total);
  dv.setUint32(offset + H_TOTAL_SIZE, total, true);
  return total;
}

function defaultScalar(s: string): unknown {
  return s === 'bool' ? false : s === 'u64' || s === 'i64' ? 0n : 0;
}

const INT_RANGE: Record<string, [number, number]> = {
  u8: [0, 0xff], i8: [-0x80, 0x7f], u16: [0, 0xffff], i16: [-0x8000, 0x7fff], u32: [0, 0xffffffff], i32: [-0x80000000, 0x7fffffff],
};

function writeScalar(dv: DataView, at: number, s: string, v: unknown, path: string): void {
  if (s === 'bool') {
    if (typeof v !== 'boolean') throw new EncodeError(path, `expected a boolean, got ${JSON.stringify(v)}`);
    dv.setUint8(at, v ? 1 : 0);
    return;
  }
  if (s === 'u64' || s === 'i64') {
    let b: bigint;
    try {
      b = BigInt(v as string | number | bigint);
    } catch {
      throw new EncodeError(path, `expected an integer for ${s}, got ${JSON.stringify(String(v))}`);
    }
    const ok = s === 'u64' ? b >= 0n && b < 1n << 64n : b >= -(1n << 63n) && b < 1n << 63n;
    if (!ok) throw new EncodeError(path, `${b} does not fit in ${s}`);
    if (s === 'u64') dv.setBigUint64(at, b, true);
    else dv.setBigInt64(at, b, true);
    return;
  }
  if (s === 'f32' || s === 'f64') {
    const x = v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v;
    if (typeof x !== 'number') throw new EncodeError(path, `expected a number for ${s}, got ${JSON.stringify(v)}`);
    if (s === 'f32') dv.setFloat32(at, x, true);
    else dv.setFloat64(at, x, true);
    return;
  }
  const [lo, hi] = INT_RANGE[s]!;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new EncodeError(path, `${JSON.stringify(v)} is not an integer in ${s} range ${lo}..${hi}`);
  switch (s) {
    case 'u8': dv.setUint8(at, v); break;
    case 'i8': dv.setInt8(at, v); break;
    case 'u16': dv.setUint16(at, v, true); break;
    case 'i16': dv.setInt16(at, v, true); break;
    case 'u32': dv.setUint32(at, v, true); break;
    case 'i32': dv.setInt32(at, v, true); break;
  }
}

