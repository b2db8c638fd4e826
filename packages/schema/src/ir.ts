/** Resolved IR: names bound to declarations, attributes checked. Input to the layout pass. */
import type { EnumBase, ScalarName } from '@isthmus/runtime';
import type { Span } from './diagnostics.js';

export type IrTypeRef =
  | { readonly kind: 'scalar'; readonly scalar: ScalarName }
  | { readonly kind: 'enum' | 'struct' | 'union'; readonly name: string }
  | { readonly kind: 'string' }
  | { readonly kind: 'bytes' }
  | { readonly kind: 'array'; readonly element: IrTypeRef; readonly length: number }
  | { readonly kind: 'vector'; readonly element: IrTypeRef };

export interface IrField {
  readonly name: string;
  readonly type: IrTypeRef;
  readonly optional: boolean;
  readonly since: number;
  readonly deprecated: boolean;
  readonly doc?: string;
  readonly span: Span;
}

export interface IrRecord {
  readonly kind: 'struct' | 'message';
  readonly name: string;
  readonly fullName: string;
  readonly fields: readonly IrField[];
  /** `@id` when the schema pins the type id. */
  readonly id?: bigint;
  readonly doc?: string;
  readonly span: Span;
}

export interface IrEnum {
  readonly kind: 'enum';
  readonly name: string;
  readonly fullName: string;
  readonly base: EnumBase;
  readonly values: readonly { readonly name: string; readonly value: number; readonly deprecated: boolean; readonly doc?: string }[];
  readonly doc?: string;
  readonly span: Span;
}

export interface IrUnion {
  readonly kind: 'union';
  readonly name: string;
  readonly fullName: string;
  readonly cases: readonly { readonly name: string; readonly type: IrTypeRef; readonly doc?: string }[];
  readonly doc?: string;
  readonly span: Span;
}

export type IrType = IrRecord | IrEnum | IrUnion;

export interface IrSchema {
  readonly file: string;
  readonly namespace: string;
  readonly imports: readonly IrSchema[];
  /** Import paths as written in the schema, parallel to `imports`. */
  readonly importFiles: readonly string[];
  /** Types declared in this file, in declaration order. */
  readonly types: readonly IrType[];
}
