/**
 * Tokenizer for the Isthmus IDL. Comments are `//` and `/* *\/`; `///` is a doc comment
 * and becomes a token so the parser can attach it to the next declaration.
 */
import type { Reporter, SourceFile, Span } from './diagnostics.js';

export type TokenKind = 'ident' | 'number' | 'string' | 'doc' | 'punct' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Identifier or punctuation text; decoded string contents; doc text. */
  readonly text: string;
  readonly value?: bigint;
  readonly span: Span;
}

const PUNCT = new Set(['{', '}', '(', ')', '[', ']', '<', '>', ':', ';', ',', '=', '?', '@', '.', '-']);

export function tokenize(file: SourceFile, report: Reporter): Token[] {
  const src = file.text;
  const out: Token[] = [];
  let i = 0;
  const span = (start: number, end: number): Span => ({ file, start, end });
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
      continue;
    }
    if (src.startsWith('///', i) && src[i + 3] !== '/') {
      const end = lineEnd(src, i);
      out.push({ kind: 'doc', text: src.slice(i + 3, end).replace(/^ /, ''), span: span(i, end) });
      i = end;
      continue;
    }
    if (src.startsWith('//', i)) {
      i = lineEnd(src, i);
      continue;
    }
    if (src.startsWith('/*', i)) {
      const close = src.indexOf('*/', i + 2);
      if (close < 0) {
        report.error(span(i, i + 2), 'unterminated block comment');
        break;
      }
      i = close + 2;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[A-Za-z0-9_]/.test(src[j]!)) j++;
      out.push({ kind: 'ident', text: src.slice(i, j), span: span(i, j) });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[0-9A-Za-z_]/.test(src[j]!)) j++;
      const text = src.slice(i, j);
      const digits = text.replace(/_/g, '');
      if (/^(0x[0-9a-fA-F]+|0b[01]+|[0-9]+)$/.test(digits)) {
        out.push({ kind: 'number', text, value: BigInt(digits), span: span(i, j) });
      } else {
        report.error(span(i, j), `malformed number '${text}'`);
      }
      i = j;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let text = '';
      while (j < src.length && src[j] !== '"' && src[j] !== '\n') {
        if (src[j] === '\\' && j + 1 < src.length) {
          text += src[j + 1];
          j += 2;
        } else text += src[j++];
      }
      if (src[j] !== '"') {
        report.error(span(i, j), 'unterminated string');
        i = j;
        continue;
      }
      out.push({ kind: 'string', text, span: span(i, j + 1) });
      i = j + 1;
      continue;
    }
    if (PUNCT.has(c)) {
      out.push({ kind: 'punct', text: c, span: span(i, i + 1) });
      i++;
      continue;
    }
    report.error(span(i, i + 1), `unexpected character '${c}'`);
    i++;
  }
  out.push({ kind: 'eof', text: '', span: span(src.length, src.length) });
  return out;
}

function lineEnd(src: string, i: number): number {
  const nl = src.indexOf('\n', i);
  return nl < 0 ? src.length : nl;
}
