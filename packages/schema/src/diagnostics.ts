/**
 * Source files, spans and diagnostics. Every compiler error carries a span and prints as
 * `file:line:col: error: message` followed by the source line and a caret underline.
 */

export class SourceFile {
  private readonly lineStarts: number[] = [0];
  constructor(
    /** Path as the user gave it (used in messages). */
    readonly path: string,
    readonly text: string,
  ) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
  }

  /** 1-based line and column of a character offset. */
  position(offset: number): { line: number; col: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.lineStarts[lo]! + 1 };
  }

  lineText(line: number): string {
    const start = this.lineStarts[line - 1] ?? this.text.length;
    const next = this.lineStarts[line];
    return this.text.slice(start, next === undefined ? undefined : next - 1).replace(/\r$/, '');
  }
}

export interface Span {
  readonly file: SourceFile;
  readonly start: number;
  readonly end: number;
}

export interface Diagnostic {
  readonly span: Span;
  readonly message: string;
  readonly severity: 'error' | 'warning';
}

/** Formats one diagnostic with its caret excerpt. */
export function formatDiagnostic(d: Diagnostic): string {
  const { file, start, end } = d.span;
  const { line, col } = file.position(start);
  const text = file.lineText(line);
  const width = Math.max(1, Math.min(end, start + text.length - col + 1) - start);
  const gutter = String(line).length;
  return (
    `${file.path}:${line}:${col}: ${d.severity}: ${d.message}\n` +
    `${' '.repeat(gutter)} |\n` +
    `${line} | ${text}\n` +
    `${' '.repeat(gutter)} | ${' '.repeat(col - 1)}${'^'.repeat(width)}`
  );
}

/** Thrown by the pipeline when any error was reported; carries all of them. */
export class CompileError extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n\n'));
    this.name = 'CompileError';
  }
}

export class Reporter {
  readonly diagnostics: Diagnostic[] = [];
  error(span: Span, message: string): void {
    this.diagnostics.push({ span, message, severity: 'error' });
  }
  get hasErrors(): boolean {
    return this.diagnostics.some((d) => d.severity === 'error');
  }
  /** Throws every diagnostic so far, in file and source order. */
  throwIfErrors(): void {
    if (!this.hasErrors) return;
    const sorted = [...this.diagnostics].sort((a, b) => (a.span.file.path < b.span.file.path ? -1 : a.span.file.path > b.span.file.path ? 1 : a.span.start - b.span.start));
    throw new CompileError(sorted);
  }
}
