// A Prometheus histogram for the request path: what prom-client's Histogram
// exports, for a fraction of its cost per observation.
//
// prom-client's observe() validates and hashes the label set, then finds the
// bucket by its upper bound used as an object key (a number turned into a string
// on every call): 6-11 µs per put on a member at one client, where every call
// runs cold (docs/PERFORMANCE.md, seventeenth round). Here a label set is
// resolved once into a HistogramSeries (the gRPC wrapper does it once per
// method), and observing is a scan of the bounds and three additions.
//
// The registry reads it like any prom-client metric (get() returns the same
// shape), so the /metrics text is the same: a series appears once it has been
// resolved, buckets cumulative with `le` first, then +Inf, _sum and _count.

import type { Registry } from 'prom-client';

/** One label set's counts. */
export class HistogramSeries {
  /** Observations per bucket (not cumulative); the last slot is above every bound (+Inf only). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    private readonly bounds: readonly number[],
    readonly labels: Readonly<Record<string, string>>,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    // A NaN would poison the sum for good; prom-client throws on one, a metric must not.
    if (!Number.isFinite(value)) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }
}

interface ExportedValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

export interface SeriesHistogramOptions<L extends string> {
  name: string;
  help: string;
  /** Upper bounds, ascending. */
  buckets: readonly number[];
  labelNames?: readonly L[];
  registers?: Registry[];
}

export class SeriesHistogram<L extends string = never> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bounds: readonly number[];
  private readonly labelNames: readonly L[];
  /** Keyed by the label values in labelNames' order; insertion order is export order. */
  private readonly bySeries = new Map<string, HistogramSeries>();
  /** The series with no labels, for histograms declared without label names. */
  private readonly plain: HistogramSeries | undefined;

  constructor(opts: SeriesHistogramOptions<L>) {
    for (let i = 1; i < opts.buckets.length; i++) {
      if (!(opts.buckets[i]! > opts.buckets[i - 1]!)) throw new RangeError(`${opts.name}: bucket bounds must ascend`);
    }
    this.name = opts.name;
    this.help = opts.help;
    this.bounds = [...opts.buckets];
    this.labelNames = opts.labelNames ?? [];
    if (this.labelNames.length === 0) this.plain = this.series({} as Record<L, string>);
    for (const r of opts.registers ?? []) r.registerMetric(this as never);
  }

  /** The series of this label set, created (and from then on exported) on first use. */
  series(labels: Readonly<Record<L, string>>): HistogramSeries {
    const values = this.labelNames.map((n) => labels[n]);
    if (values.some((v) => v === undefined)) throw new TypeError(`${this.name}: labels ${this.labelNames.join(', ')} are all required`);
    const key = values.join('\u0000');
    let s = this.bySeries.get(key);
    if (s === undefined) {
      const own: Record<string, string> = {};
      this.labelNames.forEach((n, i) => (own[n] = values[i]!));
      s = new HistogramSeries(this.bounds, own);
      this.bySeries.set(key, s);
    }
    return s;
  }

  /** Observes into the unlabelled series (histograms declared without label names only). */
  observe(value: number): void {
    if (this.plain === undefined) throw new TypeError(`${this.name} has labels: observe through series()`);
    this.plain.observe(value);
  }

  reset(): void {
    for (const s of this.bySeries.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }

  /** What prom-client's Registry reads (the shape of Histogram.get()). */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExportedValue[] }> {
    const bucketName = `${this.name}_bucket`;
    const values: ExportedValue[] = [];
    for (const s of this.bySeries.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += s.counts[i]!;
        values.push({ labels: { le: this.bounds[i]!, ...s.labels }, value: cumulative, metricName: bucketName });
      }
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: bucketName });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
