/**
 * Loads `@isthmus/native` (regions as SharedArrayBuffers, shared futexes) on first use,
 * so that the in-process transport works without the addon.
 */
import { IsthmusError } from './errors.js';

/** The part of `@isthmus/native` the SDK uses. */
export interface NativeRegion {
  readonly buffer: SharedArrayBuffer;
  readonly size: number;
  readonly fd: number;
  readonly path: string | null;
  close(): void;
}
export interface NativeApi {
  createFile(path: string, size: number, mode?: number): NativeRegion;
  openFile(path: string): NativeRegion;
  futexWait(buf: SharedArrayBuffer, byteOffset: number, expected: number, timeoutMs: number): 'ok' | 'not-equal' | 'timed-out';
  futexWaitAsync(buf: SharedArrayBuffer, byteOffset: number, expected: number, timeoutMs: number): Promise<'ok' | 'not-equal' | 'timed-out'>;
  futexWake(buf: SharedArrayBuffer, byteOffset: number, count?: number): number;
  available(): boolean;
  loadError(): Error | null;
}

let loaded: NativeApi | undefined;

/** The addon, or an IsthmusError saying why it can not be used. */
export async function loadNative(): Promise<NativeApi> {
  if (loaded) return loaded;
  const spec = '@isthmus/native';
  let mod: NativeApi;
  try {
    mod = (await import(spec)) as NativeApi;
  } catch (err) {
    throw new IsthmusError('TRANSPORT', `the shm transport needs @isthmus/native, which failed to load: ${(err as Error).message}`, undefined, { cause: err });
  }
  if (typeof mod.available === 'function' && !mod.available()) {
    const why = mod.loadError?.();
    throw new IsthmusError('TRANSPORT', `@isthmus/native is installed but its addon is not available: ${why?.message ?? 'unknown reason'}`, undefined, { cause: why });
  }
  loaded = mod;
  return mod;
}
