/**
 * The boundaries of test/boundaries.test.ts and bench/boundaries.bench.ts. Two programs,
 * the same files for every boundary, configured by their environment alone: the service,
 * test/boundaries/peer.ts, and the client, test/boundaries/client.ts. Both call
 * `isthmus.node()` with no arguments; the only difference between boundaries is the
 * `ISTHMUS_TRANSPORT` each program is started with (docs/config.md) and where it runs:
 *
 *   thread     peer and client: worker threads of this process     ISTHMUS_TRANSPORT=inproc:
 *              (isthmus.defaultArena() is made here before either starts: they inherit it)
 *   process    peer and client: child processes                     ISTHMUS_TRANSPORT=shm:///<temp root>
 *   container  the node agent: a host process (packages/sdk/test/fixtures/agent.ts)
 *              peer: a child process in an unshare container         ISTHMUS_TRANSPORT=agent:///<ct-run>/agent.sock
 *                    (test/container/enter.sh; it sees only the agent's socket, bind-mounted)
 *              client: a host process                                ISTHMUS_TRANSPORT=agent:///<host-run>/agent.sock
 *   vm         peer: the C guest in QEMU over ivshmem (test/vm/host.ts startVm, which creates
 *              the arena file and keeps a node on it in this process)
 *              client: a host process                                ISTHMUS_TRANSPORT=vm:///dev/shm/isthmus-vm-….mem
 *   tcp        `isthmus listen --host 127.0.0.1 --port 0 --root <temp root>`: a host process
 *              peer and client: child processes                      ISTHMUS_TRANSPORT=tcp://127.0.0.1:<port>
 *
 * `Boundary.deploy()` (the test) starts the peer and gives `runClient()`, which runs the
 * client program and returns its console; `Deployed.launched` records every program run:
 * its file, where it ran and its configuration. `Boundary.start()` (the bench) starts the
 * same peer but gives a host node in this process instead of the client program: for
 * thread, process and container from the same ISTHMUS_TRANSPORT as the client's (set
 * around `isthmus.node()`, configuredNode()); for vm startVm's node; for tcp the host keeps
 * the rings in an inproc arena and listens in this process, so the bench measures one
 * network hop.
 *
 * Every helper is reused: the VM's launcher and arena (test/vm/*.ts), the container
 * entry script (test/container/enter.sh), the agent fixture and NODE/tempRoot
 * (packages/sdk/test/helpers.ts); programs are wrapped in test/vm/qemu.ts's Guest
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
import { PREFIX } from './contract.ts';

export { handshake } from './contract.ts';

/** The service: the peer side of the contract. */
export const PEER = join(ROOT, 'test/boundaries/peer.ts');
/** The client: the host side of the contract. */
export const CLIENT = join(ROOT, 'test/boundaries/client.ts');
/** The VM's peer (built into the guest's initramfs by test/vm). */
export const GUEST = join(ROOT, 'native/guest/isthmus_guest.c');
const ENTER = join(ROOT, 'test/container/enter.sh');
const ISTHMUS_CLI = join(ROOT, 'packages/sdk/bin/isthmus.js');

/** The variables that configure a node (docs/config.md) or the programs: never inherited. */
const CONFIG_VARS = ['ISTHMUS_TRANSPORT', 'ISTHMUS_CONFIG', 'ISTHMUS_AGENT_SOCKET', 'ISTHMUS_PEER_PREFIX'];

/** One program run on one side of a boundary. */
export interface Launch {
  role: 'peer' | 'client';
  /** The program: PEER, CLIENT, or GUEST for the VM. */
  file: string;
  how: 'worker thread' | 'process' | 'container' | 'vm guest';
  /** Its configuration: the ISTHMUS_* variables it was given (on top of this process's environment, less CONFIG_VARS). */
  config: Record<string, string>;
}

