/**
 * The packages as a user gets them: `npm pack` of every workspace package, installed from
 * the tarballs into a new project outside the repository (only the registry dependencies
 * the packages declare come with them), then what the package READMEs tell a user to do:
 * `npx isthmus compile` a schema, and a service process (publisher + server) and a client
 * process (subscriber + client) exchanging messages over the default shm transport. The
 * schema and the programs are taken from packages/sdk/README.md, so the README is what works.
 *
 * The addon that loads there is the prebuilt one inside the @isthmus/native tarball (npm
 * 11 does not run a dependency's install script until the user approves it). The second
 * test removes the prebuilt binary and builds the addon from the sources the tarball
 * ships, with the package's own bin (`npx isthmus-build-native`), and runs the pair again.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'isthmus-user-'));
const packs = join(work, 'packs');
const project = join(work, 'project');
const nativePkg = join(project, 'node_modules', '@isthmus', 'native');

// The user's environment: this Node (24, the pinned one) first on PATH, and nothing of the
// outer `npm test` run (npm_* variables would point npm at the repository).
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;
env.XDG_RUNTIME_DIR = join(work, 'run');
delete env.ISTHMUS_NATIVE_ADDON;
delete env.ISTHMUS_TRANSPORT;
delete env.ISTHMUS_CONFIG;

function sh(cmd: string, args: string[], cwd: string, timeout = 240_000): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

// The schema and the two programs are the code blocks of packages/sdk/README.md, as a
// user copies them: `hello.isthmus`, then `service.ts` (a server and a publisher that sends
// three pings once a subscriber is there and exits after one request), then `client.ts`.
const README = readFileSync(join(ROOT, 'packages', 'sdk', 'README.md'), 'utf8');
function block(name: string): string {
  const m = new RegExp('`' + name.replace('.', '\\.') + '`[^\\n]*\\n\\n```[a-z]*\\n([\\s\\S]*?)```').exec(README);
  if (!m) throw new Error(`packages/sdk/README.md has no code block after \`${name}\``);
  return m[1]!;
}

function run(file: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [file], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('error', reject);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

async function exchange(): Promise<void> {
  const [service, client] = await Promise.all([run('service.ts'), run('client.ts')]);
  expect(service.out).toBe('');
  expect(service.code).toBe(0);
  expect(client.out).toBe('received 1:one 2:two 3:three\npong 42n hello world\n');
  expect(client.code).toBe(0);
  // The regions are files under the default shm root, $XDG_RUNTIME_DIR/isthmus.
  expect(readdirSync(join(env.XDG_RUNTIME_DIR!, 'isthmus'))).toEqual(expect.arrayContaining(['pings~pub', 'greet~req']));
}

beforeAll(() => {
  mkdirSync(packs);
  mkdirSync(project);
  mkdirSync(env.XDG_RUNTIME_DIR!, { mode: 0o700 });
  sh('npm', ['pack', '--workspace', 'packages', '--pack-destination', packs], ROOT);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'isthmus-user', private: true, type: 'module' }, null, 2));
  const tarballs = readdirSync(packs).filter((f) => f.endsWith('.tgz')).map((f) => join(packs, f));
  sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs], project);
}, 300_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed packages in a project outside the repository', () => {
  it('installs, compiles a schema with npx isthmus, and exchanges messages between two processes over shm', async () => {
    expect(readdirSync(packs).sort()).toEqual(['isthmus-native-0.1.0.tgz', 'isthmus-runtime-0.1.0.tgz', 'isthmus-schema-0.1.0.tgz', 'isthmus-sdk-0.1.0.tgz']);
    // The packing left the repository as it was (csrc/ and prebuilds/ exist only in the tarball).
    expect(existsSync(join(ROOT, 'packages', 'native', 'csrc'))).toBe(false);
    expect(existsSync(join(ROOT, 'packages', 'native', 'prebuilds'))).toBe(false);
    expect(readdirSync(nativePkg).sort()).toEqual(['README.md', 'csrc', 'dist', 'package.json', 'prebuilds', 'scripts', 'src']);

    expect(sh('npx', ['isthmus', '--help'], project)).toContain('isthmus compile <schema.isthmus>');
    writeFileSync(join(project, 'hello.isthmus'), block('hello.isthmus'));
    expect(sh('npx', ['isthmus', 'compile', 'hello.isthmus', '--emit', 'ts', '--out', 'gen'], project)).toBe(`wrote ${join('gen', 'hello.ts')}\n`);
    writeFileSync(join(project, 'service.ts'), block('service.ts'));
    writeFileSync(join(project, 'client.ts'), block('client.ts'));

    const which = sh(process.execPath, ['--input-type=module', '-e', "import('@isthmus/native').then((n) => console.log(n.addonPath(), n.available()))"], project);
    expect(which.trim()).toBe(`${join(nativePkg, 'prebuilds', `linux-${process.arch}`, 'isthmus.glibc.node')} true`);
    await exchange();
  }, 120_000);

  it('without the prebuilt binary, says what to do, then builds the addon from the shipped sources', async () => {
    rmSync(join(nativePkg, 'prebuilds'), { recursive: true });
    const r = spawnSync(process.execPath, ['client.ts'], { cwd: project, env, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`no native addon for linux-${process.arch} (glibc)`);
    expect(r.stderr).toContain('npx isthmus-build-native');
    expect(r.stderr).not.toContain('repository');

    expect(sh('npx', ['isthmus-build-native'], project, 300_000)).toContain(`built ${join(nativePkg, 'build', 'isthmus.node')}`);
    expect(readFileSync(join(nativePkg, 'build', 'isthmus.node.sha256'), 'utf8')).toMatch(/^[0-9a-f]{64} {2}isthmus\.node\n$/);
    rmSync(join(env.XDG_RUNTIME_DIR!, 'isthmus'), { recursive: true, force: true });
    await exchange();
  }, 360_000);
});
