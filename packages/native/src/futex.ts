/**
 * Cross-process futex waits on a u32 in a SharedArrayBuffer (a shared futex: works across
 * processes mapping the same region; docs/ring.md §3).
 *
 * Arguments, checked on every call: `buf` a SharedArrayBuffer; `byteOffset` an integer,
 * a multiple of 4, with `byteOffset + 4 <= buf.byteLength` (RangeError otherwise);
 * `expected` an integer in [-2^31, 2^32) (the Int32Array or the Uint32Array reading of the
 * word); `timeoutMs` a finite number >= 0 (TypeError for negative, NaN or Infinity: every
 * wait ends). Waits return 'ok' when woken (spurious wake-ups are possible: re-check the
 * condition), 'not-equal' when the word was not `expected`, 'timed-out' at the timeout.
 */
import { native, type Outcome } from './loader.js';

export type { Outcome } from './loader.js';

/**
 * Blocks the calling thread. Meant for dedicated worker threads; on the main thread it
 * stops the event loop for up to `timeoutMs`.
 */
export function futexWait(buf: SharedArrayBuffer, byteOffset: number, expected: number, timeoutMs: number): Outcome {
  return native().futexWait(buf, byteOffset, expected, timeoutMs);
}

/**
 * Waits on a dedicated native waiter thread (not the libuv pool) and settles the Promise
 * on this thread's event loop, which keeps running meanwhile. A pending wait keeps the
 * process alive, like a timer, until it settles. Invalid arguments throw synchronously
 * (as Atomics.waitAsync does).
 */
export function futexWaitAsync(buf: SharedArrayBuffer, byteOffset: number, expected: number, timeoutMs: number): Promise<Outcome> {
  return native().futexWaitAsync(buf, byteOffset, expected, timeoutMs);
}

/** Wakes up to `count` waiters (default: all) in any process; returns how many woke. */
export function futexWake(buf: SharedArrayBuffer, byteOffset: number, count?: number): number {
  return native().futexWake(buf, byteOffset, count);
}