export interface Started {
  /** The host's node: the only thing the bench's loops use. */
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

export interface Deployed {
  /** The peer, up (it printed `peer: OPEN`, or the guest READY). */
  peer: Guest;
  /** Runs the client program (CLIENT) on the host side and waits for it to exit (killed after `timeoutMs`). */
  runClient(timeoutMs?: number): Promise<{ exit: number | string; output: string }>;
  /** Every program run so far: the peer's, then the client's. */
  launched: Launch[];
  /** Waits for the peer to exit (after the client's stop message), falls back to killing it; frees everything. */
  stop(): Promise<{ exit: number | string; output: string }>;
}

export interface Boundary {
  name: 'thread' | 'process' | 'container' | 'vm' | 'tcp';
  /** What the peer's console shows once it is up: that it is where it should be. */
  peerShows: RegExp;
  /** What the client's console shows once its node is up: the transport its configuration gave. */
  clientShows: RegExp;
  /** What this machine lacks for it (empty: runnable). */
  missing(): string[];
  /** The peer, and a host node in this process (the bench). */
  start(): Promise<Started>;
  /** The peer, and the client program (the test). */
  deploy(): Promise<Deployed>;
}

/** The environment of a program configured by `config`: this process's, less CONFIG_VARS, plus `config`. */
function programEnv(config: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !CONFIG_VARS.includes(k)) env[k] = v;
  return { ...env, ...config };
}

/**
 * `isthmus.node()` with no arguments, configured as a program would be: ISTHMUS_TRANSPORT
 * set to `url` (and ISTHMUS_CONFIG unset) around the call, then restored.
 */
