// Formats a run: an etcd-benchmark-like text report and the one-line JSON summary.

import type { BenchOptions } from './args.js';
import type { LatencyStats } from './histogram.js';
import type { RunResult } from './runner.js';

export interface Summary {
  workload: string;
  endpoints: string[];
  clients: number;
  conns: number;
  total: number;
  keySize: number;
  valSize: number;
  keySpace: number;
  consistency?: 'l' | 's';
  completed: number;
  errors: number;
  durationSec: number;
  requestsPerSec: number;
  latencyMs: Omit<LatencyStats, 'count'>;
}

/** Rounded to 3 decimals for the JSON summary. */
export const r3 = (x: number): number => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x);

/** The latency part of every workload's summary, in milliseconds, rounded. */
export function latencySummary(st: LatencyStats): Omit<LatencyStats, 'count'> {
  return {
    fastest: r3(st.fastest), slowest: r3(st.slowest), average: r3(st.average), stddev: r3(st.stddev),
    p50: r3(st.p50), p90: r3(st.p90), p99: r3(st.p99), p999: r3(st.p999),
  };
}

export function summarize(opts: BenchOptions, res: RunResult): Summary {
  return {
    workload: opts.workload,
    endpoints: opts.endpoints,
    clients: opts.clients,
    conns: opts.conns,
    total: opts.total,
    keySize: opts.keySize,
    valSize: opts.valSize,
    keySpace: opts.keySpace,
    ...(opts.workload === 'range' ? { consistency: opts.consistency } : {}),
    completed: res.completed,
    errors: res.errors,
    durationSec: r3(res.durationSec),
    requestsPerSec: Math.round((res.completed - res.errors) / res.durationSec),
    latencyMs: latencySummary(res.recorder.stats()),
  };
}

export function formatReport(s: Summary, res: RunResult): string {
  const ms = (x: number): string => `${x.toFixed(3).padStart(10)} ms`;
  const L = s.latencyMs;
  const lines = [
    `Summary (${s.workload}${s.consistency ? `, consistency=${s.consistency}` : ''}, ${s.clients} clients, ${s.conns} conns):`,
    `  Total:        ${s.completed} requests (${s.errors} errors)`,
    `  Duration:     ${s.durationSec.toFixed(3)} s`,
    `  Requests/sec: ${s.requestsPerSec}`,
    `  Slowest:     ${ms(L.slowest)}`,
    `  Fastest:     ${ms(L.fastest)}`,
    `  Average:     ${ms(L.average)}`,
    `  Stddev:      ${ms(L.stddev)}`,
    '',
    'Response time histogram:',
  ];
  const hist = res.recorder.histogram(10);
  const max = Math.max(1, ...hist.map(([, c]) => c));
  for (const [ub, c] of hist) {
    lines.push(`  ${ub.toFixed(3).padStart(10)} [${String(c).padStart(7)}]\t|${'∎'.repeat(Math.round((c / max) * 40))}`);
  }
  lines.push('', 'Latency distribution:');
  lines.push(`  50%   in ${ms(L.p50)}`);
  lines.push(`  90%   in ${ms(L.p90)}`);
  lines.push(`  99%   in ${ms(L.p99)}`);
  lines.push(`  99.9% in ${ms(L.p999)}`);
  if (res.errorSamples.size) {
    lines.push('', 'Errors:');
    for (const [k, n] of res.errorSamples) lines.push(`  ${n} x ${k}`);
  }
  return lines.join('\n');
}
