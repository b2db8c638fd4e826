// `npm start` runs this after compiling the schema (TypeScript and AssemblyScript) and
// the module (asc → gen/subscriber.wasm): it starts the TypeScript publisher and the
// module's host, each a process of its own, and prints every line they print after their
// name. The children share a fresh runtime directory (XDG_RUNTIME_DIR, mode 0700: the shm
// transport keeps its region files in $XDG_RUNTIME_DIR/isthmus), removed at the end.
// Exit status 0 when both exited with 0.
import { channelPath } from '@isthmus/sdk';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'isthmus-wasm-subscriber-'));
const env = { ...process.env, XDG_RUNTIME_DIR: dir };
const here = import.meta.dirname;

function start(name: string, args: string[]): Promise<number | null> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  createInterface({ input: child.stdout }).on('line', (line) => console.log(`${name.padEnd(9)} | ${line}`));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) => child.on('close', (code) => (clearTimeout(timer), resolve(code))));
}

const publisher = start('publisher', [join(here, 'publisher.ts')]);
// The host opens the region file itself, so it starts once the publisher has created it.
const region = channelPath(join(dir, 'isthmus'), 'orders'); // <root>/orders~pub
for (const by = Date.now() + 10_000; !existsSync(region) && Date.now() < by; ) await sleep(10);
const codes = await Promise.all([publisher, start('WASM', [join(here, 'host.ts'), join(here, 'gen', 'subscriber.wasm'), region, '3'])]);
rmSync(dir, { recursive: true, force: true });
process.exitCode = codes.every((c) => c === 0) ? 0 : 1;
