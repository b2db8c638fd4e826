/**
 * The `isthmus` subcommands that run the SDK: `agent`, `stat` (docs/agent.md) and
 * `listen` (docs/net.md). The `isthmus` command of @isthmus/schema loads this module
 * when one of them is asked for.
 */
import { agentMain, statMain } from './agent/cli.js';
import { listenMain } from './net/cli.js';

export const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  agent: agentMain,
  stat: statMain,
  listen: listenMain,
};
