// The Cluster chart's numbers: the Prometheus text our members (and etcd)
// serve, parsed; histogram percentiles between two scrapes as Prometheus'
// histogram_quantile computes them; counter rates; a member's chart point.

import { describe, expect, it } from 'vitest';
import { bucketsOf, parseMetrics, quantileBetween, ratePerSecond, sumOf } from '../../../ui/src/lib/metrics.js';
import { hasHandlingHistogram, ratePoint } from '../../../ui/src/lib/member-rates.js';

const BUCKETS = ['0.001', '0.002', '0.004', '0.008', '0.016', '0.032', '+Inf'];

/** A scrape as a member with --metrics extensive answers it (bucket counts per method). */
function scrape(applied: number, leaderChanges: number, range: number[], put: number[], fsync: number[]): string {
  const hist = (name: string, labels: string, counts: number[]): string =>
    BUCKETS.map((le, i) => `${name}_bucket{${labels}${labels ? ',' : ''}le="${le}"} ${counts[i]}`).join('\n') + `\n${name}_count{${labels}} ${counts[counts.length - 1]}\n`;
  return [
    '# HELP etcd_server_proposals_applied_total The total number of consensus proposals applied.',
    '# TYPE etcd_server_proposals_applied_total gauge',
    `etcd_server_proposals_applied_total ${applied}`,
    `etcd_server_leader_changes_seen_total ${leaderChanges}`,
    hist('grpc_server_handling_seconds', 'grpc_type="unary",grpc_service="etcdserverpb.KV",grpc_method="Range"', range),
    hist('grpc_server_handling_seconds', 'grpc_type="unary",grpc_service="etcdserverpb.KV",grpc_method="Put"', put),
    hist('etcd_disk_wal_fsync_duration_seconds', '', fsync),
    'nodejs_version_info{version="v20.20.2",major="20",minor="20",patch="2"} 1',
    'label_with_escapes{path="a\\"b\\\\c",x="1"} 2.5e-3',
    'not a metric line',
  ].join('\n');
}

describe('metrics text', () => {
  it('parses names, labels (with escapes), values; skips comments and junk', () => {
    const s = parseMetrics(scrape(16, 1, [0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0], [2, 4, 5, 6, 7, 10, 10]));
    expect(sumOf(s, 'etcd_server_proposals_applied_total')).toBe(16);
    expect(s.find((x) => x.name === 'label_with_escapes')).toEqual({ name: 'label_with_escapes', labels: { path: 'a"b\\c', x: '1' }, value: 0.0025 });
    expect(s.find((x) => x.name === 'nodejs_version_info')?.labels.version).toBe('v20.20.2');
    expect(bucketsOf(s, 'etcd_disk_wal_fsync_duration_seconds').get(Infinity)).toBe(10);
    expect(sumOf(s, 'absent')).toBeUndefined();
    expect(hasHandlingHistogram(s)).toBe(true);
  });
});

describe('percentiles and rates', () => {
  const b = (counts: number[]): Map<number, number> => new Map(BUCKETS.map((le, i) => [le === '+Inf' ? Infinity : Number(le), counts[i]!]));

  it('interpolates inside the bucket holding the rank, over the increase only', () => {
    const before = b([10, 10, 10, 10, 10, 10, 10]);
    // 100 new observations: 50 in (0.001, 0.002], 50 in (0.004, 0.008].
    const after = b([10, 60, 60, 110, 110, 110, 110]);
    expect(quantileBetween(before, after, 0.5)).toBeCloseTo(0.002, 9);
    expect(quantileBetween(before, after, 0.25)).toBeCloseTo(0.0015, 9);
    expect(quantileBetween(before, after, 0.99)).toBeCloseTo(0.004 + 0.004 * (49 / 50), 9);
    expect(quantileBetween(before, before, 0.5)).toBeUndefined();
  });

  it('answers the highest finite bound for ranks in +Inf', () => {
    expect(quantileBetween(b([0, 0, 0, 0, 0, 0, 0]), b([0, 0, 0, 0, 0, 0, 4]), 0.5)).toBe(0.032);
  });

  it('rates a counter per second, from zero after a reset', () => {
    expect(ratePerSecond(100, 130, 2)).toBe(15);
    expect(ratePerSecond(100, 6, 2)).toBe(3);
    expect(ratePerSecond(undefined, 6, 2)).toBeUndefined();
  });

  it('makes one chart point from two scrapes', () => {
    const zero = [0, 0, 0, 0, 0, 0, 0];
    const s1 = { at: 1_000, samples: parseMetrics(scrape(100, 1, zero, zero, [5, 5, 5, 5, 5, 5, 5])) };
    const s2 = { at: 3_000, samples: parseMetrics(scrape(140, 2, [8, 10, 10, 10, 10, 10, 10], [0, 0, 0, 4, 4, 4, 4], [5, 5, 9, 9, 9, 9, 9])) };
    const p = ratePoint(s1, s2);
    expect(p.at).toBe(3_000);
    expect(p.writesPerSec).toBe(20);
    expect(p.readP50).toBeCloseTo(0.000625, 9);
    expect(p.writeP50).toBeCloseTo(0.006, 9);
    expect(p.fsyncP99).toBeCloseTo(0.002 + 0.002 * 0.99, 9);
    expect(p.leaderChanges).toBe(2);
  });
});
