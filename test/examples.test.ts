/**
 * Every project under examples/ run as its README says: `npm start` in its folder, a real
 * process (the schema compiled with the `isthmus` bin, then the example's own processes on
 * one shm channel). The environment is a user's: the pinned Node first on PATH, nothing of
 * the outer npm run (npm_* variables) and no transport configuration. Each test checks
 * exit status 0, an empty stderr and the exact values every process printed; the
 * launchers prefix each line with the name of the process that printed it.
 */
import { spawnSync } from 'node:child_process';
import { delimiter, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CI } from './ci.ts';

const EXAMPLES = join(import.meta.dirname, '..', 'examples');
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;
env.npm_config_update_notifier = 'false'; // no "new npm version" notice on stderr
delete env.ISTHMUS_TRANSPORT;
delete env.ISTHMUS_CONFIG;

/** `npm start` in examples/<name>; stdout split into the lines of each process. */
function start(name: string): { status: number | null; stdout: string; stderr: string; of: (proc: string) => string[] } {
  const r = spawnSync('npm', ['start'], { cwd: join(EXAMPLES, name), env, encoding: 'utf8', timeout: 90_000 });
  const of = (proc: string) =>
    r.stdout.split('\n').flatMap((l) => {
      const m = /^(\S+) +\| (.*)$/.exec(l);
      return m && m[1] === proc ? [m[2]!] : [];
    });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, of };
}

/** The pid in the first line, which must match `re` (its group 1 is the pid). */
function pid(line: string | undefined, re: RegExp): number {
  const m = re.exec(line ?? '');
  expect(m, `${JSON.stringify(line)} should match ${re}`).not.toBeNull();
  return Number(m![1]);
}

const hasCc = !spawnSync('cc', ['--version'], { stdio: 'ignore' }).error;

