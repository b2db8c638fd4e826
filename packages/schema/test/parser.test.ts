import { describe, expect, it } from 'vitest';
import { CompileError } from '../src/diagnostics.js';
import { compileSource, diagnostics } from './helpers.js';

describe('diagnostics', () => {
  it('gives file:line:col with a caret excerpt', () => {
    const msg = diagnostics({ 'a.isthmus': 'namespace a;\nmessage M {\n  x: u33,\n}\n' });
    expect(msg).toBe(
      "a.isthmus:3:6: error: unknown type 'u33'; did you mean 'u32'?\n" +
        '  |\n' +
        '3 |   x: u33,\n' +
        '  |      ^^^',
    );
  });

  it('reports several errors in one run', () => {
    let err: unknown;
    try {
      compileSource({
        'a.isthmus': [
          'namespace a;',
          'struct S { }',
          'message M { x: Nope, x: u8, @since(2) y: u8, z: u16 }',
          'enum E : u8 { a = 1, b = 1, c = 300 }',
          'message N { 9bad: u8 }',
          'union U { tag: u8 }',
        ].join('\n'),
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CompileError);
    const lines = (err as CompileError).diagnostics.map((d) => `${d.span.file.position(d.span.start).line}: ${d.message}`);
    expect(lines).toEqual([
      "2: struct 'S' has no fields; a struct needs at least one",
      "3: unknown type 'Nope'",
      "3: field 'x' is declared twice in 'M'",
      "3: field 'z' follows a field with @since(2) but has no @since; new fields go at the end with @since(N ≥ 2)",
      "4: enum value 'b' = 1 repeats the value of 'a'",
      '4: enum value \'c\' = 300 does not fit in u8 (0..255)',
      "5: malformed number '9bad'",
      "5: expected a field name, found ':'",
      "6: 'tag' is reserved in unions (views use it for the active case)",
    ]);
  });

  it('recovers after a syntax error and keeps checking later declarations', () => {
    const msg = diagnostics({ 'a.isthmus': 'namespace a;\nmessage M { x u8 }\nmessage N { y: Missing }\n' });
    expect(msg).toContain("a.isthmus:2:15: error: expected ':', found 'u8'");
    expect(msg).toContain("a.isthmus:3:16: error: unknown type 'Missing'");
  });

  it('rejects recursion, embedded messages, missing namespaces and bad attributes', () => {
    expect(diagnostics({ 'a.isthmus': 'namespace a; struct T { kids: vector<T> }' })).toContain("'T' contains itself");
    expect(diagnostics({ 'a.isthmus': 'namespace a; message A { x: u8 } message B { a: A }' })).toContain("message 'A' can not be embedded");
    expect(diagnostics({ 'a.isthmus': 'message A { x: u8 }' })).toContain("missing 'namespace <name>;' declaration");
    expect(diagnostics({ 'a.isthmus': 'namespace a; struct S { @since(2) x: u8 }' })).toContain('@since is not allowed on a struct field');
    expect(diagnostics({ 'a.isthmus': 'namespace a; message M { @frobnicate x: u8 }' })).toContain('unknown attribute @frobnicate');
    expect(diagnostics({ 'a.isthmus': 'namespace a; message M { x: [u8; 70000] }' })).toContain('array length must be between 1 and 65535, got 70000');
    expect(diagnostics({ 'a.isthmus': 'namespace a; message M { a: [u64; 8000], b: [u64; 500] }' })).toContain("fixed part of 68000 bytes");
    expect(diagnostics({ 'a.isthmus': 'namespace a; message M { _x: u8, version: u8 }' })).toMatch(/'_x' starts with '_'[\s\S]*'version' is reserved/);
    expect(diagnostics({ 'a.isthmus': 'namespace a; union U { s: string } message M { u: U? }' })).toContain('can not be optional');
    expect(diagnostics({ 'a.isthmus': 'namespace a; message M { x: string, set_x: u8 }' })).toContain("field 'set_x' collides with the set_ accessor generated for field 'x'");
  });

  it('reports unreadable imports and import cycles at the import', () => {
    expect(diagnostics({ 'a.isthmus': 'namespace a;\nimport "missing.isthmus";\n' })).toMatch(/^a\.isthmus:2:8: error: can not read imported file 'missing\.isthmus'/);
    expect(diagnostics({ 'a.isthmus': 'namespace a; import "b.isthmus";', 'b.isthmus': 'namespace b; import "a.isthmus";' })).toContain('import cycle: a.isthmus → b.isthmus → a.isthmus');
  });

  it('never throws anything but CompileError on garbage input', () => {
    for (const src of ['', '}}}', 'namespace', 'message {', '@', '"unterminated', '/* open', 'enum E : { }', 'namespace a; message M { x: vector<', '\u0000\u00ff']) {
      try {
        compileSource({ 'a.isthmus': src });
      } catch (e) {
        expect(e, JSON.stringify(src)).toBeInstanceOf(CompileError);
      }
    }
  });
});
