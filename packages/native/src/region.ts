/**
 * Shared-memory regions exposed to JavaScript as SharedArrayBuffers over the mapping.
 *
 * Lifetime: the SharedArrayBuffer owns the mapping. It is unmapped when V8 collects the
 * last SharedArrayBuffer that refers to it (also ones posted to workers), never before,
 * so JS never holds a buffer over unmapped memory. `close()` closes the fd only (other
 * processes can no longer receive it from this one, and an fd is not leaked); to release
 * the memory, drop every reference to `buffer`.
 *
 * Atomics on `buffer` are real CPU atomics on the shared pages: another process mapping
 * the same object sees them. `Atomics.wait`/`notify` are process-local; use futexWait /
 * futexWaitAsync / futexWake for cross-process waits.
 */
import { closeSync } from 'node:fs';
import { native, type RawRegion } from './loader.js';

export type RegionKind = 'memfd' | 'file' | 'shm' | 'fd';

export interface Region {
  /** The mapping (MAP_SHARED, read/write), `size` bytes. */
  readonly buffer: SharedArrayBuffer;
  readonly size: number;
  /** The region's fd (O_CLOEXEC), to pass to another process (SCM_RIGHTS); -1 after close(). */
  readonly fd: number;
  /** The file path or shm name; null for memfd and fd regions. */
  readonly path: string | null;
  readonly kind: RegionKind;
  /** Closes the fd; idempotent. The mapping is released with the buffer (see above). */
  close(): void;
}

class NativeRegion implements Region {
  readonly buffer: SharedArrayBuffer;
  readonly size: number;
  readonly path: string | null;
  readonly kind: RegionKind;
  #fd: number;

  constructor(raw: RawRegion, kind: RegionKind, path: string | null) {
    this.buffer = raw.buffer;
    this.size = raw.size;
    this.kind = kind;
    this.path = path;
    this.#fd = raw.fd;
  }

  get fd(): number {
    return this.#fd;
  }

  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    closeSync(fd);
  }
}

/** An anonymous memfd sealed against shrinking, growing and further sealing. */
export function createMemfd(name: string, size: number): Region {
  return new NativeRegion(native().createMemfd(name, size), 'memfd', null);
}

/** Creates `path` (O_EXCL: fails with code 'EEXIST' if it exists), mode 0600 by default. */
export function createFile(path: string, size: number, mode?: number): Region {
  return new NativeRegion(native().createFile(path, size, mode), 'file', path);
}

/** Maps an existing file, all of it (the size comes from fstat). */
export function openFile(path: string): Region {
  return new NativeRegion(native().openFile(path), 'file', path);
}

/** Creates a POSIX shm object (`/name`, O_EXCL), mode 0600 by default. */
export function createShm(name: string, size: number, mode?: number): Region {
  return new NativeRegion(native().createShm(name, size, mode), 'shm', name);
}

/** Maps an existing POSIX shm object, all of it. */
export function openShm(name: string): Region {
  return new NativeRegion(native().openShm(name), 'shm', name);
}

/** Maps an fd received from elsewhere. The region holds a dup; the caller keeps (and closes) `fd`. */
export function openFd(fd: number): Region {
  return new NativeRegion(native().openFd(fd), 'fd', null);
}

// fcntl.h: F_SEAL_SEAL 1, F_SEAL_SHRINK 2, F_SEAL_GROW 4, F_SEAL_WRITE 8.
/** The seals (F_GET_SEALS) of a region's fd; an Error with code 'EINVAL' if the fd cannot carry seals. */
export function seals(region: Region): { shrink: boolean; grow: boolean; seal: boolean; write: boolean } {
  if (region.fd < 0) throw new Error('seals: region is closed');
  const s = native().seals(region.fd);
  return { shrink: (s & 2) !== 0, grow: (s & 4) !== 0, seal: (s & 1) !== 0, write: (s & 8) !== 0 };
}
