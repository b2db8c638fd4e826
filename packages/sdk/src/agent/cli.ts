/**
 * `isthmus agent` and `isthmus stat` (docs/agent.md §6). The `isthmus` command calls
 * `agentMain(argv)` / `statMain(argv)` with the arguments after the subcommand; both
 * resolve with the process exit code.
 */
import type { Server } from 'node:http';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { serveMetrics } from '../observe/serve.js';
import { requestOnce } from './client.js';
import { prometheus, table } from './metrics.js';
import { loadAgentNative } from './native.js';
import { Policy } from './policy.js';
import { Op } from './protocol.js';
import { Agent, agentUid, type AgentStats } from './server.js';

/** `$ISTHMUS_AGENT_SOCKET`, else `$XDG_RUNTIME_DIR/isthmus/agent.sock`, else `/run/isthmus/agent.sock`. */
export function defaultSocket(): string {
  const env = process.env.ISTHMUS_AGENT_SOCKET;
  if (env) return env;
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg && existsSync(xdg)) return join(xdg, 'isthmus', 'agent.sock');
  return '/run/isthmus/agent.sock';
}

export const AGENT_USAGE = `usage: isthmus agent [--socket PATH] [--policy FILE] [--metrics ADDR] [options]
  --socket PATH        Unix socket to listen on (default ${'$'}XDG_RUNTIME_DIR/isthmus/agent.sock, else /run/isthmus/agent.sock)
  --socket-mode MODE   octal file mode of the socket (default 666; the policy decides who may do what)
  --policy FILE        JSON policy (docs/agent.md §3); default: only the agent's uid and root
  --metrics ADDR       serve Prometheus text on http://ADDR/metrics: HOST:PORT, :PORT, PORT or unix:/PATH
  --sample-ms N        metrics sampling interval (default 1000)
  --max-region BYTES   largest region a peer may create (default 1074790400)
  -h, --help`;

function log(level: 'info' | 'warn' | 'error', msg: string): void {
  process.stderr.write(`${new Date().toISOString()} isthmus-agent[${process.pid}] ${level}: ${msg}\n`);
}

/**
 * Runs the agent in the foreground until SIGINT or SIGTERM; then every connection is
 * closed, every region dropped and the socket unlinked. Resolves with the exit code.
 */
export async function agentMain(argv: string[]): Promise<number> {
  let a;
  try {
    a = parseArgs({
      args: argv,
      options: {
        socket: { type: 'string' },
        'socket-mode': { type: 'string' },
        policy: { type: 'string' },
        metrics: { type: 'string' },
        'sample-ms': { type: 'string' },
        'max-region': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    process.stderr.write(`isthmus agent: ${(err as Error).message}\n${AGENT_USAGE}\n`);
    return 2;
  }
  if (a.help) {
    process.stdout.write(AGENT_USAGE + '\n');
    return 0;
  }
  const bad = (what: string) => {
    process.stderr.write(`isthmus agent: ${what}\n${AGENT_USAGE}\n`);
    return 2;
  };
  const mode = a['socket-mode'] !== undefined ? Number.parseInt(a['socket-mode'], 8) : 0o666;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777 || !/^[0-7]+$/.test(a['socket-mode'] ?? '666')) return bad(`--socket-mode must be octal 0..777, got ${JSON.stringify(a['socket-mode'])}`);
  const sampleMs = a['sample-ms'] !== undefined ? Number(a['sample-ms']) : 1000;
  if (!Number.isInteger(sampleMs) || sampleMs < 10) return bad(`--sample-ms must be an integer >= 10, got ${JSON.stringify(a['sample-ms'])}`);
  const maxRegion = a['max-region'] !== undefined ? Number(a['max-region']) : undefined;
  if (maxRegion !== undefined && (!Number.isInteger(maxRegion) || maxRegion < 4096)) return bad(`--max-region must be an integer >= 4096, got ${JSON.stringify(a['max-region'])}`);
  const socket = a.socket ?? defaultSocket();
  let policy: Policy;
  try {
    policy = a.policy ? Policy.load(a.policy) : Policy.default(agentUid());
  } catch (err) {
    log('error', (err as Error).message);
    return 1;
  }
  let agent: Agent;
  let metrics: Server | null = null;
  try {
    const n = await loadAgentNative();
    mkdirSync(dirname(socket), { recursive: true, mode: 0o755 });
    agent = new Agent(n, { socket, socketMode: mode, policy, sampleMs, ...(maxRegion !== undefined ? { maxRegion } : {}), log });
    agent.start();
    if (a.metrics) {
      const m = await serveMetrics(a.metrics, '--metrics', () => prometheus(agent.stats()));
      metrics = m.server;
      log('info', `metrics on ${m.where}`);
    }
  } catch (err) {
    log('error', `cannot start: ${(err as Error).message}`);
    return 1;
  }
  log('info', 'ready');
  const sig = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  log('info', `${sig}: shutting down`);
  agent.stop();
  if (metrics) await new Promise<void>((r) => metrics!.close(() => r()));
  return 0;
}

export const AGENT_STAT_USAGE = `usage: isthmus stat --socket PATH | --agent [--json]
  Asks the isthmus agent for its channels, counters and peers and prints a table.`;

/** `isthmus stat`: prints the agent's channel table (or its JSON). Resolves with the exit code. */
export async function agentStatMain(argv: string[]): Promise<number> {
  let a;
  try {
    a = parseArgs({ args: argv, options: { socket: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
  } catch (err) {
    process.stderr.write(`isthmus stat: ${(err as Error).message}\n${AGENT_STAT_USAGE}\n`);
    return 2;
  }
  if (a.help) {
    process.stdout.write(AGENT_STAT_USAGE + '\n');
    return 0;
  }
  const socket = a.socket ?? defaultSocket();
  try {
    const n = await loadAgentNative();
    const s = (await requestOnce(n, socket, Op.STAT)) as unknown as AgentStats;
    process.stdout.write(a.json ? JSON.stringify(s, null, 2) + '\n' : table(s));
    return 0;
  } catch (err) {
    const msg = (err as Error).message;
    const down = /ENOENT|ECONNREFUSED/.test(msg) ? `\n  no agent is listening on ${socket}: start one with \`isthmus agent --socket ${socket}\`, or pass --socket` : '';
    process.stderr.write(`isthmus stat: ${msg}${down}\n`);
    return 1;
  }
}
