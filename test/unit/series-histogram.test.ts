// SeriesHistogram exports exactly what prom-client's Histogram exports for the
// same observations (the /metrics text etcd's dashboards read), labelled or not.

import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SeriesHistogram } from '../../src/server/series-histogram.js';

const BUCKETS = [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192];
// On a bound, between bounds, below the first, above the last, zero, repeated.
const VALUES = [0.001, 0.0015, 0.0000001, 9, 0, 0.004, 0.004, 0.3, 8.192, 8.1920001, 1e-9, 2.5];

describe('SeriesHistogram', () => {
  it('unlabelled: the same text as prom-client, before and after observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const a = new SeriesHistogram({ name: 'etcd_disk_wal_fsync_duration_seconds', help: 'The latency distributions of fsync called by WAL.', buckets: BUCKETS, registers: [ours] });
    const b = new Histogram({ name: 'etcd_disk_wal_fsync_duration_seconds', help: 'The latency distributions of fsync called by WAL.', buckets: BUCKETS, registers: [theirs] });
    expect(await ours.metrics()).toBe(await theirs.metrics());
    for (const v of VALUES) {
      a.observe(v);
      b.observe(v);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} 4\n');
    expect(text).toContain('etcd_disk_wal_fsync_duration_seconds_bucket{le="8.192"} 10\n');
    expect(text).toContain('etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"} 12\n');
    expect(text).toContain('etcd_disk_wal_fsync_duration_seconds_count 12');
    // The JSON form too, but for prom-client's exemplar slot (always empty here: no exemplars are kept).
    const noExemplars = (ms: { values: object[] }[]) => ms.map((m) => ({ ...m, values: m.values.map(({ exemplar: _, ...v }: { exemplar?: unknown }) => v) }));
    expect(noExemplars(await ours.getMetricsAsJSON())).toEqual(noExemplars(await theirs.getMetricsAsJSON()));
  });

  it('labelled: series in first-use order, each exported once used, as prom-client does', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const labelNames = ['grpc_type', 'grpc_service', 'grpc_method'] as const;
    const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    const a = new SeriesHistogram({ name: 'grpc_server_handling_seconds', help: 'h', buckets, labelNames, registers: [ours] });
    const b = new Histogram({ name: 'grpc_server_handling_seconds', help: 'h', buckets, labelNames, registers: [theirs] });
    expect(await ours.metrics()).toBe(await theirs.metrics());
    const range = { grpc_type: 'unary', grpc_service: 'etcdserverpb.KV', grpc_method: 'Range' };
    const watch = { grpc_type: 'bidi_stream', grpc_service: 'etcdserverpb.Watch', grpc_method: 'Watch' };
    const order = [range, watch, range, range, watch];
    order.forEach((labels, i) => {
      a.series(labels).observe(VALUES[i]!);
      b.observe(labels, VALUES[i]!);
    });
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // The same label values in another object resolve to the same series.
    expect(a.series({ ...range })).toBe(a.series(range));
  });

  it('merges into another registry like any prom-client metric', async () => {
    const reg = new Registry();
    const h = new SeriesHistogram({ name: 'x_seconds', help: 'x', buckets: [1, 2], registers: [reg] });
    h.observe(1.5);
    const merged = Registry.merge([reg, new Registry()]);
    expect(await merged.metrics()).toBe('# HELP x_seconds x\n# TYPE x_seconds histogram\nx_seconds_bucket{le="1"} 0\nx_seconds_bucket{le="2"} 1\nx_seconds_bucket{le="+Inf"} 1\nx_seconds_sum 1.5\nx_seconds_count 1\n');
  });

  it('ignores values that are not finite and refuses misuse', () => {
    const h = new SeriesHistogram({ name: 'y', help: 'y', buckets: [1] });
    h.observe(Number.NaN);
    h.observe(Number.POSITIVE_INFINITY);
    h.observe(0.5);
    const s = h.series({});
    expect([s.count, s.sum, [...s.counts]]).toEqual([1, 0.5, [1, 0]]);
    expect(() => new SeriesHistogram({ name: 'z', help: 'z', buckets: [2, 1] })).toThrow(/ascend/);
    const l = new SeriesHistogram({ name: 'w', help: 'w', buckets: [1], labelNames: ['m'] as const });
    expect(() => l.observe(1)).toThrow(/series/);
    expect(() => l.series({} as { m: string })).toThrow(/required/);
    l.series({ m: 'a' }).observe(3);
    l.reset();
    expect(l.series({ m: 'a' }).count).toBe(0);
  });
});
