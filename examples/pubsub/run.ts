// `npm start` runs this after compiling the schema: it starts the publisher and the
// subscriber, each a process of its own, and prints every line they print after their
// name. The children share a fresh runtime directory (XDG_RUNTIME_DIR, mode 0700: the shm
// transport keeps its region files in $XDG_RUNTIME_DIR/isthmus), removed at the end.
// Exit status 0 when both exited with 0.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'isthmus-pubsub-'));
const env = { ...process.env, XDG_RUNTIME_DIR: dir };

function start(name: string, file: string): Promise<number | null> {
  const child = spawn(process.execPath, [join(import.meta.dirname, file)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  createInterface({ input: child.stdout }).on('line', (line) => console.log(`${name.padEnd(10)} | ${line}`));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) => child.on('close', (code) => (clearTimeout(timer), resolve(code))));
}

const codes = await Promise.all([start('publisher', 'publisher.ts'), start('subscriber', 'subscriber.ts')]);
rmSync(dir, { recursive: true, force: true });
process.exitCode = codes.every((c) => c === 0) ? 0 : 1;
