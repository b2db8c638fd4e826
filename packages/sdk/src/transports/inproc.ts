/**
 * The in-process transport: every region is a slice of one SharedArrayBuffer "arena".
 * Post `transport.arena` to a worker_thread (workerData or postMessage) and attach it
 * there with `inproc({ arena })`: both threads then see the same names and regions.
 * Waiting uses Atomics.wait / Atomics.waitAsync / Atomics.notify (inProcessNotifier).
 *
 * The arena has the layout of docs/ring.md §9 (a directory of named regions at its
 * start, bump allocation, a spin lock), implemented once in ./arena.ts and shared with
 * the VM transport, which puts the same layout in a file a VM guest maps.
 * Regions are bump-allocated: the space of a removed region is not reused (threads may
 * still hold it), so an arena fits a bounded number of creates; size it accordingly.
 *
 * `defaultArena()` is the per-process arena behind the `inproc:` transport URL
 * (docs/config.md): threads find it through worker_threads environment data instead of
 * having it posted.
 */
import { getEnvironmentData, setEnvironmentData } from 'node:worker_threads';
import { IsthmusError } from '../errors.js';
import { inProcessNotifier, type Notifier } from '../ring/index.js';
import type { Region, Transport } from '../transport.js';
import { ArenaDirectory, arenaDataOffset } from './arena.js';

const ENTRIES = 512;

export interface InprocOptions {
  /** Attach to an arena created elsewhere (another worker posted `transport.arena`). */
  arena?: SharedArrayBuffer;
  /** Arena size for a new arena, in bytes (default 64 MiB). */
  size?: number;
}

export class InprocTransport implements Transport {
  readonly kind = 'inproc';
  readonly where = 'the in-process arena';
  readonly notifier: Notifier = inProcessNotifier;
  /** The arena: post it to a worker_thread and attach there with `inproc({ arena })`. */
  readonly arena: SharedArrayBuffer;
  private readonly dir: ArenaDirectory;

  constructor(opts: InprocOptions = {}) {
    if (opts.arena) {
      this.arena = opts.arena;
      try {
        this.dir = new ArenaDirectory(this.arena, 'inproc');
      } catch (err) {
        throw new IsthmusError('TRANSPORT', `inproc: the SharedArrayBuffer given as arena is not an Isthmus arena (${(err as Error).message})`, undefined, { cause: err });
      }
    } else {
      const size = Math.ceil((opts.size ?? 64 << 20) / 4096) * 4096;
      const min = arenaDataOffset(ENTRIES) + 8192;
      if (size < min) throw new RangeError(`inproc: arena size ${size} is too small (at least ${min})`);
      this.arena = new SharedArrayBuffer(size);
      ArenaDirectory.format(this.arena, ENTRIES);
      this.dir = new ArenaDirectory(this.arena, 'inproc');
    }
  }

  create(name: string, size: number, init: (region: Region) => void): Region | null {
    return this.dir.create(name, size, init);
  }

  open(name: string): Region | null {
    return this.dir.open(name);
  }

  list(): string[] {
    return this.dir.list();
  }

  remove(name: string, expect?: Region): boolean {
    return this.dir.remove(name, expect);
  }

  close(): void {}
}

/** An in-process transport (threads of one process). */
export function inproc(opts: InprocOptions = {}): InprocTransport {
  return new InprocTransport(opts);
}

/** The worker_threads environment-data key under which the default arena is published. */
export const DEFAULT_ARENA_KEY = 'isthmus.inproc.defaultArena';
/** Size of the default arena (the `inproc:` transport URL). */
export const DEFAULT_ARENA_SIZE = 64 << 20;

let defaultArenaBuf: SharedArrayBuffer | undefined;

/**
 * The process's default in-process arena (what `inproc:` attaches to, docs/config.md).
 *
 * The first call in a thread looks for the arena its parent published
 * (`worker_threads.getEnvironmentData(DEFAULT_ARENA_KEY)`); when there is none it creates
 * a fresh 64 MiB arena and publishes it with `setEnvironmentData`, so that the workers this
 * thread starts **afterwards** inherit it. Environment data only reaches workers started
 * after it was set: call `defaultArena()` (or `isthmus.node()` resolving `inproc:`) in the
 * main thread before starting the workers that must share it. A worker that finds no
 * inherited arena gets one of its own, which its siblings do not see.
 */
export function defaultArena(): SharedArrayBuffer {
  if (defaultArenaBuf) return defaultArenaBuf;
  const inherited = getEnvironmentData(DEFAULT_ARENA_KEY);
  if (inherited instanceof SharedArrayBuffer) return (defaultArenaBuf = inherited);
  const t = new InprocTransport({ size: DEFAULT_ARENA_SIZE });
  setEnvironmentData(DEFAULT_ARENA_KEY, t.arena);
  return (defaultArenaBuf = t.arena);
}
