// `npm start` runs this after compiling the schema: it starts the producer and two
// workers, each a process of its own, and prints every line they print after their name
// (which worker gets which job varies from run to run; the producer's summary does not).
// Once the producer has exited it stops the workers with SIGTERM. The children share a
// fresh runtime directory (XDG_RUNTIME_DIR, mode 0700: the shm transport keeps its region
// files in $XDG_RUNTIME_DIR/isthmus), removed at the end. Exit status 0 when all exited with 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'isthmus-queue-'));
const env = { ...process.env, XDG_RUNTIME_DIR: dir };

function start(name: string, file: string): { child: ChildProcess; done: Promise<number | null> } {
  const child = spawn(process.execPath, [join(import.meta.dirname, file)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  createInterface({ input: child.stdout! }).on('line', (line) => console.log(`${name.padEnd(8)} | ${line}`));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return { child, done: new Promise((resolve) => child.on('close', (code) => (clearTimeout(timer), resolve(code)))) };
}

const producer = start('producer', 'producer.ts');
const workers = [start('worker-a', 'worker.ts'), start('worker-b', 'worker.ts')];
const codes = [await producer.done];
for (const w of workers) w.child.kill('SIGTERM');
for (const w of workers) codes.push(await w.done);
rmSync(dir, { recursive: true, force: true });
process.exitCode = codes.every((c) => c === 0) ? 0 : 1;
