/**
 * `isthmus listen`: a standalone listener that serves this host's shm regions to network
 * peers (docs/net.md).
 *
 *   isthmus listen [--host 127.0.0.1] [--port 7300] [--path /run/isthmus.sock] [--root DIR]
 *
 * Prints `listening <url>`; SIGINT/SIGTERM close every connection (peers see their remote
 * participants vanish) and resolve with exit code 0.
 */
import { parseArgs } from 'node:util';
import { listen } from '../transports/net.js';
import { shm } from '../transports/shm.js';

export const LISTEN_USAGE = 'usage: isthmus listen [--host 127.0.0.1] [--port 7300] [--path /run/isthmus.sock] [--root DIR]';

export async function listenMain(argv: string[]): Promise<number> {
  let values: { host?: string; port?: string; path?: string; root?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { host: { type: 'string' }, port: { type: 'string' }, path: { type: 'string' }, root: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    console.error(`isthmus listen: ${(e as Error).message}\n${LISTEN_USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(LISTEN_USAGE);
    return 0;
  }
  const port = Number(values.port ?? 7300);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`isthmus listen: --port must be an integer in [0, 65535], is ${JSON.stringify(values.port)}\n${LISTEN_USAGE}`);
    return 2;
  }
  const transport = await shm(values.root !== undefined ? { root: values.root } : {});
  const l = await listen(values.path !== undefined ? { path: values.path, transport } : { host: values.host ?? '127.0.0.1', port, transport });
  l.on('linkError', (err: Error, peer: string) => console.error(`isthmus listen: ${peer}: ${err.message}`));
  console.log(`listening ${l.url} (regions of ${transport.where})`);
  return new Promise<number>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void l.close().then(() => resolve(0)));
  });
}

// `node packages/sdk/dist/net/cli.js …` runs it directly.
if (import.meta.url === `file://${process.argv[1]}`) process.exit(await listenMain(process.argv.slice(2)));
