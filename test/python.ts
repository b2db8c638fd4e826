/** Where the tests' Python lives: the virtual environment scripts/python-env.mjs makes. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const PYTHON = join(import.meta.dirname, '..', '.cache', 'venv', 'bin', 'python');

/** The venv's python, or null when `node scripts/python-env.mjs` has not run. */
export function pythonPath(): string | null {
  return existsSync(PYTHON) ? PYTHON : null;
}
