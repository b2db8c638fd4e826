/**
 * Recursive-descent parser for the Isthmus IDL.
 *
 * ```
 * namespace market;
 * import "common.isthmus";
 *
 * /// Side of the book.
 * enum Side : u8 { buy = 1, sell = 2 }
 * struct Price { mantissa: i64, exponent: i8 }
 * union Payload { price: Price, note: string }
 * @id(0x5eed) message Tick { seq: u64, side: Side, px: Price, @since(2) note: string? }
 * ```
 *
 * On a syntax error the parser reports it and skips to the end of the declaration, so
 * one run reports every broken declaration.
 */
import type { Attribute, Decl, EnumValueDecl, FieldDecl, SchemaAst, TypeExpr, UnionCaseDecl } from './ast.js';
import type { Reporter, SourceFile, Span } from './diagnostics.js';
import { tokenize, type Token } from './lexer.js';

class SyntaxFailure extends Error {}

export function parse(file: SourceFile, report: Reporter): SchemaAst {
  return new Parser(tokenize(file, report), report).schema();
}

class Parser {
  private pos = 0;
  constructor(
    private readonly toks: Token[],
    private readonly report: Reporter,
  ) {}

  schema(): SchemaAst {
    let namespace: SchemaAst['namespace'];
    const imports: { path: string; span: Span }[] = [];
    const decls: Decl[] = [];
    while (this.peek().kind !== 'eof') {
      const start = this.pos;
      try {
        const doc = this.docs();
        const attrs = this.attributes();
        const kw = this.peek();
        if (kw.kind === 'ident' && kw.text === 'namespace') {
          this.next();
          const name = this.qualifiedName();
          if (namespace) this.report.error(name.span, `namespace declared twice (first as '${namespace.name}')`);
          else namespace = name;
          this.expectPunct(';');
        } else if (kw.kind === 'ident' && kw.text === 'import') {
          this.next();
          const s = this.expect('string', 'a quoted file name');
          imports.push({ path: s.text, span: s.span });
          this.expectPunct(';');
        } else if (kw.kind === 'ident' && (kw.text === 'struct' || kw.text === 'message')) {
          decls.push(this.record(kw.text, attrs, doc));
        } else if (kw.kind === 'ident' && kw.text === 'enum') {
          decls.push(this.enumDecl(attrs, doc));
        } else if (kw.kind === 'ident' && kw.text === 'union') {
          decls.push(this.unionDecl(attrs, doc));
        } else {
          this.fail(kw, `expected 'namespace', 'import', 'struct', 'message', 'enum' or 'union', found ${describe(kw)}`);
        }
      } catch (e) {
        if (!(e instanceof SyntaxFailure)) throw e;
        this.recover(start);
      }
    }
    return { namespace, imports, decls };
  }

  private record(kind: 'struct' | 'message', attrs: Attribute[], doc: string | undefined): Decl {
    this.next();
    const name = this.expect('ident', 'a name');
    this.expectPunct('{');
    const fields: FieldDecl[] = [];
    while (!this.isPunct('}')) {
      const fdoc = this.docs();
      const fattrs = this.attributes();
      const fname = this.expect('ident', 'a field name');
      this.expectPunct(':');
      const type = this.typeExpr();
      const optional = this.eatPunct('?');
      fields.push({ name: fname.text, span: fname.span, type, optional, attrs: fattrs, doc: fdoc });
      if (!this.eatPunct(',') && !this.eatPunct(';') && !this.isPunct('}')) this.fail(this.peek(), `expected ',' or '}' after field '${fname.text}', found ${describe(this.peek())}`);
    }
    this.expectPunct('}');
    return { kind, name: name.text, span: name.span, attrs, doc, fields };
  }

  private enumDecl(attrs: Attribute[], doc: string | undefined): Decl {
    this.next();
    const name = this.expect('ident', 'a name');
    let base: { name: string; span: Span } | undefined;
    if (this.eatPunct(':')) {
      const b = this.expect('ident', 'an underlying type');
      base = { name: b.text, span: b.span };
    }
    this.expectPunct('{');
    const values: EnumValueDecl[] = [];
    while (!this.isPunct('}')) {
      const vdoc = this.docs();
      const vattrs = this.attributes();
      const vname = this.expect('ident', 'an enum value name');
      let value: bigint | undefined;
      if (this.eatPunct('=')) value = this.signedNumber().value;
      values.push({ name: vname.text, span: vname.span, value, attrs: vattrs, doc: vdoc });
      if (!this.eatPunct(',') && !this.isPunct('}')) this.fail(this.peek(), `expected ',' or '}' after enum value '${vname.text}', found ${describe(this.peek())}`);
    }
    this.expectPunct('}');
    return { kind: 'enum', name: name.text, span: name.span, base, attrs, doc, values };
  }

