/**
 * Builds the guest of the VM boundary tests (docs/vm.md):
 *
 *   native/guest/build/isthmus_guest       gcc -static -O2, the C core + native/guest/isthmus_guest.c
 *   native/guest/build/initramfs.cpio.gz   cpio "newc", gzip: /init, /bin/busybox (static),
 *                                          /isthmus_guest, /golden/book_full.{bin,value.json},
 *                                          /dev/console, /proc, /sys
 *
 * The archive is written here byte by byte (no cpio binary, no root, no device nodes on
 * disk: /dev/console is an entry in the archive only). Everything lands under
 * native/guest/build/ (git-ignored). Rebuilt only when an input is newer than the output.
 *
 *   npx node test/vm/initramfs.ts          # prints the initramfs path
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

export const ROOT = resolve(import.meta.dirname, '../..');
export const GUEST_DIR = join(ROOT, 'native/guest');
export const BUILD_DIR = join(GUEST_DIR, 'build');
export const BUSYBOX = '/bin/busybox';

/** The C core files the guest links (all of native/src except the Unix-socket bootstrap, which a guest has no use for). */
function coreSources(): string[] {
  const src = join(ROOT, 'native/src');
  return readdirSync(src)
    .filter((f) => f.endsWith('.c') && f !== 'bootstrap.c')
    .map((f) => join(src, f));
}

const INIT = `#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/isthmus_guest
echo "ISTHMUS-GUEST-EXIT $?"
/bin/busybox poweroff -f
`;

function newer(out: string, inputs: string[]): boolean {
  if (!existsSync(out)) return false;
  const t = statSync(out).mtimeMs;
  return inputs.every((i) => statSync(i).mtimeMs <= t);
}

/** Compiles the static guest binary; returns its path. Throws with gcc's output on failure. */
export function buildGuestBinary(): string {
  mkdirSync(BUILD_DIR, { recursive: true });
  const out = join(BUILD_DIR, 'isthmus_guest');
  const main = join(GUEST_DIR, 'isthmus_guest.c');
  const headers = [
    ...readdirSync(join(ROOT, 'native/include/isthmus')).map((f) => join(ROOT, 'native/include/isthmus', f)),
    join(ROOT, 'schemas/generated/c/market.h'),
    join(ROOT, 'bindings/c/include/isthmus/layout.h'),
    join(ROOT, 'bindings/c/include/isthmus/json_encode.h'),
  ];
  const sources = [main, ...coreSources()];
  if (newer(out, [...sources, ...headers, import.meta.filename])) return out;
  const args = [
    '-static', '-O2', '-std=c11', '-Wall', '-Wextra',
    `-I${join(ROOT, 'native/include')}`, `-I${join(ROOT, 'schemas/generated/c')}`, `-I${join(ROOT, 'bindings/c/include')}`,
    '-o', out, ...sources,
  ];
  const r = spawnSync('gcc', args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`gcc ${args.join(' ')} failed (status ${r.status}): ${r.error?.message ?? ''}${r.stderr}`);
  return out;
}

interface Entry {
  name: string;
  mode: number; // type and permission bits
  data?: Uint8Array;
  rdevMajor?: number;
  rdevMinor?: number;
}

/** A cpio archive in the "newc" format (magic 070701, 110-byte ASCII-hex headers, 4-byte alignment). */
export function cpioNewc(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const pad4 = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const hex = (v: number) => v.toString(16).padStart(8, '0');
  const put = (e: Entry) => {
    const name = Buffer.from(e.name + '\0');
    const data = e.data ? Buffer.from(e.data) : Buffer.alloc(0);
    const fields = [ino++, e.mode, 0, 0, 1, 0, data.length, 0, 0, e.rdevMajor ?? 0, e.rdevMinor ?? 0, name.length, 0];
    const header = Buffer.from('070701' + fields.map(hex).join(''), 'ascii');
    parts.push(header, name, pad4(header.length + name.length), data, pad4(data.length));
  };
  for (const e of entries) put(e);
  put({ name: 'TRAILER!!!', mode: 0 });
  return Buffer.concat(parts);
}

const DIR = 0o040000;
const REG = 0o100000;
const CHR = 0o020000;

/** Builds the initramfs (and the guest binary); returns its path. */
export function buildInitramfs(): string {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: install the Debian package busybox-static`);
  const guest = buildGuestBinary();
  const out = join(BUILD_DIR, 'initramfs.cpio.gz');
  const goldenBin = join(ROOT, 'schemas/testdata/market/book_full.bin');
  const goldenJson = join(ROOT, 'schemas/testdata/market/book_full.json');
  if (newer(out, [guest, BUSYBOX, goldenBin, goldenJson, import.meta.filename])) return out;
  const value = JSON.stringify((JSON.parse(readFileSync(goldenJson, 'utf8')) as { value: unknown }).value);
  const archive = cpioNewc([
    { name: 'bin', mode: DIR | 0o755 },
    { name: 'bin/busybox', mode: REG | 0o755, data: readFileSync(BUSYBOX) },
    { name: 'dev', mode: DIR | 0o755 },
    { name: 'dev/console', mode: CHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
    { name: 'proc', mode: DIR | 0o755 },
    { name: 'sys', mode: DIR | 0o755 },
    { name: 'golden', mode: DIR | 0o755 },
    { name: 'golden/book_full.bin', mode: REG | 0o644, data: readFileSync(goldenBin) },
    { name: 'golden/book_full.value.json', mode: REG | 0o644, data: Buffer.from(value) },
    { name: 'isthmus_guest', mode: REG | 0o755, data: readFileSync(guest) },
    { name: 'init', mode: REG | 0o755, data: Buffer.from(INIT) },
  ]);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, gzipSync(archive, { level: 1 }));
  return out;
}

/** The golden files the guest reads (/golden in the initramfs), in a host directory; returns it. */
export function goldenDir(): string {
  const dir = join(BUILD_DIR, 'golden');
  mkdirSync(dir, { recursive: true });
  const goldenJson = join(ROOT, 'schemas/testdata/market/book_full.json');
  writeFileSync(join(dir, 'book_full.bin'), readFileSync(join(ROOT, 'schemas/testdata/market/book_full.bin')));
  writeFileSync(join(dir, 'book_full.value.json'), JSON.stringify((JSON.parse(readFileSync(goldenJson, 'utf8')) as { value: unknown }).value));
  return dir;
}

if (import.meta.filename === resolve(process.argv[1] ?? '')) {
  console.log(buildInitramfs());
}
