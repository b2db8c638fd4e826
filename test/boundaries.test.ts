/**
 * One API across every boundary (docs/boundaries.md), by configuration alone: one service
 * file, test/boundaries/peer.ts, and one client file, test/boundaries/client.ts, both
 * unchanged, run on the two sides of a thread, a process, a container (the node agent) and
 * a TCP connection; for the VM the peer is the C guest (native/guest/isthmus_guest.c) in
 * QEMU and the client the same file. Each calls `isthmus.node()` with no arguments: the
 * boundary is chosen only by the ISTHMUS_TRANSPORT each program is started with
 * (test/boundaries/boundaries.ts has them; docs/config.md the URLs). The contract is in
 * test/boundaries/contract.ts.
 *
 * The client runs the whole contract itself (its header says what) and prints
 * `client: PASS: …` or `client: FAIL: …`; the test asserts on that line, the client's exit
 * code, which transport each side's node reports, and the peer's `done` line and exit
 * code. Then, over every boundary run: the peer and client programs were the same two
 * files each time, byte-identical before and after, each given no configuration but
 * ISTHMUS_TRANSPORT, and neither names a transport outside its comments.
 *
 * A boundary whose dependencies are missing (qemu/kernel/busybox/gcc for vm, root and
 * unshare for container, the native addon for process/container/tcp) is skipped, except
 * with CI=true, where it fails.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { afterEach, describe, expect, it } from 'vitest';
import { BOUNDARIES, CLIENT, GUEST, PEER, type Deployed, type Launch } from './boundaries/boundaries.ts';
import { STOP_INSTRUMENT, TRANSFORM_DELTA } from './boundaries/contract.ts';
import * as vmHost from './vm/host.ts';
import { CI } from './ci.ts';

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A program's code without its comments (and types): what it does, not what it says. */
function code(file: string): string {
  return ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions: { removeComments: true, target: ts.ScriptTarget.ESNext, module: ts.ModuleKind.ESNext } }).outputText;
}

/** Words that would configure or pick a transport in code (or take configuration other than the environment). */
const TRANSPORT_WORDS = /\b(shm|inproc|agent|tcp|unix|vm|arena|socket|root|workerData|argv|ISTHMUS_TRANSPORT|ISTHMUS_CONFIG)\b|:\/\//;

describe('one API across boundaries', () => {
  const programs = [PEER, CLIENT];
  const before = new Map(programs.map((f) => [f, sha256(f)]));
  /** What each boundary ran. */
  const runs: { boundary: string; launched: Launch[] }[] = [];
  let deployed: Deployed | undefined;
  afterEach(async () => {
    await deployed?.stop();
    deployed = undefined;
  });

  it('the contract constants agree with the VM host helpers', () => {
    expect(STOP_INSTRUMENT).toBe(vmHost.STOP_INSTRUMENT);
    expect(TRANSFORM_DELTA).toBe(vmHost.TRANSFORM_DELTA);
  });

  it('the peer and the client name no transport and call isthmus.node() with no arguments', () => {
    for (const f of programs) {
      const c = code(f);
      expect(c, f).not.toMatch(TRANSPORT_WORDS);
      const calls = [...c.matchAll(/\bnode\(([^)]*)\)/g)].map((m) => m[0]);
      expect(calls, f).toEqual(['node()']);
    }
  });

  for (const b of BOUNDARIES) {
    const missing = b.missing();
    it.skipIf(missing.length > 0 && !CI)(b.name, async () => {
      if (missing.length > 0) throw new Error(`the ${b.name} boundary needs: ${missing.join('; ')}`);
      const d = (deployed = await b.deploy());
      expect(d.peer.output).toMatch(b.peerShows);
      const client = await d.runClient();
      const consoles = `\nthe client's console:\n${client.output}\nthe peer's console:\n${d.peer.output}`;
      runs.push({ boundary: b.name, launched: d.launched });
      expect(client.output + consoles).toMatch(/^client: PASS: /m);
      expect(client.output).toMatch(b.clientShows);
      expect(client.exit, consoles).toBe(0);
      deployed = undefined;
      const { exit, output } = await d.stop();
      expect(output).toMatch(/(guest|peer): done: .*\b1 hostile\b/);
      expect(exit).toBe(0);
    }, 120_000);
  }

  it('every boundary ran the same two files, configured by ISTHMUS_TRANSPORT alone', () => {
    expect(runs.map((r) => r.boundary)).toEqual(BOUNDARIES.filter((b) => b.missing().length === 0 || CI).map((b) => b.name));
    // Every boundary ran the same two programs (the VM: the C guest and the same client),
    // configured by ISTHMUS_TRANSPORT alone, and the files did not change meanwhile.
    for (const { boundary, launched } of runs) {
      const files = launched.map((l) => `${l.role} ${l.file}`);
      expect(files, boundary).toEqual([`peer ${boundary === 'vm' ? GUEST : PEER}`, `client ${CLIENT}`]);
      for (const l of launched) {
        if (l.file === GUEST) continue;
        expect(Object.keys(l.config), `${boundary} ${l.role}`).toEqual(['ISTHMUS_TRANSPORT']);
      }
    }
    for (const f of programs) expect(sha256(f), f).toBe(before.get(f));
    // Each boundary is a different configuration.
    const schemes = runs.map((r) => r.launched.find((l) => l.role === 'client')!.config.ISTHMUS_TRANSPORT!.split(':')[0]);
    expect(new Set(schemes).size).toBe(runs.length);
  });
});
