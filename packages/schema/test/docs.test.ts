/** The schema examples in the docs compile, so the docs can not drift from the compiler. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileSource } from './helpers.js';

const ROOT = join(import.meta.dirname, '../../..');
const COMMON = readFileSync(join(ROOT, 'schemas/common.isthmus'), 'utf8');

function firstSchemaBlock(doc: string): string {
  const m = /```\n((?:\/\/.*\n|\/\/\/.*\n)*namespace [\s\S]*?)```/.exec(readFileSync(join(ROOT, doc), 'utf8'));
  if (!m) throw new Error(`no schema block in ${doc}`);
  return m[1]!;
}

describe('docs', () => {
  for (const doc of ['docs/schema.md', 'README.md']) {
    it(`${doc}: the example schema compiles`, () => {
      const c = compileSource({ 'a.isthmus': firstSchemaBlock(doc), 'common.isthmus': COMMON });
      expect(c.layout.types.some((t) => t.kind === 'message')).toBe(true);
    });
  }
});
