/**
 * Zero-copy views: the base classes that generated view classes extend.
 *
 * A view never copies the message. Every accessor reads the bytes in place through one
 * DataView over the whole buffer, at `view._o + <field offset>` (absolute). Bounds come
 * from the view: `wrap()` checks once that the fixed part the reader will touch lies
 * inside `[base, base + length)`, and each reference is checked against `length` when it
 * is followed. So even unverified, hostile bytes never make an accessor read outside the
 * range the caller gave. (verify() is what tells you the *values* are sound.)
 *
 * Objects returned by accessors (nested struct views, vector views) are cached on their
 * parent and re-pointed by the next access of the same field: read values out of them,
 * don't keep them across a `wrap()`.
 */
import { HEADER_SIZE, BLOCK_ALIGN } from './descriptor.js';
import { BoundsError, CapacityError, EncodeError } from './errors.js';
import { utf8Decode, utf8Length, utf8Write } from './utf8.js';

const EMPTY_BUF = new ArrayBuffer(0);
const EMPTY_DV = new DataView(EMPTY_BUF);
const EMPTY_U8 = new Uint8Array(EMPTY_BUF);

export type Bytes = ArrayBuffer | SharedArrayBuffer | Uint8Array;

/** Header field offsets (docs/layout.md §2). */
export const H_TYPE_ID = 0;
export const H_TOTAL_SIZE = 8;
export const H_FIXED_SIZE = 12;
export const H_VERSION = 14;
export const H_FLAGS = 15;

/** Static facts a generated message class provides about its type. */
export interface MessageType {
  readonly TYPE_ID: bigint;
  readonly FIXED_SIZE: number;
  readonly VERSION: number;
  /** Fixed-part size for each version, index 0 = version 1. */
  readonly VERSION_SIZES: readonly number[];
}

/**
 * The root of a message view (and, in build mode, of a builder). Generated message
 * classes extend it; nested struct views point back at it through `_m`.
 */
export abstract class MessageCore {
  /** @internal The root (itself); struct views share this shape. */
  _m: MessageCore = this;
  /** @internal Absolute offset of the fixed part (`_base + 16`). */
  _o = HEADER_SIZE;
  /** @internal */ _buf: ArrayBufferLike | undefined;
  /** @internal */ _dv: DataView = EMPTY_DV;
  /** @internal */ _u8: Uint8Array = EMPTY_U8;
  /** @internal Absolute offset of the message start. */
  _base = 0;
  /** @internal Bytes in the view's range (a builder: its capacity). */
  _len = 0;
  /** @internal Version the accessors honour: min(header version, schema version). */
  _v = 0;
  /** @internal Count of the last reference resolved by `_ref`. */
  _cnt = 0;
  /** @internal Build mode: tail cursor relative to `_base`, or -1 for a read-only view. */
  _end = -1;

  protected abstract _type(): MessageType;

  /** Message start, relative to the buffer. */
  get byteOffset(): number {
    return this._base;
  }
  /** The `total_size` header field. */
  get byteLength(): number {
    return this._dv.getUint32(this._base + H_TOTAL_SIZE, true);
  }
  /** The writer's schema version (header). */
  get version(): number {
    return this._dv.getUint8(this._base + H_VERSION);
  }
  /** The header's type id. */
  get typeId(): bigint {
    return this._dv.getBigUint64(this._base + H_TYPE_ID, true);
  }
  /** The bytes of the message, `[start, start + total_size)`, without a copy. */
  bytes(): Uint8Array {
    return this._u8.subarray(this._base, this._base + Math.min(this.byteLength, this._len));
  }

  /**
   * Points this view at a message in `bytes` (at `offset`, spanning at most `length`
   * bytes). Allocates nothing when the underlying buffer is the one it already had.
   * Throws BoundsError when the range can not hold the header and the fixed part that
   * the header's version implies.
   */
  wrap(bytes: Bytes, offset = 0, length?: number): this {
    this._point(bytes, offset, length);
    const t = this._type();
    if (this._len < HEADER_SIZE) throw new BoundsError(`message view needs at least ${HEADER_SIZE} bytes, got ${this._len}`);
    const v = Math.min(this._dv.getUint8(this._base + H_VERSION), t.VERSION);
    if (v < 1) throw new BoundsError(`message header has version 0 at offset ${this._base}`);
    const need = HEADER_SIZE + t.VERSION_SIZES[v - 1]!;
    if (this._len < need) throw new BoundsError(`message of version ${v} needs ${need} bytes for its fixed part, but the view has ${this._len}`);
    this._v = v;
    this._end = -1;
    return this;
  }

