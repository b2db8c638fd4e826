#!/usr/bin/env node
// The `isthmus` command: runs packages/sdk/src/cli.ts (compiled to dist/cli.js).
// This shim is checked in so that npm can link the bin before dist/ is built.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(`isthmus: ${cli.pathname} is missing: @isthmus/sdk is not built (in the repository, run \`npm run build\`).\n`);
  process.exit(2);
}
const { main } = await import(cli.href);
const code = await main(process.argv.slice(2));
// Commands that serve (agent, listen) resolve when they are stopped; the rest exit here.
process.exit(code);
