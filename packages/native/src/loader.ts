/**
 * Loads the addon on first use, from the first of these that exists:
 *   1. `ISTHMUS_NATIVE_ADDON=<path>` (only that file, when the variable is set);
 *   2. `<package>/build/isthmus.node`: a source build (scripts/build.mjs, the bin
 *      `isthmus-build-native`; in the repository, `npm ci` builds it);
 *   3. `<package>/prebuilds/<platform>-<arch>/isthmus.glibc.node`: the prebuilt binary the
 *      published package ships, taken only on glibc.
 * Before it asks the dynamic loader, it reads the file's ELF header: a file that is not an
 * ELF shared object, or one built for another machine, is refused with an error that says
 * so (dlopen of such a file can fail in ways that are hard to read, and a foreign binary
 * must never run). Importing @isthmus/native never throws: a load failure is caught once,
 * kept, and thrown by every function as an Error (code ISTHMUS_NATIVE_UNAVAILABLE) that
 * says what to do.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export type Outcome = 'ok' | 'not-equal' | 'timed-out';

/** A region as the addon returns it: the mapping (owned by `buffer`) and its fd. */
export interface RawRegion { buffer: SharedArrayBuffer; fd: number; size: number }

/** The addon's exports (native/addon/src/addon.cc). */
export interface Binding {
  createMemfd(name: string, size: number): RawRegion;
  createFile(path: string, size: number, mode?: number): RawRegion;
  openFile(path: string): RawRegion;
  createShm(name: string, size: number, mode?: number): RawRegion;
  openShm(name: string): RawRegion;
  openFd(fd: number): RawRegion;
  seals(fd: number): number;
  futexWait(buf: SharedArrayBuffer, byteOffset: number, expected: number, timeoutMs: number): Outcome;
  futexWaitAsync(buf: SharedArrayBuffer, byteOffset: number, expected: number, timeoutMs: number): Promise<Outcome>;
  futexWake(buf: SharedArrayBuffer, byteOffset: number, count?: number): number;
  procStartTime(pid: number): bigint | null;
  watch(buf: SharedArrayBuffer, byteOffset: number, callback: (value: number) => void): WatchHandle;
  unwatch(handle: WatchHandle): void;
  watchRef(handle: WatchHandle, ref: boolean): void;
}

/** An opaque native watch handle (a napi External). */
export type WatchHandle = { readonly __watch: unique symbol };

/** Environment variable naming the addon file to load instead of the built one. */
export const ADDON_PATH_ENV = 'ISTHMUS_NATIVE_ADDON';

let binding: Binding | null = null;
let failure: Error | null = null;

const PKG = new URL('../', import.meta.url);

/** The C library of this process: 'glibc', 'musl' or null (not Linux, or unknown). */
function libc(): 'glibc' | 'musl' | null {
  if (process.platform !== 'linux') return null;
  const report = process.report as unknown as { excludeNetwork: boolean; getReport(): { header?: { glibcVersionRuntime?: string }; sharedObjects?: string[] } };
  report.excludeNetwork = true;
  const r = report.getReport();
  if (r.header?.glibcVersionRuntime) return 'glibc';
  return r.sharedObjects?.some((o) => o.includes('libc.musl') || o.includes('ld-musl')) ? 'musl' : null;
}

/** The prebuilt binary for this platform, architecture and C library. */
export function prebuiltPath(): string {
  return fileURLToPath(new URL(`prebuilds/${process.platform}-${process.arch}/isthmus.${libc() ?? 'unknown'}.node`, PKG));
}

/** The source build's output. */
export function builtPath(): string {
  return fileURLToPath(new URL('build/isthmus.node', PKG));
}

/** The path the loader loads the addon from (the first candidate that exists, else the source build's). */
export function addonPath(): string {
  const override = process.env[ADDON_PATH_ENV];
  if (override !== undefined && override !== '') return override;
  const built = builtPath();
  if (existsSync(built)) return built;
  const prebuilt = prebuiltPath();
  return existsSync(prebuilt) ? prebuilt : built;
}

/** e_machine of the architectures Node runs on (ELF gABI). */
const MACHINES: Record<number, string> = { 3: 'ia32', 8: 'mips', 20: 'ppc', 21: 'ppc64', 22: 's390x', 40: 'arm', 62: 'x64', 183: 'arm64', 243: 'riscv64', 258: 'loong64' };

/**
 * Why the file at `path` cannot be this process's addon, or null when it looks right:
 *   - its SHA-256 must match `<path>.sha256` when that file exists (scripts/build.mjs and
 *     scripts/pack.mjs write one beside every addon they make), so a damaged copy is
 *     refused whatever the damage is;
 *   - its ELF header must say: shared object, this process's word size and byte order, this
 *     machine; and every program header's bytes and the section table must lie inside the
 *     file (the dynamic loader maps segments past the end of a truncated file, and touching
 *     them is a SIGBUS that kills the host).
 */
