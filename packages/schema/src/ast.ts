/** Syntax tree of one schema file, as parsed, before names are resolved. */
import type { Span } from './diagnostics.js';

export interface Attribute {
  readonly name: string;
  /** Numbers are kept as bigint so 64-bit ids survive. */
  readonly args: readonly (bigint | string)[];
  readonly span: Span;
}

export type TypeExpr =
  | { readonly kind: 'named'; readonly name: string; readonly span: Span }
  | { readonly kind: 'array'; readonly element: TypeExpr; readonly length: bigint; readonly span: Span }
  | { readonly kind: 'vector'; readonly element: TypeExpr; readonly span: Span };

export interface FieldDecl {
  readonly name: string;
  readonly span: Span;
  readonly type: TypeExpr;
  readonly optional: boolean;
  readonly attrs: readonly Attribute[];
  readonly doc?: string;
}

export interface RecordDecl {
  readonly kind: 'struct' | 'message';
  readonly name: string;
  readonly span: Span;
  readonly attrs: readonly Attribute[];
  readonly doc?: string;
  readonly fields: readonly FieldDecl[];
}

export interface EnumValueDecl {
  readonly name: string;
  readonly span: Span;
  readonly value?: bigint;
  readonly attrs: readonly Attribute[];
  readonly doc?: string;
}

export interface EnumDecl {
  readonly kind: 'enum';
  readonly name: string;
  readonly span: Span;
  readonly base: { readonly name: string; readonly span: Span } | undefined;
  readonly attrs: readonly Attribute[];
  readonly doc?: string;
  readonly values: readonly EnumValueDecl[];
}

export interface UnionCaseDecl {
  readonly name: string;
  readonly span: Span;
  readonly type: TypeExpr;
  readonly doc?: string;
}

export interface UnionDecl {
  readonly kind: 'union';
  readonly name: string;
  readonly span: Span;
  readonly attrs: readonly Attribute[];
  readonly doc?: string;
  readonly cases: readonly UnionCaseDecl[];
}

export type Decl = RecordDecl | EnumDecl | UnionDecl;

export interface SchemaAst {
  readonly namespace: { readonly name: string; readonly span: Span } | undefined;
  readonly imports: readonly { readonly path: string; readonly span: Span }[];
  readonly decls: readonly Decl[];
}