export async function configuredNode(url: string): Promise<isthmus.IsthmusNode> {
  const saved = CONFIG_VARS.map((k) => [k, process.env[k]] as const);
  for (const k of CONFIG_VARS) delete process.env[k];
  process.env.ISTHMUS_TRANSPORT = url;
  try {
    return await isthmus.node();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
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

function spawnGuest(cmd: string, args: string[], env: Record<string, string> = programEnv({})): Guest {
  return new Guest(spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Runs a program as a worker thread of this process, with `env` as its process.env. */
function worker(file: string, env: Record<string, string>): Guest {
  return workerAsGuest(new Worker(file, { env, stdout: true, stderr: true }));
}

/** Runs a program as a child process. */
function child(file: string, env: Record<string, string>): Guest {
  return spawnGuest(NODE, [file], env);
}

/** The peer created <p>.g2h and <p>.rpc (it joins <p>.h2g once the client creates it). */
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

async function peerUp(peer: Guest, cleanup: () => void | Promise<void>): Promise<void> {
  try {
    await peer.waitFor(READY, READY_MS);
  } catch (err) {
    await peer.stop(0);
    await cleanup();
    throw err;
  }
}

/**
 * One side of a boundary as set up for a run: the ISTHMUS_TRANSPORT of each program, how
 * each runs, and what to free afterwards.
 */
interface Site {
  peer: { url: string; how: Launch['how']; run(file: string, env: Record<string, string>): Guest };
  client: { url: string; how: Launch['how']; run(file: string, env: Record<string, string>): Guest };
  cleanup(): void | Promise<void>;
}

/** The peer program (PEER) on `site`, up. */
async function runPeer(site: Site, launched: Launch[]): Promise<Guest> {
  const config = { ISTHMUS_TRANSPORT: site.peer.url };
  launched.push({ role: 'peer', file: PEER, how: site.peer.how, config });
  const peer = site.peer.run(PEER, programEnv(config));
  await peerUp(peer, site.cleanup);
  return peer;
}

/** Runs the client program (CLIENT) on `site`, waits for it (killed after `timeoutMs`). */
async function runClientOn(site: Site, launched: Launch[], timeoutMs: number): Promise<{ exit: number | string; output: string }> {
  const config = { ISTHMUS_TRANSPORT: site.client.url };
  launched.push({ role: 'client', file: CLIENT, how: site.client.how, config });
  const c = site.client.run(CLIENT, programEnv(config));
  const exit = await c.stop(timeoutMs);
  return { exit, output: c.output };
}

/** deploy() of a boundary whose peer is PEER. */
async function deployOn(setup: () => Promise<Site>): Promise<Deployed> {
  const site = await setup();
  const launched: Launch[] = [];
  const peer = await runPeer(site, launched);
  return { peer, launched, runClient: (timeoutMs = 90_000) => runClientOn(site, launched, timeoutMs), stop: () => finish(peer, site.cleanup) };
}

/** start() of a boundary whose peer is PEER: the host's node configured as the client would be. */
async function startOn(setup: () => Promise<Site>): Promise<Started> {
  const site = await setup();
  let node: isthmus.IsthmusNode;
  try {
    node = await configuredNode(site.client.url);
  } catch (err) {
    await site.cleanup();
    throw err;
  }
  const cleanup = async () => {
    node.close();
    await site.cleanup();
  };
  const config = { ISTHMUS_TRANSPORT: site.peer.url };
  const peer = site.peer.run(PEER, programEnv(config));
  await peerUp(peer, cleanup);
  return { node, peer, eventLoop: false, stop: () => finish(peer, cleanup) };
}

/** The tools the container boundary needs (as test/container.test.ts checks them). */
function containerMissing(): string[] {
  return [...['unshare', 'mount'].filter((t) => spawnSync(t, ['--version']).error), ...(process.getuid?.() === 0 ? [] : ['root (uid 0)'])];
}

function nativeMissing(): string[] {
  return existsSync(join(ROOT, 'packages/native/build/isthmus.node')) ? [] : ['@isthmus/native (npm run build:native)'];
}

async function threadSite(): Promise<Site> {
  // The default arena of `inproc:`, published to the workers started from now on.
  isthmus.defaultArena();
  const side = { url: 'inproc:', how: 'worker thread' as const, run: worker };
  return { peer: side, client: side, cleanup: () => {} };
}

async function processSite(): Promise<Site> {
  const { root, cleanup } = tempRoot();
  const side = { url: `shm://${root}`, how: 'process' as const, run: child };
  return { peer: side, client: side, cleanup };
}

async function containerSite(): Promise<Site> {
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
  const running: Guest[] = [];
  const cleanup = async () => {
    for (const g of running) await g.stop(0);
    await agent.stop(0);
    rmSync(base, { recursive: true, force: true });
  };
  try {
    await agent.waitFor(/isthmus-agent\[\d+\] info: ready/, 20_000);
  } catch (err) {
    await cleanup();
    throw err;
  }
  return {
    peer: {
      url: `agent://${join(ctRun, 'agent.sock')}`,
      how: 'container',
      // ISTHMUS_TRANSPORT reaches the program through unshare, sh and exec (env).
      run: (file, env) => {
        const g = spawnGuest('unshare', ['--mount', '--pid', '--net', '--ipc', '--uts', '--fork', '--kill-child', '--mount-proc', 'sh', ENTER, hostRun, ctRun, NODE, file], env);
        running.push(g);
        return g;
      },
    },
    client: { url: `agent://${socket}`, how: 'process', run: child },
    cleanup,
  };
}

/** `isthmus listen` on a fresh shm root, a host process; both programs connect to it. */
async function tcpSite(): Promise<Site> {
  const { root, cleanup: rmRoot } = tempRoot();
  const listener = spawnGuest(NODE, [ISTHMUS_CLI, 'listen', '--host', '127.0.0.1', '--port', '0', '--root', root]);
  const cleanup = async () => {
    await listener.stop(0);
    rmRoot();
  };
  let url: string;
  try {
    url = (await listener.waitFor(/^listening (tcp:\/\/127\.0\.0\.1:\d+)/m, 20_000))[1]!;
  } catch (err) {
    await cleanup();
    throw err;
  }
  const side = { url, how: 'process' as const, run: child };
  return { peer: side, client: side, cleanup };
}

export const BOUNDARIES: Boundary[] = [
  {
    name: 'thread',
    peerShows: /peer: OPEN: inproc .*\(worker thread\)/,
    clientShows: /client: OPEN: inproc .*\(worker thread\)/,
    missing: () => [],
    start: () => startOn(threadSite),
    deploy: () => deployOn(threadSite),
  },
  {
    name: 'process',
    peerShows: /peer: OPEN: shm /,
    clientShows: /client: OPEN: shm /,
    missing: nativeMissing,
    start: () => startOn(processSite),
    deploy: () => deployOn(processSite),
  },
  {
    name: 'container',
    peerShows: /peer: OPEN: agent isthmus agent at \S*\/ct-run\/agent\.sock, pid 1,/,
    clientShows: /client: OPEN: agent isthmus agent at \S*\/host-run\/agent\.sock/,
    missing: () => [...nativeMissing(), ...containerMissing()],
    start: () => startOn(containerSite),
    deploy: () => deployOn(containerSite),
  },
  {
    name: 'vm',
    peerShows: /guest: ivshmem \/sys\/bus\/pci\/devices\/\S+, BAR2/,
    clientShows: /client: OPEN: vm /,
    missing: missingDependencies,
    async start() {
      const vm = await startVm();
      // startVm opens <p>.h2g's publisher before the boot; the bench opens its own
      // (it takes the ring over: same region, the guest stays subscribed).
      vm.pub.close();
      return { node: vm.node, peer: vm.guest, eventLoop: false, stop: () => stopVm(vm) };
    },
    async deploy() {
      // startVm creates the arena file (and keeps a node on it here, for the shutdown); the
      // client program maps the same file, configured by its URL alone, and takes <p>.h2g over.
      const vm = await startVm();
      vm.pub.close();
      const launched: Launch[] = [{ role: 'peer', file: GUEST, how: 'vm guest', config: {} }];
      const site: Site = {
        peer: { url: '', how: 'vm guest', run: () => vm.guest },
        client: { url: `vm://${vm.path}`, how: 'process', run: child },
        cleanup: () => {},
      };
      return { peer: vm.guest, launched, runClient: (timeoutMs = 90_000) => runClientOn(site, launched, timeoutMs), stop: () => stopVm(vm) };
    },
  },
  {
    name: 'tcp',
    peerShows: /peer: OPEN: tcp tcp:\/\/127\.0\.0\.1:\d+/,
    clientShows: /client: OPEN: tcp tcp:\/\/127\.0\.0\.1:\d+/,
    missing: nativeMissing,
    async start() {
      // The bench: the host has the rings (an inproc arena) and listens in this process, so
      // a round trip is one network hop each way; the peer's node is a connector.
      const transport = isthmus.inproc({ size: 64 << 20 });
      const node = await isthmus.node({ transport });
      const l = await isthmus.listen({ host: '127.0.0.1', port: 0, transport });
      const cleanup = async () => {
        await l.close();
        node.close();
      };
      const peer = child(PEER, programEnv({ ISTHMUS_TRANSPORT: `tcp://127.0.0.1:${l.port}` }));
      await peerUp(peer, cleanup);
      return { node, peer, eventLoop: true, stop: () => finish(peer, cleanup) };
    },
    deploy: () => deployOn(tcpSite),
  },
];

/** After the stop message the guest exits and QEMU powers off; else kill it. */
async function stopVm(vm: Awaited<ReturnType<typeof startVm>>): Promise<{ exit: number | string; output: string }> {
  // (vm.shutdown() would try to send the stop message on the closed publisher.)
  if ((await Promise.race([vm.guest.exited, new Promise((r) => setTimeout(r, 10_000).unref())])) === undefined) vm.guest.proc.kill('SIGKILL');
  const { console: output, exit } = await vm.shutdown();
  return { exit: /ISTHMUS-GUEST-EXIT 0/.test(output) ? exit : `guest: ${/ISTHMUS-GUEST-EXIT (\d+)/.exec(output)?.[1] ?? 'no exit line'}`, output };
}
