// `npm start` runs this after compiling the schema (TypeScript and C) and building
// gen/subscriber with cc: it starts the TypeScript publisher and the C subscriber, each
// a process of its own, and prints every line they print after their name. The children
// share a fresh runtime directory (XDG_RUNTIME_DIR, mode 0700: the shm transport keeps
// its region files in $XDG_RUNTIME_DIR/isthmus), removed at the end; the C program is
// given the channel's region file. Exit status 0 when both exited with 0.
import { channelPath } from '@isthmus/sdk';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'isthmus-c-subscriber-'));
const env = { ...process.env, XDG_RUNTIME_DIR: dir };
const here = import.meta.dirname;

function start(name: string, cmd: string, args: string[]): Promise<number | null> {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  createInterface({ input: child.stdout }).on('line', (line) => console.log(`${name.padEnd(9)} | ${line}`));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) => child.on('close', (code) => (clearTimeout(timer), resolve(code))));
}

const region = channelPath(join(dir, 'isthmus'), 'samples'); // <root>/samples~pub
const codes = await Promise.all([
  start('publisher', process.execPath, [join(here, 'publisher.ts')]),
  start('C', join(here, 'gen', 'subscriber'), [region, '3']), // the publisher sends 3
]);
rmSync(dir, { recursive: true, force: true });
process.exitCode = codes.every((c) => c === 0) ? 0 : 1;
