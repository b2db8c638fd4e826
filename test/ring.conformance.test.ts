/**
 * Ring conformance (docs/ring.md §8): every scenario in test/ring-conformance/ runs through
 * the TypeScript runner and the C runner, each in its own process, and both final regions
 * must equal the checked-in golden byte for byte.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nativeTool, ROOT } from './ring-conformance/native.ts';
import { CI } from './ci.ts';

const DIR = join(ROOT, 'test', 'ring-conformance');
const scenarios = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
const tmp = mkdtempSync(join(tmpdir(), 'ring-conf-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function firstDiff(a: Uint8Array, b: Uint8Array): string {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `first difference at byte ${i}: ${a[i]} vs ${b[i]}`;
  return 'equal';
}

function run(cmd: string, args: string[], name: string): Uint8Array {
  const out = join(tmp, `${basename(cmd)}-${name}.bin`);
  const r = spawnSync(cmd, [...args, join(DIR, name), out], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(r.status, `${cmd} ${name}: ${r.stderr}${r.stdout}`).toBe(0);
  return new Uint8Array(readFileSync(out));
}

describe('ring conformance', () => {
  it('has scenarios and goldens', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(9);
    for (const s of scenarios) expect(readdirSync(DIR)).toContain(s.replace(/\.json$/, '.bin'));
  });

  for (const name of scenarios) {
    const golden = (): Uint8Array => new Uint8Array(readFileSync(join(DIR, name.replace(/\.json$/, '.bin'))));

    it(`${name}: TypeScript runner = golden`, () => {
      const got = run(process.execPath, [join(DIR, 'runner.ts')], name);
      const want = golden();
      expect(firstDiff(got, want)).toBe('equal');
    });

    it(`${name}: C runner = golden`, (ctx) => {
      const tool = nativeTool('ring_conformance');
      if ('missing' in tool) {
        if (CI) throw new Error(tool.missing);
        ctx.skip();
        return;
      }
      const got = run(tool.path, [], name);
      expect(firstDiff(got, golden())).toBe('equal');
    });
  }

  it('the TS runner fails naming the op index on a wrong expectation', () => {
    const bad = join(tmp, 'bad.json');
    const s = JSON.parse(readFileSync(join(DIR, 'spsc-basic.json'), 'utf8'));
    s.ops[2].expect = { len: 1 };
    writeFileSync(bad, JSON.stringify(s));
    const r = spawnSync(process.execPath, [join(DIR, 'runner.ts'), bad, join(tmp, 'bad.bin')], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/op 2 \(recv slot 2\)/);
  });
});