  /**
   * Starts building a message in place in `bytes` at `offset`, using at most `capacity`
   * bytes: writes the header, zeroes the fixed part. Finish with `finish()`.
   */
  build(bytes: Bytes, offset = 0, capacity?: number): this {
    this._point(bytes, offset, capacity);
    const t = this._type();
    const fixedEnd = HEADER_SIZE + t.FIXED_SIZE;
    if (this._len < fixedEnd) throw new CapacityError(fixedEnd, this._len);
    const dv = this._dv;
    const b = this._base;
    this._u8.fill(0, b, b + fixedEnd);
    dv.setBigUint64(b + H_TYPE_ID, t.TYPE_ID, true);
    dv.setUint16(b + H_FIXED_SIZE, t.FIXED_SIZE, true);
    dv.setUint8(b + H_VERSION, t.VERSION);
    this._v = t.VERSION;
    this._end = fixedEnd;
    return this;
  }

  /** Seals a message being built: pads it to 8 and writes `total_size`. Returns it. */
  finish(): number {
    if (this._end < 0) throw new TypeError('finish() called on a read-only view; start with build()');
    const total = alignUp(this._end, BLOCK_ALIGN);
    if (total > this._len) throw new CapacityError(total, this._len);
    this._u8.fill(0, this._base + this._end, this._base + total);
    this._dv.setUint32(this._base + H_TOTAL_SIZE, total, true);
    this._end = total;
    return total;
  }

  private _point(bytes: Bytes, offset: number, length: number | undefined): void {
    let buf: ArrayBufferLike;
    let base: number;
    let avail: number;
    if (bytes instanceof Uint8Array) {
      buf = bytes.buffer;
      base = bytes.byteOffset + offset;
      avail = bytes.byteLength - offset;
    } else {
      buf = bytes;
      base = offset;
      avail = bytes.byteLength - offset;
    }
    const len = length ?? avail;
    if (!(offset >= 0 && len >= 0 && len <= avail)) throw new BoundsError(`range [${offset}, ${offset + len}) is outside the ${avail + offset}-byte buffer`);
    if (buf !== this._buf) {
      this._buf = buf;
      this._dv = new DataView(buf);
      this._u8 = new Uint8Array(buf);
    }
    this._base = base;
    this._len = len;
    this._o = base + HEADER_SIZE;
  }

  // --- reference helpers used by generated accessors --------------------------------------

  /**
   * @internal Resolves the reference stored at absolute offset `at`: returns the block's
   * absolute offset and leaves the count in `_cnt`; returns -1 for an empty reference.
   * Throws BoundsError if the block would leave the view's range.
   */
  _ref(at: number, stride: number): number {
    const dv = this._dv;
    const off = dv.getUint32(at, true);
    const cnt = dv.getUint32(at + 4, true);
    this._cnt = cnt;
    if (cnt === 0) return -1;
    if (off + cnt * stride > this._len) throw new BoundsError(`reference at offset ${at - this._base} points to [${off}, ${off + cnt * stride}), outside the ${this._len}-byte view`);
    return this._base + off;
  }

  /** @internal Reads the string referenced at `at`. */
  _str(at: number): string {
    const p = this._ref(at, 1);
    return p < 0 ? '' : utf8Decode(this._u8, p, p + this._cnt);
  }

  /** @internal The bytes referenced at `at`, as a subarray (no copy). */
  _bytes(at: number): Uint8Array {
    const p = this._ref(at, 1);
    return p < 0 ? this._u8.subarray(0, 0) : this._u8.subarray(p, p + this._cnt);
  }

  /** @internal Build mode: reserves an 8-aligned, zeroed tail block; returns its absolute offset. */
  _alloc(size: number): number {
    if (this._end < 0) throw new TypeError('this view is read-only: variable-size fields can only be set while building (see build())');
    const start = alignUp(this._end, BLOCK_ALIGN);
    if (start + size > this._len) throw new CapacityError(start + size, this._len);
    this._u8.fill(0, this._base + this._end, this._base + start + size);
    this._end = start + size;
    return this._base + start;
  }

  /** @internal Build mode: allocates `count × stride` bytes and points the reference at `at` to them. */
  _initRef(at: number, count: number, stride: number): number {
    if (!Number.isInteger(count) || count < 0 || count > 0xffffffff) throw new EncodeError(`offset ${at - this._base}`, `invalid element count ${count}`);
    if (count === 0) {
      this._dv.setUint32(at, 0, true);
      this._dv.setUint32(at + 4, 0, true);
      return -1;
    }
    const p = this._alloc(count * stride);
    this._dv.setUint32(at, p - this._base, true);
    this._dv.setUint32(at + 4, count, true);
    return p;
  }

