/**
 * Watching a futex word from an event loop without a thread per wait.
 *
 * One helper thread per process sleeps on every watched word at once (futex_waitv) and,
 * when a word changes, signals an eventfd that libuv polls on the loop of the thread that
 * called watch(); the callback then runs there with the word's new value. Each pending
 * futexWaitAsync parks a thread of its own; all watches of a process share one.
 *
 * Contract (see native/addon/src/watch.cc):
 * - `callback(value)` runs after the u32 at `byteOffset` changed from the value the
 *   previous callback got (at first: its value when watch() was called). Changes between
 *   two loop turns coalesce into one callback with the newest value; a change undone
 *   before the helper looks (A → B → A) is not seen, so watch counters (words that only
 *   move forward), like the ring's `data_futex` / `space_futex` (docs/ring.md §3).
 * - The writer changes the word, then calls futexWake on it (from any process).
 * - Data published before the word's change (release / seq_cst store) is visible in the
 *   callback (the helper loads the word with acquire).
 * - A watch keeps its buffer alive and keeps the event loop alive until close(), unless
 *   unref()'d. An exception thrown by the callback is an uncaught exception.
 * - Linux >= 5.16 (futex_waitv); otherwise watch() throws an Error with code 'ENOSYS'.
 *   At most 127 words per process (RangeError beyond).
 */
import { native, type WatchHandle } from './loader.js';

export interface Watch {
  /** Stops the callbacks and releases the buffer; idempotent. */
  close(): void;
  /** Keeps the event loop alive while the watch is open (the default). */
  ref(): this;
  /** Lets the event loop exit while the watch is open. */
  unref(): this;
}

class NativeWatch implements Watch {
  #handle: WatchHandle | null;

  constructor(handle: WatchHandle) {
    this.#handle = handle;
  }

  close(): void {
    if (this.#handle === null) return;
    native().unwatch(this.#handle);
    this.#handle = null;
  }

  ref(): this {
    if (this.#handle !== null) native().watchRef(this.#handle, true);
    return this;
  }

  unref(): this {
    if (this.#handle !== null) native().watchRef(this.#handle, false);
    return this;
  }
}

/** Calls `callback(value)` on this thread's event loop each time the u32 word at `byteOffset` changes. */
export function watch(buf: SharedArrayBuffer, byteOffset: number, callback: (value: number) => void): Watch {
  return new NativeWatch(native().watch(buf, byteOffset, callback));
}
