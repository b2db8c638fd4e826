/** The `isthmus` command as a user runs it (the bin of @isthmus/sdk): a real process, real files, real exit codes. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = join(import.meta.dirname, '../bin/isthmus.js');
const SCHEMAS = join(import.meta.dirname, '../../../schemas');
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

describe('isthmus CLI', () => {
  it('compiles schemas to every emitter', () => {
    const out = mkdtempSync(join(tmpdir(), 'isthmus-cli-'));
    const r = run('compile', join(SCHEMAS, 'market.isthmus'), '--emit', 'ts,json', '--out', out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['market.layout.json', 'market.ts']);
  });

  it('reports every error, exits 1 and writes nothing when any schema is bad', () => {
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-cli-'));
    const bad = join(dir, 'bad.isthmus');
    writeFileSync(bad, 'namespace b;\nmessage M {\n  a: Unknown,\n  b: u8,\n  b: u16,\n}\n');
    const out = join(dir, 'out');
    const r = run('compile', join(SCHEMAS, 'market.isthmus'), bad, '--emit', 'ts', '--out', out);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${bad}:3:6: error: unknown type 'Unknown'`);
    expect(r.stderr).toContain(`${bad}:5:3: error: field 'b' is declared twice in 'M'`);
    expect(r.stderr).toContain('no files written');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  });

  it('check exits 0 for a compatible change and 1 with one line per breakage', () => {
    const ok = run('check', join(SCHEMAS, 'evolution/market.v1.isthmus'), join(SCHEMAS, 'market.isthmus'));
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('no breaking changes');
    const back = run('check', join(SCHEMAS, 'market.isthmus'), join(SCHEMAS, 'evolution/market.v1.isthmus'));
    expect(back.status).toBe(1);
    expect(back.stderr).toBe(
      'breaking: market.BookUpdate.trade_id: field #9 was removed; deprecate it with @deprecated instead\n' +
        `1 breaking change from ${join(SCHEMAS, 'market.isthmus')} to ${join(SCHEMAS, 'evolution/market.v1.isthmus')}\n`,
    );
  });

  it('lists every subcommand in --help, and names an unknown one (exit 2)', () => {
    const help = run('--help');
    expect(help.status).toBe(0);
    for (const cmd of ['compile', 'check', 'agent', 'stat', 'top', 'listen']) expect(help.stdout).toContain(`\n  isthmus ${cmd} `);
    expect(help.stdout).toContain('--out|-o DIR');
    expect(help.stdout).toContain('listen [--host');
    const bad = run('bogus');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('isthmus: unknown command "bogus" (known: compile, check, agent, stat, top, listen)');
    const sub = run('help', 'stat');
    expect(sub.status).toBe(0);
    expect(sub.stdout).toContain('usage: isthmus stat');
  });

  it('is `npx isthmus` at the repository root once `npm ci` has run (the bin is linked from the lockfile)', () => {
    const root = join(import.meta.dirname, '../../..');
    const r = spawnSync('npx', ['--no-install', 'isthmus', '--help'], { cwd: root, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('isthmus compile <schema.isthmus>');
  });

  it('compile --help and check --help print their usage (exit 0)', () => {
    for (const cmd of ['compile', 'check']) {
      const r = run(cmd, '--help');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: isthmus ${cmd} `));
    }
  });

  it('refuses two emitters that write the same file, writing nothing', () => {
    const out = mkdtempSync(join(tmpdir(), 'isthmus-cli-'));
    const r = run('compile', join(SCHEMAS, 'market.isthmus'), '--emit', 'ts,assemblyscript', '--out', out);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`--emit ts,assemblyscript: both write ${join(out, 'market.ts')}; run them with different --out directories\nno files written\n`);
    expect(readdirSync(out)).toEqual([]);
  });

  it('explains usage errors with exit code 2', () => {
    expect(run().status).toBe(2);
    expect(run('compile', 'x.isthmus', '--emit', 'cobol').stderr).toContain("unknown emitter 'cobol'");
  });
});

describe('isthmus agent | stat | listen', () => {
  it('starts the agent, reports its channels with stat, and stops on SIGTERM leaving no socket', async () => {
    const { spawn } = await import('node:child_process');
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-cli-agent-'));
    const sock = join(dir, 'agent.sock');
    const agent = spawn(process.execPath, [CLI, 'agent', '--socket', sock], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 25));
      expect(existsSync(sock)).toBe(true);
      const stat = run('stat', '--socket', sock, '--json');
      expect(stat.stderr).toBe('');
      expect(stat.status).toBe(0);
      expect(JSON.parse(stat.stdout)).toHaveProperty('channels');
    } finally {
      agent.kill('SIGTERM');
      const code = await new Promise((r) => agent.on('exit', r));
      expect(code).toBe(0);
    }
    expect(existsSync(sock)).toBe(false);
  });

  it('stat without an agent says which socket and how to start one (exit 1)', () => {
    const sock = join(mkdtempSync(join(tmpdir(), 'isthmus-cli-noagent-')), 'agent.sock');
    const r = run('stat', '--socket', sock);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`no agent is listening on ${sock}: start one with \`isthmus agent --socket ${sock}\``);
  });

  it('gives usage errors with the bad value (exit 2)', () => {
    const r = run('listen', '--port', 'abc');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--port must be an integer in [0, 65535], is "abc"');
  });
});