  /** @internal Build mode: stores `s` as a string block referenced from `at`. */
  _setStr(at: number, s: string): void {
    const n = utf8Length(s);
    const p = this._initRef(at, n, 1);
    if (p >= 0) utf8Write(s, this._u8, p);
  }

  /** @internal Build mode: copies `b` into a bytes block referenced from `at`. */
  _setBytes(at: number, b: Uint8Array): void {
    const p = this._initRef(at, b.length, 1);
    if (p >= 0) this._u8.set(b, p);
  }

  /** @internal Throws unless fields of version `since` may be written in this view. */
  _writable(since: number, name: string): void {
    if (this._v < since) throw new TypeError(`field '${name}' is @since(${since}) but this message is version ${this._v}: its writer had no room for it`);
  }
}

/** Base of generated struct views: a position inside a message. */
export abstract class StructView {
  constructor(
    /** @internal */ public _m: MessageCore,
    /** @internal Absolute offset of the struct. */ public _o: number,
  ) {}
}

/** Base of generated union views: the (tag, offset) pair of docs/layout.md §3.3. */
export abstract class UnionView extends StructView {
  /** 0 when the union holds no value, else the 1-based case tag. */
  get tag(): number {
    return this._m._dv.getUint32(this._o, true);
  }
  /** @internal Absolute offset of the value of a case of inline size `size`, bounds-checked. */
  _value(size: number): number {
    const m = this._m;
    const off = m._dv.getUint32(this._o + 4, true);
    if (off + size > m._len) throw new BoundsError(`union at offset ${this._o - m._base} points to [${off}, ${off + size}), outside the ${m._len}-byte view`);
    return m._base + off;
  }
  /** @internal Build mode: stores `tag` and allocates the case's block. */
  _init(tag: number, size: number): number {
    const m = this._m;
    const p = m._alloc(size);
    m._dv.setUint32(this._o, tag, true);
    m._dv.setUint32(this._o + 4, p - m._base, true);
    return p;
  }
}

/** How a vector or array reads and writes one element at an absolute offset. */
export interface Element<T> {
  read(m: MessageCore, at: number, into?: T): T;
  write?(m: MessageCore, at: number, value: T): void;
  /** Build mode, elements that are references to blocks (`vector<vector<T>>`): allocates `count` inner elements. */
  init?(m: MessageCore, at: number, count: number): T;
}

/**
 * A vector (`vector<T>`) or fixed array (`[T; N]`) in place: `length`, `get(i)`,
 * iteration. In build mode `set(i, v)` writes elements. `get(i, into)` re-points an
 * existing struct view instead of allocating one.
 */
export class Vec<T> implements Iterable<T> {
  /** @internal */ _p = 0;
  /** @internal */ _n = 0;
  constructor(
    /** @internal */ public _m: MessageCore,
    /** @internal */ readonly _e: Element<T>,
    /** @internal */ readonly _s: number,
  ) {}

  /** @internal Points at the block referenced from absolute offset `at`. */
  _atRef(m: MessageCore, at: number): this {
    this._m = m;
    this._p = m._ref(at, this._s);
    this._n = m._cnt;
    return this;
  }
  /** @internal Points at an inline array of `n` elements at absolute offset `at`. */
  _atFixed(m: MessageCore, at: number, n: number): this {
    this._m = m;
    this._p = at;
    this._n = n;
    return this;
  }

  get length(): number {
    return this._n;
  }

  get(i: number, into?: T): T {
    if (!(i >= 0 && i < this._n)) throw new RangeError(`index ${i} out of range for length ${this._n}`);
    return this._e.read(this._m, this._p + i * this._s, into);
  }

  set(i: number, value: T): void {
    if (!(i >= 0 && i < this._n)) throw new RangeError(`index ${i} out of range for length ${this._n}`);
    if (!this._e.write) {
      throw new TypeError(this._e.init
        ? 'elements of this vector are vectors: init(i, count) allocates element i, then set its elements'
        : 'elements of this vector are views: get(i) and set their fields');
    }
    this._e.write(this._m, this._p + i * this._s, value);
  }

