/**
 * The native C core (native/): configures and builds it with cmake + ninja three ways —
 * release (-O2), ASan+UBSan, TSan — into native/build/{release,asan,tsan}, and runs its
 * CTest suite in each (regions, shared futexes, /proc liveness, SPSC/MPSC/broadcast rings,
 * fork()-based multi-process stress and kill -9 recovery). Any failing C test fails here.
 *
 * Needs cmake, ninja and gcc. Without them the suite is skipped, except with CI=true,
 * where it fails.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CI } from './ci.ts';

const ROOT = join(import.meta.dirname, '..');
const NATIVE = join(ROOT, 'native');
const MISSING = ['cmake', 'ninja', 'gcc'].filter((t) => spawnSync(t, ['--version']).error);

function sh(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  if (r.error) throw r.error;
  const out = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${out}`);
  return out;
}

const BUILDS = {
  release: ['-DCMAKE_BUILD_TYPE=Release'],
  asan: ['-DCMAKE_BUILD_TYPE=Debug', '-DISTHMUS_SANITIZE=address'],
  tsan: ['-DCMAKE_BUILD_TYPE=Debug', '-DISTHMUS_SANITIZE=thread'],
} as const;

describe.skipIf(MISSING.length > 0 && !CI)('native C core (ctest)', () => {
  it('has its tools', () => {
    expect(MISSING, `missing tools: ${MISSING.join(', ')}`).toEqual([]);
  });

  for (const [name, flags] of Object.entries(BUILDS)) {
    it(`${name}: builds and passes every ctest`, () => {
      const dir = join(NATIVE, 'build', name);
      sh('cmake', ['-S', NATIVE, '-B', dir, '-G', 'Ninja', ...flags]);
      sh('ninja', ['-j2', '-C', dir]);
      // ASLR layouts some kernels use break TSan's shadow mapping: run it without ASLR
      // where setarch can, otherwise as is.
      const useSetarch = name === 'tsan' && !spawnSync('setarch', ['-R', 'true']).error && spawnSync('setarch', ['-R', 'true']).status === 0;
      const ctest = ['ctest', '--test-dir', dir, '--output-on-failure', '--timeout', '120'];
      const out = useSetarch ? sh('setarch', [process.arch === 'arm64' ? 'aarch64' : 'x86_64', '-R', ...ctest]) : sh(ctest[0]!, ctest.slice(1));
      expect(out).toMatch(/100% tests passed, 0 tests failed out of [1-9]/);
    }, 600_000);
  }

  it('ringtool: a producer killed with SIGKILL mid-claim does not wedge the consumer (unblock 50 ms)', async () => {
    const tool = join(NATIVE, 'build', 'release', 'isthmus_ringtool');
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-native-'));
    try {
      const path = join(dir, 'ring');
      const run = (args: string[]) => {
        const c = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        c.stdout.on('data', (d) => (out += d));
        c.stderr.on('data', (d) => (out += d));
        const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((res) => c.on('close', (code, signal) => res({ code, signal, out })));
        return { c, done, out: () => out };
      };
      const consumer = run(['consume', path, '1000', '--payload', '40', '--create', '--kind', 'mpsc', '--capacity', '4096', '--slots', '4', '--unblock-ms', '50']);
      const holder = run(['hold-claim', path, '--payload', '40']);
      for (let i = 0; i < 500 && !holder.out().includes('claimed'); i++) await new Promise((r) => setTimeout(r, 10));
      expect(holder.out()).toContain('claimed');
      const producer = run(['produce', path, '1000', '--payload', '40', '--kind', 'mpsc']);
      await new Promise((r) => setTimeout(r, 100));
      holder.c.kill('SIGKILL');
      const [h, p, c] = await Promise.all([holder.done, producer.done, consumer.done]);
      expect(h.signal).toBe('SIGKILL');
      expect(p.code, p.out).toBe(0);
      expect(p.out).toContain('sent 1000');
      expect(c.code, c.out).toBe(0);
      expect(c.out).toContain('received 1000 ok');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('raw_pingpong and ringtool pingpong print latency JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-native-'));
    try {
      const bin = join(NATIVE, 'build', 'release');
      const raw = JSON.parse(sh(join(bin, 'raw_pingpong'), ['2000']).trim());
      expect(raw.p50_ns).toBeGreaterThan(0);
      expect(raw.p99_ns).toBeGreaterThanOrEqual(raw.p50_ns);
      const a = join(dir, 'a'), b = join(dir, 'b');
      const pong = spawn(join(bin, 'isthmus_ringtool'), ['pong', a, b, '2000', '--payload', '64', '--create', '--kind', 'spsc', '--capacity', '65536', '--slots', '2'], { stdio: 'inherit' });
      const pongDone = new Promise<number | null>((res) => pong.on('close', (code) => res(code)));
      const out = await new Promise<string>((res, rej) => {
        const c = spawn(join(bin, 'isthmus_ringtool'), ['pingpong', a, b, '2000', '--payload', '64'], { stdio: ['ignore', 'pipe', 'inherit'] });
        let o = '';
        c.stdout.on('data', (d) => (o += d));
        c.on('close', (code) => (code === 0 ? res(o) : rej(new Error(`pingpong exited ${code}: ${o}`))));
      });
      expect(await pongDone).toBe(0);
      const j = JSON.parse(out.trim());
      expect(j.p50_ns).toBeGreaterThan(0);
      expect(j.max_ns).toBeGreaterThanOrEqual(j.p99_ns);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
