// Reads a member's /metrics (Prometheus text format 0.0.4) and turns two
// scrapes into the rates and latency percentiles the Cluster chart plots.
// Pure: the text in, numbers out.

export interface Sample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

/** Parses the text exposition format; comments, blank and malformed lines are skipped. */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$/.exec(line);
    if (!m) continue;
    const value = parseValue(m[4]!);
    if (value === undefined) continue;
    out.push({ name: m[1]!, labels: m[3] ? parseLabels(m[3]) : {}, value });
  }
  return out;
}

function parseValue(s: string): number | undefined {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  const v = Number(s);
  return Number.isNaN(v) ? undefined : v;
}

function parseLabels(s: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

type LabelFilter = (labels: Readonly<Record<string, string>>) => boolean;
const any: LabelFilter = () => true;

/** The sum of every sample of `name` whose labels pass `filter` (undefined: none). */
export function sumOf(samples: readonly Sample[], name: string, filter: LabelFilter = any): number | undefined {
  let total: number | undefined;
  for (const s of samples) if (s.name === name && filter(s.labels)) total = (total ?? 0) + s.value;
  return total;
}

/** Cumulative histogram buckets (upper bound → count) of `name`, summed over the series `filter` keeps. */
export function bucketsOf(samples: readonly Sample[], name: string, filter: LabelFilter = any): Map<number, number> {
  const buckets = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== name + '_bucket' || !filter(s.labels) || s.labels.le === undefined) continue;
    const le = parseValue(s.labels.le);
    if (le === undefined) continue;
    buckets.set(le, (buckets.get(le) ?? 0) + s.value);
  }
  return buckets;
}

/**
 * The q-quantile (0..1) of the observations between two scrapes of a
 * histogram, as Prometheus' histogram_quantile over the bucket increases
 * (linear inside a bucket; the +Inf bucket answers its lower bound).
 * undefined: nothing was observed in between.
 */
export function quantileBetween(before: Map<number, number>, after: Map<number, number>, q: number): number | undefined {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => Math.max(0, (after.get(b) ?? 0) - (before.get(b) ?? 0)));
  const total = counts[counts.length - 1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if (counts[i]! >= rank) {
      const upper = bounds[i]!;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      if (upper === Infinity) return lower;
      const below = i === 0 ? 0 : counts[i - 1]!;
      const inBucket = counts[i]! - below;
      return inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
    }
  }
  return bounds[bounds.length - 2];
}

/** A counter's increase per second between two scrapes (a reset, as after a restart, counts from zero). */
export function ratePerSecond(before: number | undefined, after: number | undefined, seconds: number): number | undefined {
  if (before === undefined || after === undefined || seconds <= 0) return undefined;
  return (after >= before ? after - before : after) / seconds;
}
