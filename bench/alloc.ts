/**
 * Bytes allocated per operation on the JS heap, measured in a child process: the proof
 * that a hot path allocates nothing.
 *
 * Method: the parent relaunches the benchmark file with `--expose-gc
 * --min-semi-space-size=128 --max-semi-space-size=128` (MB) and an `--alloc-child` flag.
 * The child warms each case up (so the measured code is the optimized code, escape
 * analysis included), then per case: gc() twice, read process.memoryUsage().heapUsed, run
 * N ops, read heapUsed again. With a 128 MB young generation no scavenge runs inside the
 * window, so the difference is every byte the N ops allocated on the JS heap; a
 * PerformanceObserver on 'gc' entries checks that no GC did run inside any window (else
 * that case is re-measured with N/4, up to 3 times, and reported as null when no clean
 * window remains). N is chosen so the window allocates at most ~48 MB (16 MB with quick).
 * The window's fixed cost (the memoryUsage() call itself) is measured on an empty loop and
 * subtracted; the minimum of 3 repetitions (2 with quick) is reported.
 * Not counted: off-heap memory (ArrayBuffer backing stores).
 * Why not a counter: Node 24's v8.getHeapStatistics() has no total_allocated_bytes, and
 * --trace-gc output only shows sizes at GC time; a young generation large enough that no
 * GC runs in the window makes heapUsed an exact counter.
 */
import { spawnSync } from 'node:child_process';

export interface AllocCase {
  readonly id: string;
  /** Runs the operation n times. */
  loop(n: number): void;
}

export const ALLOC_CHILD_FLAG = '--alloc-child';

let sink = 0;

/** In the child: bytes per op of every case (null: no GC-free window). */
export async function allocPerOp(cases: readonly AllocCase[], quick: boolean): Promise<Record<string, number | null>> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('allocPerOp needs --expose-gc (run it through measureAllocations())');
  const gcTimes: number[] = [];
  const obs = new PerformanceObserver((l) => { for (const e of l.getEntries()) gcTimes.push(e.startTime); });
  obs.observe({ entryTypes: ['gc'] });
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50)); // PerformanceObserver delivers later
  const warmMs = quick ? 40 : 150;
  const reps = quick ? 2 : 3;
  const budget = quick ? 16e6 : 48e6; // bytes a window may allocate
  const maxN = quick ? 50_000 : 200_000;
  const window = (loop: (n: number) => void, n: number): { bytes: number; t0: number; t1: number } => {
    gc();
    gc();
    const t0 = performance.now();
    const h0 = process.memoryUsage().heapUsed;
    loop(n);
    const h1 = process.memoryUsage().heapUsed;
    return { bytes: h1 - h0, t0, t1: performance.now() };
  };
  const empty = (n: number): void => { for (let i = 0; i < n; i++) sink = i; };
  const clean = (w: { t0: number; t1: number }): boolean => !gcTimes.some((t) => t >= w.t0 && t <= w.t1);
  const result: Record<string, number | null> = {};
  for (const c of cases) {
    const t = performance.now();
    while (performance.now() - t < warmMs) c.loop(1000);
    const probe = Math.max(0, window(c.loop, 1000).bytes) / 1000;
    let n = Math.max(1000, Math.min(maxN, Math.floor(budget / Math.max(probe, 1))));
    result[c.id] = null;
    for (let attempt = 0; attempt < 3 && result[c.id] === null; attempt++, n = Math.max(100, n >> 2)) {
      const got: { base: ReturnType<typeof window>; w: ReturnType<typeof window> }[] = [];
      for (let r = 0; r < reps; r++) got.push({ base: window(empty, n), w: window(c.loop, n) });
      await settle();
      const ok = got.filter((g) => clean(g.base) && clean(g.w)).map((g) => (g.w.bytes - Math.max(0, g.base.bytes)) / n);
      if (ok.length) result[c.id] = Math.max(0, Math.min(...ok));
    }
  }
  obs.disconnect();
  return sink === -1 ? {} : result;
}

/**
 * In the parent: runs `file` with the child's V8 flags and `args` + ALLOC_CHILD_FLAG; the
 * child prints allocPerOp()'s result as its last stdout line. Throws with the child's
 * stderr when it fails.
 */
export function measureAllocations(file: string, args: readonly string[]): Record<string, number | null> {
  const r = spawnSync(process.execPath, ['--expose-gc', '--min-semi-space-size=128', '--max-semi-space-size=128', file, ALLOC_CHILD_FLAG, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`allocation child of ${file} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number | null>;
}
