// Latency recorder: every sample kept (one preallocated Float64Array, no
// per-request allocation), sorted once at the end. Percentiles are
// nearest-rank: the smallest sample with at least p% of samples <= it.

export interface LatencyStats {
  count: number;
  /** All in milliseconds. */
  fastest: number;
  slowest: number;
  average: number;
  stddev: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
}

/** Nearest-rank percentile of an ascending-sorted array; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  if (p <= 0) return sorted[0]!;
  if (p >= 100) return sorted[n - 1]!;
  // p/100*n computed as p*n/100 keeps exact results for e.g. 99.9 * 1000.
  const rank = Math.ceil(Math.round(p * n * 1e6) / 1e8);
  return sorted[Math.min(n, Math.max(1, rank)) - 1]!;
}

export class LatencyRecorder {
  private samples: Float64Array;
  private n = 0;

  constructor(capacity: number) {
    this.samples = new Float64Array(Math.max(1, capacity));
  }

  get count(): number {
    return this.n;
  }

  /** Records one latency in milliseconds. Grows (doubling) if over capacity. */
  record(ms: number): void {
    if (this.n === this.samples.length) {
      const next = new Float64Array(this.samples.length * 2);
      next.set(this.samples);
      this.samples = next;
    }
    this.samples[this.n++] = ms;
  }

  /** The samples in the order they were recorded (a view; do not keep it across record()). */
  inOrder(): Float64Array {
    return this.samples.subarray(0, this.n);
  }

  stats(): LatencyStats {
    const s = this.samples.subarray(0, this.n).slice().sort();
    const n = s.length;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += s[i]!;
    const average = n ? sum / n : NaN;
    let sq = 0;
    for (let i = 0; i < n; i++) sq += (s[i]! - average) ** 2;
    return {
      count: n,
      fastest: n ? s[0]! : NaN,
      slowest: n ? s[n - 1]! : NaN,
      average,
      stddev: n ? Math.sqrt(sq / n) : NaN,
      p50: percentile(s, 50),
      p90: percentile(s, 90),
      p99: percentile(s, 99),
      p999: percentile(s, 99.9),
    };
  }

  /**
   * etcd-style bar histogram: `buckets` equal-width bins between fastest and
   * slowest, each as [upper bound ms, count].
   */
  histogram(buckets = 10): [number, number][] {
    const n = this.n;
    if (n === 0) return [];
    const s = this.samples.subarray(0, n).slice().sort();
    const lo = s[0]!;
    const hi = s[n - 1]!;
    const width = (hi - lo) / buckets || 1;
    const out: [number, number][] = [];
    for (let b = 0; b < buckets; b++) out.push([lo + width * (b + 1), 0]);
    for (let i = 0; i < n; i++) {
      const b = Math.min(buckets - 1, Math.floor((s[i]! - lo) / width));
      out[b]![1]++;
    }
    out[buckets - 1]![0] = hi;
    return out;
  }
}
