/**
 * The shared-memory transport (default): one file per region in a runtime directory,
 * mapped by `@isthmus/native` as a SharedArrayBuffer; waiting uses shared futexes.
 *
 * Directory: the `root` option, else `$XDG_RUNTIME_DIR/isthmus`, else
 * `/dev/shm/isthmus-<uid>`; created with mode 0700, region files with 0600, so only the
 * same user can open them.
 *
 * Publishing a region is atomic: the creator builds it under a temporary name
 * (`.<name>.<pid>.<n>.tmp`), formats and joins the ring, then `link()`s it to `<name>`
 * (link fails with EEXIST instead of replacing, which is what makes create exclusive),
 * then unlinks the temporary name. An opener therefore never sees a half-made region.
 */
import { existsSync, fstatSync, linkSync, mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { IsthmusError } from '../errors.js';
import { loadNative, type NativeApi, type NativeRegion } from '../native.js';
import type { Notifier } from '../ring/index.js';
import type { Region, Transport } from '../transport.js';

export interface ShmOptions {
  /** Runtime directory for region files (default: see above). */
  root?: string;
}

export function defaultRoot(): string {
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg && existsSync(xdg)) return join(xdg, 'isthmus');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return join('/dev/shm', `isthmus-${uid}`);
}

interface ShmRegion extends Region {
  /** (dev, ino) of the file, to tell a region from a newer one of the same name. */
  readonly ino: number;
  readonly dev: number;
}

let tmpCounter = 0;

export class ShmTransport implements Transport {
  readonly kind = 'shm';
  readonly where: string;
  readonly notifier: Notifier;
  readonly root: string;
  private readonly native: NativeApi;

  constructor(native: NativeApi, root: string) {
    this.native = native;
    this.root = root;
    this.where = root;
    mkdirSync(root, { recursive: true, mode: 0o700 });
    this.notifier = {
      wait: (buf, off, expected, timeoutMs) => native.futexWait(buf, off, expected, timeoutMs),
      waitAsync: (buf, off, expected, timeoutMs) => native.futexWaitAsync(buf, off, expected, timeoutMs),
      wake: (buf, off, count) => native.futexWake(buf, off, count),
    };
  }

  private path(name: string): string {
    return join(this.root, name);
  }

  private wrap(name: string, r: NativeRegion): ShmRegion {
    let ino = 0;
    let dev = 0;
    if (r.fd >= 0) {
      const st = fstatSync(r.fd);
      ino = st.ino;
      dev = st.dev;
    } else if (r.path) {
      const st = statSync(r.path);
      ino = st.ino;
      dev = st.dev;
    }
    return {
      name,
      buffer: r.buffer,
      byteOffset: 0,
      byteLength: r.size,
      ino,
      dev,
      close: () => r.close(),
    };
  }

  create(name: string, size: number, init: (region: Region) => void): Region | null {
    const final = this.path(name);
    if (existsSync(final)) return null;
    const tmp = this.path(`.${name}.${process.pid}.${tmpCounter++}.tmp`);
    let nr: NativeRegion;
    try {
      nr = this.native.createFile(tmp, size, 0o600);
    } catch (err) {
      throw new IsthmusError('TRANSPORT', `shm: cannot create ${tmp} (${size} bytes): ${(err as Error).message}`, name, { cause: err });
    }
    const region = this.wrap(name, nr);
    try {
      init(region);
      try {
        linkSync(tmp, final);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          region.close();
          return null;
        }
        throw err;
      }
    } catch (err) {
      region.close();
      throw err;
    } finally {
      try {
        unlinkSync(tmp);
      } catch {
        /* already gone */
      }
    }
    return region;
  }

  open(name: string): Region | null {
    const p = this.path(name);
    let nr: NativeRegion;
    try {
      nr = this.native.openFile(p);
    } catch (err) {
      // Not there (yet): the caller waits and retries. Decided by the open's own error, not
      // by a second look: a creator may link the file in between (it would then be found).
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || !existsSync(p)) return null;
      throw new IsthmusError('TRANSPORT', `shm: cannot open ${p}: ${(err as Error).message}`, name, { cause: err });
    }
    return this.wrap(name, nr);
  }

  list(): string[] {
    try {
      return readdirSync(this.root).filter((f) => !f.startsWith('.'));
    } catch {
      return [];
    }
  }

  remove(name: string, expect?: Region): boolean {
    const p = this.path(name);
    try {
      if (expect) {
        const e = expect as ShmRegion;
        const st = statSync(p);
        if (e.ino !== undefined && (st.ino !== e.ino || st.dev !== e.dev)) return false;
      }
      unlinkSync(p);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Removes temporary files left by creators that died between create and publish.
   * Their pid is part of the name; a file whose pid is gone is removed.
   */
  sweepTemporaries(): number {
    let n = 0;
    for (const f of readdirSync(this.root)) {
      const m = /^\..*\.(\d+)\.\d+\.tmp$/.exec(f);
      if (!m) continue;
      const pid = Number(m[1]);
      if (pid === process.pid || existsSync(`/proc/${pid}`)) continue;
      try {
        unlinkSync(this.path(f));
        n++;
      } catch {
        /* raced with another sweeper */
      }
    }
    return n;
  }

  close(): void {}
}

/** The shared-memory transport (loads the addon). */
export async function shm(opts: ShmOptions = {}): Promise<ShmTransport> {
  const native = await loadNative();
  return new ShmTransport(native, opts.root ?? defaultRoot());
}