  private unionDecl(attrs: Attribute[], doc: string | undefined): Decl {
    this.next();
    const name = this.expect('ident', 'a name');
    this.expectPunct('{');
    const cases: UnionCaseDecl[] = [];
    while (!this.isPunct('}')) {
      const cdoc = this.docs();
      const cname = this.expect('ident', 'a case name');
      this.expectPunct(':');
      const type = this.typeExpr();
      cases.push({ name: cname.text, span: cname.span, type, doc: cdoc });
      if (!this.eatPunct(',') && !this.isPunct('}')) this.fail(this.peek(), `expected ',' or '}' after case '${cname.text}', found ${describe(this.peek())}`);
    }
    this.expectPunct('}');
    return { kind: 'union', name: name.text, span: name.span, attrs, doc, cases };
  }

  private typeExpr(): TypeExpr {
    const t = this.peek();
    if (this.eatPunct('[')) {
      const element = this.typeExpr();
      this.expectPunct(';');
      const n = this.expect('number', 'an array length');
      const close = this.expectPunct(']');
      return { kind: 'array', element, length: n.value!, span: joinSpan(t.span, close.span) };
    }
    if (t.kind === 'ident' && t.text === 'vector' && this.toks[this.pos + 1]?.text === '<') {
      this.next();
      this.next();
      const element = this.typeExpr();
      const close = this.expectPunct('>');
      return { kind: 'vector', element, span: joinSpan(t.span, close.span) };
    }
    const name = this.qualifiedName();
    return { kind: 'named', name: name.name, span: name.span };
  }

  private qualifiedName(): { name: string; span: Span } {
    const first = this.expect('ident', 'a name');
    let name = first.text;
    let last = first;
    while (this.isPunct('.')) {
      this.next();
      last = this.expect('ident', 'a name after "."');
      name += '.' + last.text;
    }
    return { name, span: joinSpan(first.span, last.span) };
  }

  private attributes(): Attribute[] {
    const out: Attribute[] = [];
    while (this.isPunct('@')) {
      const at = this.next();
      const name = this.expect('ident', 'an attribute name');
      const args: (bigint | string)[] = [];
      let end = name.span;
      if (this.eatPunct('(')) {
        while (!this.isPunct(')')) {
          const a = this.peek();
          if (a.kind === 'string') args.push(this.next().text);
          else args.push(this.signedNumber().value);
          if (!this.eatPunct(',')) break;
        }
        end = this.expectPunct(')').span;
      }
      out.push({ name: name.text, args, span: joinSpan(at.span, end) });
    }
    return out;
  }

  private signedNumber(): { value: bigint; span: Span } {
    const minus = this.isPunct('-') ? this.next() : undefined;
    const n = this.expect('number', 'a number');
    return { value: minus ? -n.value! : n.value!, span: minus ? joinSpan(minus.span, n.span) : n.span };
  }

  private docs(): string | undefined {
    const lines: string[] = [];
    while (this.peek().kind === 'doc') lines.push(this.next().text);
    return lines.length ? lines.join('\n') : undefined;
  }

  // --- token helpers -----------------------------------------------------------------

  private peek(): Token {
    return this.toks[this.pos]!;
  }
  private next(): Token {
    const t = this.toks[this.pos]!;
    if (t.kind !== 'eof') this.pos++;
    return t;
  }
  private isPunct(p: string): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.text === p;
  }
  private eatPunct(p: string): boolean {
    if (!this.isPunct(p)) return false;
    this.next();
    return true;
  }
  private expectPunct(p: string): Token {
    if (!this.isPunct(p)) this.fail(this.peek(), `expected '${p}', found ${describe(this.peek())}`);
    return this.next();
  }
  private expect(kind: Token['kind'], what: string): Token {
    const t = this.peek();
    if (t.kind !== kind) this.fail(t, `expected ${what}, found ${describe(t)}`);
    return this.next();
  }
  private fail(t: Token, message: string): never {
    this.report.error(t.span, message);
    throw new SyntaxFailure(message);
  }

  /** Skips past the declaration that failed: to its closing brace, or to the next keyword. */
  private recover(start: number): void {
    if (this.pos === start) this.next();
    let depth = 0;
    for (let i = start; i < this.pos; i++) {
      const t = this.toks[i]!;
      if (t.kind === 'punct' && t.text === '{') depth++;
      if (t.kind === 'punct' && t.text === '}') depth--;
    }
    while (this.peek().kind !== 'eof') {
      const t = this.peek();
      if (depth <= 0 && t.kind === 'ident' && DECL_KEYWORDS.has(t.text) && this.pos > start) return;
      this.next();
      if (t.kind === 'punct' && t.text === '{') depth++;
      if (t.kind === 'punct' && t.text === '}' && --depth <= 0) return;
      if (t.kind === 'punct' && t.text === ';' && depth <= 0) return;
    }
  }
}

const DECL_KEYWORDS = new Set(['namespace', 'import', 'struct', 'message', 'enum', 'union']);

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of file';
    case 'string':
      return `string "${t.text}"`;
    case 'doc':
      return 'a doc comment';
    default:
      return `'${t.text}'`;
  }
}

function joinSpan(a: Span, b: Span): Span {
  return { file: a.file, start: a.start, end: b.end };
}
