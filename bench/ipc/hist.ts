/**
 * A small log-linear (HDR-style) latency histogram for integer nanoseconds.
 *
 * Values below 2^SUB_BITS are counted exactly. Above, each power-of-two range
 * [2^k, 2^(k+1)) is split into 2^(SUB_BITS-1) equal buckets, so a recorded value is
 * known to within 2^-(SUB_BITS-1) of itself (0.8 % with SUB_BITS = 8). Values up to
 * 2^MAX_EXP ns (~18 minutes at 40) are kept; larger ones land in the last bucket.
 * record() allocates nothing; percentiles report the upper edge of the bucket holding
 * the rank (never below the true value), clamped to the exact maximum.
 */
const SUB_BITS = 8;
const SUB = 1 << SUB_BITS;         // 256 exact values, then 128 buckets per power of two
const HALF = SUB >> 1;
const MAX_EXP = 40;
const BUCKETS = SUB + (MAX_EXP - SUB_BITS) * HALF;

function indexOf(v: number): number {
  if (v < SUB) return v < 0 ? 0 : Math.floor(v);
  const e = Math.floor(Math.log2(v));         // v in [2^e, 2^(e+1)), e ≥ SUB_BITS
  if (e >= MAX_EXP) return BUCKETS - 1;
  const shift = e - (SUB_BITS - 1);           // bucket width 2^shift
  const sub = Math.floor(v / 2 ** shift) - HALF; // 0..HALF-1
  return SUB + (e - SUB_BITS) * HALF + sub;
}

/** Largest value that falls into bucket i. */
function upperOf(i: number): number {
  if (i < SUB) return i;
  const e = SUB_BITS + Math.floor((i - SUB) / HALF);
  const sub = (i - SUB) % HALF;
  const shift = e - (SUB_BITS - 1);
  return (HALF + sub + 1) * 2 ** shift - 1;
}

export class Histogram {
  readonly counts = new Float64Array(BUCKETS);
  count = 0;
  min = Infinity;
  max = 0;

  record(ns: number): void {
    this.counts[indexOf(ns)]! += 1;
    this.count++;
    if (ns > this.max) this.max = ns;
    if (ns < this.min) this.min = ns;
  }

  /** Value at quantile q (0 < q ≤ 1): the smallest bucket edge with ≥ q·count values at or below it. */
  percentile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(upperOf(i), this.max);
    }
    return this.max;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.min = Infinity;
    this.max = 0;
  }

  /** p50/p99/p99.9/max in whole ns. */
  summary(): { p50_ns: number; p99_ns: number; p999_ns: number; max_ns: number; samples: number } {
    return {
      p50_ns: Math.round(this.percentile(0.5)),
      p99_ns: Math.round(this.percentile(0.99)),
      p999_ns: Math.round(this.percentile(0.999)),
      max_ns: Math.round(this.max),
      samples: this.count,
    };
  }
}