  /**
   * Build mode, for a vector of vectors: allocates element `i` with `count` inner elements
   * (zeroed) in the message's tail, points element i at it, and returns it to fill.
   */
  init(i: number, count: number): T {
    if (!(i >= 0 && i < this._n)) throw new RangeError(`index ${i} out of range for length ${this._n}`);
    if (!this._e.init) throw new TypeError('init(i, count) is for vectors of vectors; set(i, value) writes these elements');
    return this._e.init(this._m, this._p + i * this._s, count);
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this._n; i++) yield this._e.read(this._m, this._p + i * this._s);
  }

  toArray(): T[] {
    return [...this];
  }
}

// --- element codecs ------------------------------------------------------------------------

const num = (read: (dv: DataView, at: number) => number, write: (dv: DataView, at: number, v: number) => void): Element<number> => ({
  read: (m, at) => read(m._dv, at),
  write: (m, at, v) => write(m._dv, at, v),
});
const big = (read: (dv: DataView, at: number) => bigint, write: (dv: DataView, at: number, v: bigint) => void): Element<bigint> => ({
  read: (m, at) => read(m._dv, at),
  write: (m, at, v) => write(m._dv, at, v),
});

export const E_BOOL: Element<boolean> = { read: (m, at) => m._dv.getUint8(at) !== 0, write: (m, at, v) => m._dv.setUint8(at, v ? 1 : 0) };
export const E_U8 = num((d, a) => d.getUint8(a), (d, a, v) => d.setUint8(a, v));
export const E_I8 = num((d, a) => d.getInt8(a), (d, a, v) => d.setInt8(a, v));
export const E_U16 = num((d, a) => d.getUint16(a, true), (d, a, v) => d.setUint16(a, v, true));
export const E_I16 = num((d, a) => d.getInt16(a, true), (d, a, v) => d.setInt16(a, v, true));
export const E_U32 = num((d, a) => d.getUint32(a, true), (d, a, v) => d.setUint32(a, v, true));
export const E_I32 = num((d, a) => d.getInt32(a, true), (d, a, v) => d.setInt32(a, v, true));
export const E_F32 = num((d, a) => d.getFloat32(a, true), (d, a, v) => d.setFloat32(a, v, true));
export const E_F64 = num((d, a) => d.getFloat64(a, true), (d, a, v) => d.setFloat64(a, v, true));
export const E_U64 = big((d, a) => d.getBigUint64(a, true), (d, a, v) => d.setBigUint64(a, v, true));
export const E_I64 = big((d, a) => d.getBigInt64(a, true), (d, a, v) => d.setBigInt64(a, v, true));
export const E_STRING: Element<string> = { read: (m, at) => m._str(at), write: (m, at, v) => m._setStr(at, v) };
export const E_BYTES: Element<Uint8Array> = { read: (m, at) => m._bytes(at), write: (m, at, v) => m._setBytes(at, v) };

/** Elements that are struct views of class `C`. */
export function structElement<T extends StructView>(C: new (m: MessageCore, o: number) => T): Element<T> {
  return {
    read(m, at, into) {
      if (into) {
        into._m = m;
        into._o = at;
        return into;
      }
      return new C(m, at);
    },
  };
}

/** Elements that are themselves vectors (`vector<vector<T>>`). */
export function vectorElement<T>(inner: Element<T>, stride: number): Element<Vec<T>> {
  return {
    read: (m, at) => new Vec(m, inner, stride)._atRef(m, at),
    init: (m, at, count) => {
      const p = m._initRef(at, count, stride);
      return new Vec(m, inner, stride)._atFixed(m, p < 0 ? 0 : p, p < 0 ? 0 : count);
    },
  };
}

/** Elements that are inline fixed arrays (`vector<[T; N]>`). */
export function arrayElement<T>(inner: Element<T>, stride: number, n: number): Element<Vec<T>> {
  return { read: (m, at) => new Vec(m, inner, stride)._atFixed(m, at, n) };
}

/**
 * A message view over zero bytes, for struct fields that the writer's version did not
 * have: reading them gives zeros, empty strings and empty vectors.
 */
class ZeroCore extends MessageCore {
  protected _type(): MessageType {
    return { TYPE_ID: 0n, FIXED_SIZE: 0, VERSION: 255, VERSION_SIZES: [] };
  }
}
export const ZERO: MessageCore = (() => {
  const z = new ZeroCore();
  const buf = new ArrayBuffer(HEADER_SIZE + 65536);
  z._buf = buf;
  z._dv = new DataView(buf);
  z._u8 = new Uint8Array(buf);
  z._len = buf.byteLength;
  z._v = 255;
  return z;
})();

export function alignUp(n: number, a: number): number {
  const r = n % a;
  return r === 0 ? n : n + a - r;
}
