/**
 * Notification backends (docs/ring.md §3). A Notifier parks on and wakes a u32 futex word
 * at `byteOffset` in `buf` (a multiple of 4). `inProcessNotifier` uses Atomics.wait /
 * waitAsync / notify, which only reach threads of this process; cross-process rings need
 * a shared-futex notifier (the native addon's futexWait/futexWaitAsync/futexWake).
 */

export type WaitOutcome = 'ok' | 'not-equal' | 'timed-out';

export interface Notifier {
  wait(buf: SharedArrayBuffer, byteOffset: number, expected: number, timeoutMs: number): WaitOutcome;
  waitAsync(buf: SharedArrayBuffer, byteOffset: number, expected: number, timeoutMs: number): Promise<WaitOutcome>;
  wake(buf: SharedArrayBuffer, byteOffset: number, count: number): number;
}

const views = new WeakMap<SharedArrayBuffer, Int32Array>();
/** The Int32Array over all of `buf` (one per buffer, cached): what Atomics.wait/notify take. */
export function int32View(buf: SharedArrayBuffer): Int32Array {
  let v = views.get(buf);
  if (v === undefined) {
    v = new Int32Array(buf, 0, buf.byteLength >>> 2);
    views.set(buf, v);
  }
  return v;
}

/** Atomics.waitAsync (ES2024; the repository's lib setting is ES2023). */
export const atomicsWaitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, i: number, v: number, t: number): { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
}).waitAsync;

export const inProcessNotifier: Notifier = {
  wait(buf, byteOffset, expected, timeoutMs) {
    return Atomics.wait(int32View(buf), byteOffset >>> 2, expected | 0, timeoutMs);
  },
  waitAsync(buf, byteOffset, expected, timeoutMs) {
    const r = atomicsWaitAsync(int32View(buf), byteOffset >>> 2, expected | 0, timeoutMs);
    return r.async ? r.value : Promise.resolve(r.value);
  },
  wake(buf, byteOffset, count) {
    return Atomics.notify(int32View(buf), byteOffset >>> 2, count);
  },
};
