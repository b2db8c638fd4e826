/**
 * A standalone listener: serves this host's shm regions to network peers.
 *
 *   node packages/sdk/dist/net/cli.js [--host 127.0.0.1] [--port 7300] [--path /run/isthmus.sock] [--root DIR]
 *
 * Prints `listening <url>`; SIGINT/SIGTERM close every connection (peers see their remote
 * participants vanish) and exit.
 */
import { listen } from '../transports/net.js';
import { shm } from '../transports/shm.js';

const args = process.argv.slice(2);
function opt(name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}
const transport = await shm(opt('root') !== undefined ? { root: opt('root')! } : {});
const path = opt('path');
const l = await listen(path !== undefined ? { path, transport } : { host: opt('host') ?? '127.0.0.1', port: Number(opt('port') ?? 7300), transport });
l.on('linkError', (err: Error, peer: string) => console.error(`isthmus listen: ${peer}: ${err.message}`));
console.log(`listening ${l.url} (regions of ${transport.where})`);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void l.close().then(() => process.exit(0)));