describe('examples/: npm start in each folder', () => {
  it('pubsub: a publisher process and a subscriber process on one channel', () => {
    const r = start('pubsub');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('wrote gen/weather.ts');
    const pub = r.of('publisher');
    const sub = r.of('subscriber');
    const pubPid = pid(pub[0], /^publisher \(pid (\d+)\) created channel "readings"$/);
    const subPid = pid(sub[0], /^subscriber \(pid (\d+)\) joined channel "readings"$/);
    expect(new Set([process.pid, pubPid, subPid]).size).toBe(3);
    expect(pub.slice(1)).toEqual([
      'sent seq=1 station=oslo value=21.5',
      'sent seq=2 station=oslo value=64',
      'sent seq=3 station=bergen value=1013.25',
      'sent seq=4 station=bergen value=-3.75',
      'all 4 readings read by 1 subscriber',
    ]);
    expect(sub.slice(1)).toEqual([
      'received seq=1 station=oslo 21.5 °C',
      'received seq=2 station=oslo 64 %',
      'received seq=3 station=bergen 1013.25 hPa',
      'received seq=4 station=bergen -3.75 °C',
      'publisher gone; received 4 readings',
    ]);
  });

  it('service: a server process and a client process, with a RejectedError for a bad request', () => {
    const r = start('service');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('wrote gen/shop.ts');
    const server = r.of('server');
    const client = r.of('client');
    const serverPid = pid(server[0], /^server \(pid (\d+)\) serving "prices"$/);
    const clientPid = pid(client[0], /^client \(pid (\d+)\) connected to "prices"$/);
    expect(new Set([process.pid, serverPid, clientPid]).size).toBe(3);
    expect(client.slice(1)).toEqual([
      '3 x apple at 40 cents = 120 cents',
      '12 x plum at 25 cents = 300 cents',
      '1 x durian: RejectedError REJECTED: no price for "durian"',
    ]);
    // The handler saw the client's pid (RequestContext.pid); the rejected call counts too.
    expect(server.slice(1)).toEqual([
      `quoted 3 x apple for the client with pid ${clientPid}`,
      `quoted 12 x plum for the client with pid ${clientPid}`,
      'stopped: 3 requests, 2 replies, 1 rejected',
    ]);
  });

  it('queue: a producer and two worker processes; every job is done by exactly one worker', () => {
    const WORDS = 'one schema one byte layout zero copy rings between processes'.split(' ');
    const r = start('queue');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('wrote gen/words.ts');
    const producer = r.of('producer');
    expect(producer.slice(0, -1)).toEqual(['sent 10 jobs to 2 workers', ...WORDS.map((w, i) => `job ${i + 1}: ${w} → ${w.toUpperCase()}`)]);
    const summary = /^10 jobs, each done once; 51 letters in all; worker 0 did (\d+), worker 1 did (\d+)$/.exec(producer.at(-1)!);
    expect(summary, producer.at(-1)).not.toBeNull();

    // Each worker's own account: its index, the jobs it did (their words), its count.
    const did = new Map<number, number[]>();
    const pids = new Set([process.pid]);
    for (const name of ['worker-a', 'worker-b']) {
      const lines = r.of(name);
      const index = Number(/^worker (\d) \(pid \d+\) ready$/.exec(lines[0]!)?.[1]);
      pids.add(pid(lines[0], /^worker \d \(pid (\d+)\) ready$/));
      const jobs = lines.slice(1, -1).map((l) => {
        const m = new RegExp(`^worker ${index}: job (\\d+) "(\\w+)"$`).exec(l);
        expect(m, l).not.toBeNull();
        expect(m![2]).toBe(WORDS[Number(m![1]) - 1]);
        return Number(m![1]);
      });
      expect(lines.at(-1)).toBe(`worker ${index}: stopped after ${jobs.length} jobs`);
      expect(jobs.length).toBeGreaterThan(0); // round-robin over two workers: both get jobs
      did.set(index, jobs);
    }
    expect(pids.size).toBe(3);
    expect([...did.keys()].sort()).toEqual([0, 1]);
    expect([...did.values()].flat().sort((a, b) => a - b)).toEqual(WORDS.map((_, i) => i + 1));
    expect([Number(summary![1]), Number(summary![2])]).toEqual([did.get(0)!.length, did.get(1)!.length]);
  });

  it.skipIf(!hasCc && !CI)('c-subscriber: a TypeScript publisher and a C subscriber process (needs cc)', () => {
    const r = start('c-subscriber');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('wrote gen/telemetry.h');
    const pub = r.of('publisher');
    const c = r.of('C');
    const pubPid = pid(pub[0], /^publisher \(pid (\d+)\) created channel "samples"$/);
    const cPid = pid(c[0], /^C subscriber \(pid (\d+)\) joined channel "samples"$/);
    expect(new Set([process.pid, pubPid, cPid]).size).toBe(3);
    expect(pub.slice(1)).toEqual(['sent seq=1 sensor=pump-1', 'sent seq=2 sensor=pump-2', 'sent seq=3 sensor=valve-7']);
    expect(c.slice(1)).toEqual([
      'received seq=1 sensor=pump-1 level=ok values=[12,15,11] (80 bytes, verify OK)',
      'received seq=2 sensor=pump-2 level=warn values=[48,51] note="bearing temperature rising" (104 bytes, verify OK)',
      'received seq=3 sensor=valve-7 level=alarm values=[-1] note="stuck closed" (88 bytes, verify OK)',
      'C subscriber left after 3 samples',
    ]);
  });

  it('wasm-subscriber: a TypeScript publisher and an AssemblyScript subscriber module hosted in Node', () => {
    const r = start('wasm-subscriber');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('wrote gen/as/orders.ts');
    const pub = r.of('publisher');
    const wasm = r.of('WASM');
    const pubPid = pid(pub[0], /^publisher \(pid (\d+)\) created channel "orders"$/);
    // The region lies in the module's memory at a 64 KiB-aligned offset (WasmHost maps it there).
    const wasmPid = pid(wasm[0], /^WASM subscriber \(pid (\d+)\) joined channel "orders": its \d+-byte region is mapped at 0x[0-9a-f]*0000 in the module's memory$/);
    expect(new Set([process.pid, pubPid, wasmPid]).size).toBe(3);
    expect(pub.slice(1)).toEqual(['sent seq=1 ACME', 'sent seq=2 ACME', 'sent seq=3 INITECH']);
    expect(wasm.slice(1)).toEqual([
      'received seq=1 buy 100 ACME at 1234 cents (56 bytes, verify OK)',
      'received seq=2 sell 40 ACME at 1240 cents (56 bytes, verify OK)',
      'received seq=3 buy 7 INITECH at 98765 cents (56 bytes, verify OK)',
      'WASM subscriber left after 3 orders',
    ]);
  });
});