export function elfMismatch(path: string): string | null {
  const file = readFileSync(path);
  const sumFile = `${path}.sha256`;
  if (existsSync(sumFile)) {
    const want = readFileSync(sumFile, 'utf8').trim().split(/\s+/)[0]!.toLowerCase();
    const got = createHash('sha256').update(file).digest('hex');
    if (want !== got) return `its SHA-256 is ${got}, but ${sumFile} says ${want} (the file is damaged or was replaced)`;
  }
  const h = file;
  if (h.length < 64 || h.readUInt32BE(0) !== 0x7f454c46) return `it is not an ELF shared object (it starts with ${JSON.stringify(h.subarray(0, 8).toString('latin1'))})`;
  const bits = h[4] === 2 ? 64 : h[4] === 1 ? 32 : 0;
  const le = h[5] === 1;
  const u16 = (o: number) => (le ? h.readUInt16LE(o) : h.readUInt16BE(o));
  const u64 = (o: number) => Number(le ? h.readBigUInt64LE(o) : h.readBigUInt64BE(o));
  const machine = u16(18);
  const arch = MACHINES[machine] ?? `e_machine ${machine}`;
  if (arch !== process.arch) return `it was built for ${arch} (${bits}-bit ${le ? 'little' : 'big'}-endian), but this Node is ${process.platform}-${process.arch}`;
  if (u16(16) !== 3) return `it is an ELF file of type ${u16(16)}, not a shared object (type 3)`;
  if (bits !== 64) return `it is a ${bits}-bit ELF file, but this Node is 64-bit`;
  // ELF64: e_phoff @32, e_shoff @40, e_phentsize @54, e_phnum @56, e_shentsize @58, e_shnum @60;
  // a program header: p_offset @8, p_filesz @32.
  const size = h.length;
  const phoff = u64(32), phentsize = u16(54), phnum = u16(56);
  const shoff = u64(40), shentsize = u16(58), shnum = u16(60);
  const short = (what: string, end: number) => `it is truncated or damaged: ${what} ends at byte ${end}, but the file has ${size}`;
  if (phentsize < 56 || phoff + phnum * phentsize > size) return short('the program header table', phoff + phnum * phentsize);
  if (shoff + shnum * shentsize > size) return short('the section header table', shoff + shnum * shentsize);
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    const end = u64(p + 8) + u64(p + 32);
    if (end > size) return short(`segment ${i}`, end);
  }
  return null;
}

function explain(path: string, cause: unknown, refused: string | null): Error {
  const fix = 'Build the addon from source with `npx isthmus-build-native` (it needs CMake and a C/C++ ' +
    'compiler: on Debian/Ubuntu `apt-get install cmake g++ make`; the sources ship in the package), ' +
    'or reinstall @isthmus/native.';
  const why = refused !== null
    ? `the native addon ${path} cannot be loaded: ${refused}.`
    : existsSync(path)
      ? `the native addon ${path} failed to load (${cause instanceof Error ? cause.message : String(cause)}).`
      : process.env[ADDON_PATH_ENV]
        ? `the native addon ${path} does not exist.`
        : `no native addon for ${process.platform}-${process.arch}${libc() ? ` (${libc()})` : ''}: neither the prebuilt ${prebuiltPath()} nor a source build ${path} exists.`;
  const override = process.env[ADDON_PATH_ENV] ? ` (${ADDON_PATH_ENV} is set)` : '';
  const err = new Error(`@isthmus/native: ${why}${override} ${fix}`, { cause });
  (err as Error & { code: string }).code = 'ISTHMUS_NATIVE_UNAVAILABLE';
  return err;
}

/** The addon's exports; throws the (kept) load error when it cannot be loaded. */
export function native(): Binding {
  if (binding !== null) return binding;
  if (failure !== null) throw failure;
  const path = addonPath();
  let refused: string | null = null;
  try {
    if (!existsSync(path)) throw new Error(`${path} does not exist`);
    refused = elfMismatch(path);
    if (refused !== null) throw new Error(refused);
    binding = createRequire(import.meta.url)(path) as Binding;
    return binding;
  } catch (e) {
    failure = explain(path, e, refused);
    throw failure;
  }
}

/** Whether the addon loads. */
export function available(): boolean {
  return loadError() === null;
}

/** The error that loading the addon gave, or null when it loads. */
export function loadError(): Error | null {
  try {
    native();
    return null;
  } catch (e) {
    return e as Error;
  }
}
