/**
 * The schema subcommands of the `isthmus` command line (the command itself is the bin of
 * @isthmus/sdk, which adds the runtime subcommands: agent, stat, listen, ...):
 *
 *   isthmus compile <schema.isthmus>... --emit ts,c,json,wasm-gc,... [--out|-o DIR]
 *   isthmus check <old.isthmus> <new.isthmus>
 *
 * Exit codes: 0 success, 1 schema errors or breaking changes, 2 usage errors. All output
 * is computed before anything is written, so a failed run writes nothing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkCompatibility } from './check.js';
import { compileFile, type CompiledSchema } from './compile.js';
import { CompileError } from './diagnostics.js';
import { EMITTERS } from './emitters.js';
import type { EmittedFile } from './emit/common.js';

/** One line per subcommand: `isthmus <name> <arguments>`, then what it does. */
export const USAGE_LINES: Record<'compile' | 'check', string> = {
  compile: `isthmus compile <schema.isthmus>... --emit <${Object.keys(EMITTERS).join('|')}>[,...] [--out|-o DIR]`,
  check: 'isthmus check <old.isthmus> <new.isthmus>',
};
const USAGE = `usage:\n  ${USAGE_LINES.compile}\n  ${USAGE_LINES.check}`;

type Io = { out: (s: string) => void; err: (s: string) => void };
const stdio: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

/** `isthmus compile|check ...` (argv without the program name); returns the exit code. */
export function main(argv: string[], io: Io = stdio): number {
  const [cmd, ...rest] = argv;
  if (cmd === 'compile') return compile(rest, io);
  if (cmd === 'check') return check(rest, io);
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    io.out(USAGE + '\n');
    return 0;
  }
  io.err(`${cmd ? `unknown command '${cmd}'\n` : ''}${USAGE}\n`);
  return 2;
}

function compile(args: string[], io: Io): number {
  const files: string[] = [];
  let emit: string[] = [];
  let outDir = '.';
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--help' || a === '-h') {
      io.out(`usage: ${USAGE_LINES.compile}\n`);
      return 0;
    }
    if (a === '--emit') emit = (args[++i] ?? '').split(',').filter(Boolean);
    else if (a.startsWith('--emit=')) emit = a.slice(7).split(',').filter(Boolean);
    else if (a === '--out' || a === '-o') outDir = args[++i] ?? '';
    else if (a.startsWith('--out=')) outDir = a.slice(6);
    else if (a.startsWith('-')) {
      io.err(`unknown option '${a}'\n${USAGE}\n`);
      return 2;
    } else files.push(a);
  }
  const unknown = emit.filter((e) => !(e in EMITTERS));
  if (!files.length || !emit.length || unknown.length || !outDir) {
    io.err(`${unknown.length ? `unknown emitter '${unknown[0]}' (known: ${Object.keys(EMITTERS).join(', ')})\n` : ''}${USAGE}\n`);
    return 2;
  }
  const outputs: EmittedFile[] = [];
  let failed = false;
  for (const f of files) {
    let c: CompiledSchema;
    try {
      c = compileFile(f);
    } catch (e) {
      if (!(e instanceof CompileError)) throw e;
      io.err(e.message + '\n');
      failed = true;
      continue;
    }
    for (const e of emit) for (const o of EMITTERS[e]!(c)) outputs.push({ ...o, emitter: e } as EmittedFile & { emitter: string });
  }
  // Two emitters that write the same file (ts and assemblyscript both write <schema>.ts)
  // would overwrite each other: refuse before writing anything.
  const seen = new Map<string, string>();
  for (const o of outputs as (EmittedFile & { emitter: string })[]) {
    const prev = seen.get(o.path);
    if (prev !== undefined && prev !== o.emitter) {
      io.err(`--emit ${prev},${o.emitter}: both write ${join(outDir, o.path)}; run them with different --out directories\nno files written\n`);
      return 2;
    }
    seen.set(o.path, o.emitter);
  }
  if (failed) {
    io.err('no files written\n');
    return 1;
  }
  for (const o of outputs) {
    const p = join(outDir, o.path);
    mkdirSync(dirname(p), { recursive: true });
    // Text outputs are written as UTF-8, binary ones (a `.wasm` module) byte for byte.
    writeFileSync(p, typeof o.contents === 'string' ? o.contents : Buffer.from(o.contents.buffer, o.contents.byteOffset, o.contents.byteLength));
    io.out(`wrote ${p}\n`);
  }
  return 0;
}

function check(args: string[], io: Io): number {
  if (args[0] === '--help' || args[0] === '-h') {
    io.out(`usage: ${USAGE_LINES.check}\n`);
    return 0;
  }
  if (args.length !== 2) {
    io.err(USAGE + '\n');
    return 2;
  }
  let a: CompiledSchema;
  let b: CompiledSchema;
  try {
    a = compileFile(args[0]!);
    b = compileFile(args[1]!);
  } catch (e) {
    if (!(e instanceof CompileError)) throw e;
    io.err(e.message + '\n');
    return 1;
  }
  const breaks = checkCompatibility(a, b);
  for (const x of breaks) io.err(`breaking: ${x.path}: ${x.message}\n`);
  if (breaks.length) {
    io.err(`${breaks.length} breaking change${breaks.length > 1 ? 's' : ''} from ${args[0]} to ${args[1]}\n`);
    return 1;
  }
  io.out(`no breaking changes from ${args[0]} to ${args[1]}\n`);
  return 0;
}
