#!/usr/bin/env node
/**
 * The `isthmus` command line.
 *
 *   isthmus compile <schema.isthmus>... --emit ts,c,json,wasm-gc,... [--out DIR]
 *   isthmus check <old.isthmus> <new.isthmus>
 *   isthmus agent | stat | listen ...   (run by @isthmus/sdk: docs/agent.md, docs/net.md)
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

const USAGE = `usage:
  isthmus compile <schema.isthmus>... --emit <${Object.keys(EMITTERS).join('|')}>[,...] [--out|-o DIR]
  isthmus check <old.isthmus> <new.isthmus>
  isthmus agent [--socket PATH] [--policy FILE] [--metrics ADDR]   the node agent (docs/agent.md)
  isthmus stat [--socket PATH] [--json]                             the agent's channels and counters
  isthmus listen [--host H] [--port N | --path P] [--root DIR]      serve shm channels over TCP/Unix (docs/net.md)`;

/** Subcommands that live in @isthmus/sdk (an optional peer: the compiler works without it). */
const SDK_COMMANDS = new Set(['agent', 'stat', 'listen']);

async function sdkCommand(cmd: string, argv: string[], err: (s: string) => void): Promise<number> {
  let mod: { SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> };
  try {
    mod = (await import('@isthmus/sdk/cli' as string)) as typeof mod;
  } catch (e) {
    err(`isthmus ${cmd} needs @isthmus/sdk (npm install @isthmus/sdk): ${(e as Error).message.split('\n')[0]}\n`);
    return 2;
  }
  return mod.SUBCOMMANDS[cmd]!(argv);
}

export function main(argv: string[], io = { out: (s: string) => process.stdout.write(s), err: (s: string) => process.stderr.write(s) }): number | Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd !== undefined && SDK_COMMANDS.has(cmd)) return sdkCommand(cmd, rest, io.err);
  if (cmd === 'compile') return compile(rest, io);
  if (cmd === 'check') return check(rest, io);
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    io.out(USAGE + '\n');
    return 0;
  }
  io.err(`${cmd ? `unknown command '${cmd}'\n` : ''}${USAGE}\n`);
  return 2;
}

function compile(args: string[], io: { out: (s: string) => void; err: (s: string) => void }): number {
  const files: string[] = [];
  let emit: string[] = [];
  let outDir = '.';
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
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
    for (const e of emit) outputs.push(...EMITTERS[e]!(c));
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

function check(args: string[], io: { out: (s: string) => void; err: (s: string) => void }): number {
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

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/isthmus')) {
  const code = main(process.argv.slice(2));
  if (typeof code === 'number') process.exitCode = code;
  else process.exit(await code);
}
