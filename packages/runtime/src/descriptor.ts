/**
 * The resolved layout descriptor: the machine-readable form of docs/layout.md for one
 * schema file. `isthmus compile --emit json` writes exactly this object, every emitter
 * consumes it, and the TS runtime's generic verify/toJSON/encode walk it.
 *
 * All offsets are in bytes. Field offsets are relative to the start of the enclosing
 * struct's fixed part; for a message, the fixed part starts at byte 16 (after the header).
 */

export const DESCRIPTOR_FORMAT = 'isthmus-layout/1';

/** Scalar names as written in schemas. */
export type ScalarName =
  | 'bool'
  | 'u8' | 'u16' | 'u32' | 'u64'
  | 'i8' | 'i16' | 'i32' | 'i64'
  | 'f32' | 'f64';

/** Underlying types an enum may declare (64-bit enums are not allowed). */
export type EnumBase = 'u8' | 'u16' | 'u32' | 'i8' | 'i16' | 'i32';

/** A reference to a type, as it appears in a field, array element or vector element. */
export type TypeRef =
  | { readonly kind: 'scalar'; readonly scalar: ScalarName }
  | { readonly kind: 'enum'; readonly name: string }
  | { readonly kind: 'struct'; readonly name: string }
  | { readonly kind: 'union'; readonly name: string }
  | { readonly kind: 'string' }
  | { readonly kind: 'bytes' }
  | { readonly kind: 'array'; readonly element: TypeRef; readonly length: number; readonly stride: number }
  | { readonly kind: 'vector'; readonly element: TypeRef; readonly stride: number };

export interface FieldLayout {
  readonly name: string;
  /** Byte offset from the start of the enclosing fixed part. */
  readonly offset: number;
  /** Inline size in bytes (a reference is 8). */
  readonly size: number;
  readonly align: number;
  readonly type: TypeRef;
  /** Schema version that introduced the field (1 for the original fields). */
  readonly since: number;
  readonly deprecated: boolean;
  /** Present only for optional fields: where the presence bit lives. */
  readonly presence?: { readonly offset: number; readonly bit: number };
  readonly doc?: string;
}

export interface StructLayout {
  readonly kind: 'struct' | 'message';
  /** Name as declared. */
  readonly name: string;
  /** `namespace.Name`. Type references use this form. */
  readonly fullName: string;
  /** Size of the fixed part in bytes (a multiple of `align`; for messages, of 8). */
  readonly size: number;
  readonly align: number;
  readonly fields: readonly FieldLayout[];
  /** Offsets of the hidden presence bytes, in order. */
  readonly presenceBytes: readonly number[];
  readonly doc?: string;
  /** Messages only: 64-bit type id as `0x` + 16 lowercase hex digits. */
  readonly typeId?: string;
  /** Messages only: highest `@since` among the fields. */
  readonly version?: number;
  /** Messages only: fixed-part size for each version, index 0 = version 1. */
  readonly versionSizes?: readonly number[];
  /** Messages only: the canonical text that `typeId` hashes (absent when `@id` pins it). */
  readonly canonical?: string;
}

export interface EnumLayout {
  readonly kind: 'enum';
  readonly name: string;
  readonly fullName: string;
  readonly base: EnumBase;
  readonly values: readonly { readonly name: string; readonly value: number; readonly deprecated: boolean; readonly doc?: string }[];
  readonly doc?: string;
}

export interface UnionLayout {
  readonly kind: 'union';
  readonly name: string;
  readonly fullName: string;
  /** Tags start at 1; tag 0 means "no value". */
  readonly cases: readonly { readonly name: string; readonly tag: number; readonly type: TypeRef; readonly size: number; readonly align: number; readonly doc?: string }[];
  readonly doc?: string;
}

export type TypeLayout = StructLayout | EnumLayout | UnionLayout;

export interface SchemaLayout {
  readonly format: typeof DESCRIPTOR_FORMAT;
  /** Schema file name, relative to the directory it was compiled from. */
  readonly file: string;
  readonly namespace: string;
  /** Files this schema imports (their descriptors must be supplied alongside). */
  readonly imports: readonly { readonly file: string; readonly namespace: string }[];
  /** Types declared in this file, dependencies before dependents. */
  readonly types: readonly TypeLayout[];
}

/** Size of the message header in bytes. */
export const HEADER_SIZE = 16;
/** Inline size of a (offset, count) reference and of a union (tag, offset) pair. */
export const REF_SIZE = 8;
export const REF_ALIGN = 4;
/** Every tail block starts at a multiple of this, and messages are padded to it. */
export const BLOCK_ALIGN = 8;

export const SCALAR_SIZE: Readonly<Record<ScalarName, number>> = {
  bool: 1, u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, u64: 8, i64: 8, f64: 8,
};
