/**
 * The `isthmus` command (the bin of @isthmus/sdk, packages/sdk/bin/isthmus.js): every
 * subcommand in one table. compile and check come from @isthmus/schema; agent is
 * docs/agent.md; stat and top are docs/counters.md; listen is docs/net.md.
 *
 *   isthmus <command> [arguments]     isthmus <command> --help for its options
 *
 * Exit codes: 0 success, 1 the command failed (schema errors, breaking changes, a failed
 * request), 2 usage errors.
 */
import { main as schemaMain, USAGE_LINES } from '@isthmus/schema';
import { AGENT_USAGE, agentMain } from './agent/cli.js';
import { LISTEN_USAGE, listenMain } from './net/cli.js';
import { STAT_USAGE, statMain, TOP_USAGE, topMain } from './observe/cli.js';

interface Command {
  /** `isthmus <name> <arguments>`: the first line of the command's own usage. */
  synopsis: string;
  /** What it does, in a few words. */
  about: string;
  run: (argv: string[]) => number | Promise<number>;
}

const synopsis = (usage: string) => usage.split('\n')[0]!.replace(/^usage: /, '');

export const COMMANDS: Record<string, Command> = {
  compile: { synopsis: USAGE_LINES.compile, about: 'generate code and layouts from schemas (docs/schema.md)', run: (argv) => schemaMain(['compile', ...argv]) },
  check: { synopsis: USAGE_LINES.check, about: 'breaking changes between two versions of a schema (exit 1 when any)', run: (argv) => schemaMain(['check', ...argv]) },
  agent: { synopsis: synopsis(AGENT_USAGE), about: 'the node agent: regions for containers and sandboxes (docs/agent.md)', run: agentMain },
  stat: { synopsis: synopsis(STAT_USAGE), about: 'every channel, its rings, peers and counters, with no daemon (docs/counters.md); --serve for Prometheus', run: statMain },
  top: { synopsis: synopsis(TOP_USAGE), about: 'a live view: msg/s, bytes/s, fill, lag, dead letters, dead peers', run: topMain },
  listen: { synopsis: synopsis(LISTEN_USAGE), about: 'serve shm channels to TCP/Unix peers (docs/net.md)', run: listenMain },
};

/** The top-level help: one synopsis and one line of explanation per command. */
export function usage(): string {
  const lines = ['usage: isthmus <command> [arguments]   (isthmus <command> --help for its options)', '', 'commands:'];
  for (const c of Object.values(COMMANDS)) lines.push(`  ${c.synopsis}`, `      ${c.about}`);
  return lines.join('\n');
}

/** Runs `isthmus <argv>` (argv without the program name); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    if (cmd === 'help' && rest[0] !== undefined && COMMANDS[rest[0]]) return COMMANDS[rest[0]]!.run(['--help']);
    (cmd === undefined ? process.stderr : process.stdout).write(usage() + '\n');
    return cmd === undefined ? 2 : 0;
  }
  const c = COMMANDS[cmd];
  if (c === undefined) {
    process.stderr.write(`isthmus: unknown command ${JSON.stringify(cmd)} (known: ${Object.keys(COMMANDS).join(', ')})\n${usage()}\n`);
    return 2;
  }
  return c.run(rest);
}
