/**
 * The boundaries of test/boundaries.test.ts and bench/boundaries.bench.ts: for each, how
 * the host's node and its peer are made. The host side (the test body, the bench loops)
 * only ever sees `node`; the peer (test/boundaries/peer.ts, or the C guest for the VM) only
 * ever sees a transport spec. Nothing else differs.
 *
 *   thread     host: node({ transport: inproc })          peer: a worker thread, inproc({ arena })
 *   process    host: node({ root })                       peer: a child process, node({ root })
 *   container  host: node({ transport: 'agent', socket }) peer: a child process in an unshare
 *              (the node agent runs as a host process)          container (test/container/enter.sh),
 *                                                               node({ transport: 'agent', socket })
 *   vm         host: node({ transport: 'vm', path, size })  peer: the C guest in QEMU over ivshmem
 *              (test/vm/host.ts startVm)
 *   tcp        host: node({ transport: inproc }) + listen({ port: 0, transport: inproc })
 *                                                        peer: a child process, node({ transport: 'tcp://127.0.0.1:<port>' })
 *
 * Every helper is reused: the VM's launcher and arena (test/vm/*.ts), the container
 * entry script (test/container/enter.sh), the agent fixture and NODE/tempRoot
 * (packages/sdk/test/helpers.ts); child processes are wrapped in test/vm/qemu.ts's Guest
 * (console capture, waitFor, stop with SIGTERM/SIGKILL fallback).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import * as isthmus from '@isthmus/sdk';
import { FIXTURES, NODE, ROOT, tempRoot } from '../../packages/sdk/test/helpers.ts';
import { startVm } from '../vm/host.ts';
import { Guest, missingDependencies } from '../vm/qemu.ts';
import type { BookUpdate } from '../../schemas/generated/ts/market.ts';
import { fillSmall, PREFIX, TRANSFORM_DELTA } from './contract.ts';

const PEER = join(ROOT, 'test/boundaries/peer.ts');
const ENTER = join(ROOT, 'test/container/enter.sh');

export interface Started {
  /** The host's node: the only thing the test body uses. */
  node: isthmus.IsthmusNode;
  /** The peer's console (stdout and stderr). */
  peer: Guest;
  /**
   * The transport moves bytes on this thread's event loop (the tcp listener's pumps):
   * a host loop must await, not spin. (Only the bench looks at this.)
   */
  eventLoop: boolean;
  /** Waits for the peer to exit (after the stop message), falls back to killing it; frees everything. */
  stop(): Promise<{ exit: number | string; output: string }>;
}

export interface Boundary {
  name: 'thread' | 'process' | 'container' | 'vm' | 'tcp';
  /** What the peer's console shows once it is up: that it is where it should be. */
  peerShows: RegExp;
  /** What this machine lacks for it (empty: runnable). */
  missing(): string[];
  start(): Promise<Started>;
}

/** A worker thread seen as a Guest: its stdout/stderr, exit code, terminate() for kill. */
function workerAsGuest(w: Worker): Guest {
  let exitCode: number | null = null;
  const proc = {
    pid: w.threadId,
    stdout: w.stdout,
    stderr: w.stderr,
    get exitCode() {
      return exitCode;
    },
    signalCode: null,
    kill: () => void w.terminate(),
    on(ev: string, f: (code: number | null, sig: string | null) => void) {
      if (ev !== 'close') return;
      w.on('error', (e) => w.stderr.push(`worker error: ${e.stack ?? e}\n`));
      w.on('exit', (code) => {
        exitCode = code;
        // let the last lines of stdout arrive first
        setTimeout(() => f(code, null), 20);
      });
    },
  };
  return new Guest(proc as unknown as ChildProcess);
}

