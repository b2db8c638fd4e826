/**
 * Transports: where regions live and how waiters are woken. The channel layer never
 * assumes one; it asks its Transport for a region by name and for a Notifier.
 *
 * A region handed out by a transport is `byteLength` bytes at `byteOffset` inside
 * `buffer` (a SharedArrayBuffer). For `shm` every region has its own buffer and
 * byteOffset 0; for `inproc` all regions are slices of one arena buffer. The ring code
 * addresses the region only through (buffer, byteOffset), so both look the same to it.
 */
import type { Notifier } from './ring/index.js';

export interface Region {
  /** The name it was created or opened under. */
  readonly name: string;
  readonly buffer: SharedArrayBuffer;
  /** Start of the region in `buffer`; a multiple of 4096. */
  readonly byteOffset: number;
  readonly byteLength: number;
  /** Drops this process's handle (the bytes stay mapped while `buffer` is reachable). */
  close(): void;
}

export interface Transport {
  /** `'shm'`, `'inproc'`, … */
  readonly kind: string;
  /** Where names live, for messages (`/dev/shm/isthmus-1000`, `inproc arena`). */
  readonly where: string;
  readonly notifier: Notifier;
  /**
   * Creates a zeroed region of `size` bytes called `name`, runs `init` on it (the caller
   * formats the ring header and joins it), and only then makes the name visible to
   * `open` and `list`. So an opener never sees a region that is not initialised.
   * Returns null, without calling `init`, when the name already exists.
   * If `init` throws, nothing is published and the error propagates.
   */
  create(name: string, size: number, init: (region: Region) => void): Region | null;
  /** Opens an existing region; null when there is none of that name. */
  open(name: string): Region | null;
  /** Every published region name. */
  list(): string[];
  /**
   * Unpublishes `name`. With `expect`, only if the name still refers to that very region
   * (so a stale-entry sweep never removes a newer region created under the same name).
   * Processes that have the region open keep their mapping. Returns whether it removed it.
   */
  remove(name: string, expect?: Region): boolean;
  /** Releases transport resources (not the regions). */
  close(): void;
}

/**
 * Where the regions of `channel` live, for messages: `whereFor(channel)` of a transport
 * that routes channels to different places (transports/routed.ts), else `where`.
 */
export function whereFor(t: Transport, channel: string): string {
  const f = (t as { whereFor?: (channel: string) => string }).whereFor;
  return typeof f === 'function' ? f.call(t, channel) : t.where;
}

/** Channel names: a letter or digit, then letters, digits, `.`, `_`, `-` (at most 100). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function checkName(name: string): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new TypeError(`invalid channel name ${JSON.stringify(name)}: use 1–100 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
}

/**
 * Region names derived from a channel name. `~` never occurs in channel names, so the
 * derived names of one channel cannot collide with another channel's.
 *
 *   <name>~pub          broadcast ring of a publish/subscribe channel
 *   <name>~req          MPSC request ring of a service
 *   <name>~res~<slot>   SPSC response ring of the client holding <slot> in the request ring
 *   <name>~q~<k>        MPSC ring of queue worker k
 *   <name>~dead         MPSC dead-letter ring of any channel
 */
export const regionNames = {
  pub: (n: string) => `${n}~pub`,
  req: (n: string) => `${n}~req`,
  res: (n: string, slot: number) => `${n}~res~${slot}`,
  queue: (n: string, k: number) => `${n}~q~${k}`,
  queuePrefix: (n: string) => `${n}~q~`,
  dead: (n: string) => `${n}~dead`,
};

/** Splits a region name back into (channel, role suffix). */
export function parseRegionName(region: string): { channel: string; kind: 'pub' | 'req' | 'res' | 'queue' | 'dead' | 'other'; index?: number } {
  const parts = region.split('~');
  const channel = parts[0]!;
  switch (parts[1]) {
    case 'pub':
      return { channel, kind: 'pub' };
    case 'req':
      return { channel, kind: 'req' };
    case 'res':
      return { channel, kind: 'res', index: Number(parts[2]) };
    case 'q':
      return { channel, kind: 'queue', index: Number(parts[2]) };
    case 'dead':
      return { channel, kind: 'dead' };
    default:
      return { channel, kind: 'other' };
  }
}
