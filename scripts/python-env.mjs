// The Python environment the tests drive (test/requirements.txt: wasmtime, the second
// WasmGC engine), in a virtual environment at .cache/venv, so `npm test` needs nothing
// installed by hand but python3 with its venv module.
//
//   node scripts/python-env.mjs          create or update .cache/venv; prints its python
//
// Tests find the interpreter at .cache/venv/bin/python (see pythonPath() in
// test/python.ts). Reinstalls only when test/requirements.txt changed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const venv = join(root, '.cache', 'venv');
const python = join(venv, 'bin', 'python');
const reqs = join(root, 'test', 'requirements.txt');
const stamp = join(venv, '.requirements');
const want = readFileSync(reqs, 'utf8');

const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error || r.status !== 0) {
    console.error(`python-env: ${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}). ` +
      'The tests need python3 with venv and pip (Debian: apt-get install python3 python3-venv).');
    process.exit(1);
  }
};

if (!existsSync(python)) {
  mkdirSync(dirname(venv), { recursive: true });
  run('python3', ['-m', 'venv', venv]);
}
if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== want) {
  run(python, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-r', reqs]);
  writeFileSync(stamp, want);
}
console.log(`python-env: ${python}`);
