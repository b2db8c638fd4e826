/**
 * Loads the compiled addon (packages/native/build/isthmus.node, built by
 * scripts/build-native.mjs) on first use. Importing @isthmus/native never throws: a load
 * failure is caught once, kept, and thrown by every function as an Error that says what to
 * do. `ISTHMUS_NATIVE_ADDON=<path>` loads the addon from another path instead.
 */
import { existsSync } from 'node:fs';
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

/** The path the loader loads the addon from. */
export function addonPath(): string {
  const override = process.env[ADDON_PATH_ENV];
  if (override !== undefined && override !== '') return override;
  return fileURLToPath(new URL('../build/isthmus.node', import.meta.url));
}

function explain(path: string, cause: unknown): Error {
  const fix = 'Build it with `npm run build:native` (or `node scripts/build-native.mjs` at the repository root; ' +
    'it needs CMake and a C/C++ compiler, e.g. `apt-get install cmake g++ make`), or reinstall with `npm ci`.';
  const why = existsSync(path)
    ? `the native addon ${path} failed to load (${cause instanceof Error ? cause.message : String(cause)}).`
    : `the native addon is not built: ${path} does not exist.`;
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
  try {
    binding = createRequire(import.meta.url)(path) as Binding;
    return binding;
  } catch (e) {
    failure = explain(path, e);
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