function spawnGuest(cmd: string, args: string[], env: Record<string, string> = {}): Guest {
  return new Guest(spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** The peer created <p>.g2h and <p>.rpc (it joins <p>.h2g once the host creates it). */
const READY = /peer: OPEN/;
const READY_MS = 30_000;

/** Waits for the peer to exit by itself (it got the stop message), else SIGTERM/SIGKILL. */
async function finish(peer: Guest, cleanup: () => void | Promise<void>, graceMs = 10_000): Promise<{ exit: number | string; output: string }> {
  try {
    const exit = await peer.stop(graceMs);
    return { exit, output: peer.output };
  } finally {
    await cleanup();
  }
}

async function withPeer(node: isthmus.IsthmusNode, peer: Guest, cleanup: () => void | Promise<void>, eventLoop = false): Promise<Started> {
  try {
    await peer.waitFor(READY, READY_MS);
  } catch (err) {
    await peer.stop(0);
    await cleanup();
    throw err;
  }
  return { node, peer, eventLoop, stop: () => finish(peer, cleanup) };
}

/** The tools the container boundary needs (as test/container.test.ts checks them). */
function containerMissing(): string[] {
  return [...['unshare', 'mount'].filter((t) => spawnSync(t, ['--version']).error), ...(process.getuid?.() === 0 ? [] : ['root (uid 0)'])];
}

function nativeMissing(): string[] {
  return existsSync(join(ROOT, 'packages/native/build/isthmus.node')) ? [] : ['@isthmus/native (npm run build:native)'];
}

export const BOUNDARIES: Boundary[] = [
  {
    name: 'thread',
    peerShows: /peer: OPEN: inproc .*\(worker thread\)/,
    missing: () => [],
    async start() {
      const transport = isthmus.inproc({ size: 16 << 20 });
      const node = await isthmus.node({ transport });
      const w = new Worker(PEER, { workerData: { spec: { arena: transport.arena }, prefix: PREFIX }, stdout: true, stderr: true });
      return withPeer(node, workerAsGuest(w), () => node.close());
    },
  },
  {
    name: 'process',
    peerShows: /peer: OPEN: shm /,
    missing: nativeMissing,
    async start() {
      const { root, cleanup } = tempRoot();
      const node = await isthmus.node({ root });
      const peer = spawnGuest(NODE, [PEER, JSON.stringify({ root }), PREFIX]);
      return withPeer(node, peer, () => (node.close(), cleanup()));
    },
  },
  {
    name: 'container',
    peerShows: /peer: OPEN: agent isthmus agent at \S*\/ct-run\/agent\.sock, pid 1,/,
    missing: () => [...nativeMissing(), ...containerMissing()],
    async start() {
      // The node agent on the host (packages/sdk/test/fixtures/agent.ts), its socket in a host
      // runtime dir; the container sees only that socket, bind-mounted (test/container/enter.sh).
      const base = mkdtempSync('/tmp/isthmus-bd-');
      chmodSync(base, 0o755);
      const hostRun = join(base, 'host-run');
      const ctRun = join(base, 'ct-run');
      mkdirSync(hostRun, { mode: 0o755 });
      mkdirSync(ctRun, { mode: 0o755 });
      const socket = join(hostRun, 'agent.sock');
      const policy = join(base, 'policy.json');
      const rights = [`${PREFIX}.*`];
      writeFileSync(policy, JSON.stringify({ rules: [{ match: { uid: 0 }, allow: { publish: rights, subscribe: rights, serve: rights, call: rights } }] }));
      const agent = spawnGuest(NODE, [join(FIXTURES, 'agent.ts'), '--socket', socket, '--policy', policy]);
      let node: isthmus.IsthmusNode | undefined;
      let peer: Guest | undefined;
      const cleanup = async () => {
        node?.close();
        await peer?.stop(0);
        await agent.stop(0);
        rmSync(base, { recursive: true, force: true });
      };
      try {
        await agent.waitFor(/isthmus-agent\[\d+\] info: ready/, 20_000);
        node = await isthmus.node({ transport: 'agent', socket });
        const spec = { transport: 'agent', socket: join(ctRun, 'agent.sock') };
        peer = spawnGuest('unshare', ['--mount', '--pid', '--net', '--ipc', '--uts', '--fork', '--kill-child', '--mount-proc', 'sh', ENTER, hostRun, ctRun, NODE, PEER, JSON.stringify(spec), PREFIX]);
      } catch (err) {
        await cleanup();
        throw err;
      }
      return withPeer(node, peer, cleanup);
    },
  },
  {
    name: 'vm',
    peerShows: /guest: ivshmem \/sys\/bus\/pci\/devices\/\S+, BAR2/,
    missing: missingDependencies,
    async start() {
      const vm = await startVm();
      // startVm opens <p>.h2g's publisher before the boot; the test body opens its own
      // (it takes the ring over: same region, the guest stays subscribed).
      vm.pub.close();
      return {
        node: vm.node,
        peer: vm.guest,
        eventLoop: false,
        async stop() {
          // After the stop message the guest exits and QEMU powers off; else kill it
          // (vm.shutdown() would try to send the stop message on the closed publisher).
          if ((await Promise.race([vm.guest.exited, new Promise((r) => setTimeout(r, 10_000).unref())])) === undefined) vm.guest.proc.kill('SIGKILL');
          const { console: output, exit } = await vm.shutdown();
          return { exit: /ISTHMUS-GUEST-EXIT 0/.test(output) ? exit : `guest: ${/ISTHMUS-GUEST-EXIT (\d+)/.exec(output)?.[1] ?? 'no exit line'}`, output };
        },
      };
    },
  },
  {
    name: 'tcp',
    peerShows: /peer: OPEN: tcp tcp:\/\/127\.0\.0\.1:\d+/,
    missing: () => [],
    async start() {
      // The host has the rings (an inproc arena) and listens; the peer's node is a connector.
      const transport = isthmus.inproc({ size: 64 << 20 });
      const node = await isthmus.node({ transport });
      const l = await isthmus.listen({ host: '127.0.0.1', port: 0, transport });
      const peer = spawnGuest(NODE, [PEER, JSON.stringify({ transport: `tcp://127.0.0.1:${l.port}` }), PREFIX]);
      return withPeer(node, peer, async () => {
        await l.close();
        node.close();
      }, true);
    },
  },
];

/** Marks the messages of the join handshake. */
const SYNC_BASE = 1n << 40n;

/**
 * Waits until both joins reached the other side: the peer's subscriber on `pub`'s channel
 * (`pub.subscribers()`), and ours on the echo channel at the peer's publisher (on shm that
 * is at once; over tcp one roles scan later, and until then the peer's echoes go nowhere).
 * Pings until one echo comes back, then sends a fence and drops echoes up to the fence's:
 * afterwards `sub` holds nothing and every message sent is echoed.
 */
export async function handshake(pub: isthmus.Publisher<BookUpdate>, sub: isthmus.Subscriber<BookUpdate>, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  const late = (what: string) => {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what} within ${timeoutMs} ms`);
  };
  const send = (seq: bigint) => pub.sendAsync((m) => fillSmall(m, seq, 7), { timeoutMs });
  while (pub.subscribers() === 0) {
    late(`${pub.name}: no subscriber`);
    await new Promise((r) => setTimeout(r, 5));
  }
  for (let k = 0n; ; k++) {
    late(`${sub.name}: no echo of the handshake`);
    await send(SYNC_BASE + k);
    if ((await sub.receive(20)) !== null) break;
  }
  const fence = SYNC_BASE * 2n;
  await send(fence);
  for (;;) {
    const m = await sub.receive(timeoutMs);
    if (m === null) throw new Error(`${sub.name}: no echo of the handshake's fence within ${timeoutMs} ms`);
    if (m.seq < SYNC_BASE + TRANSFORM_DELTA) throw new Error(`${sub.name}: unexpected seq ${m.seq} during the handshake`);
    if (m.seq === fence + TRANSFORM_DELTA) return;
  }
}
