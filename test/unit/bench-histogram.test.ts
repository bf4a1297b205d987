import { describe, expect, it } from 'vitest';
import { ArgError, parseArgs } from '../../bench/load/args.js';
import { LatencyRecorder, percentile } from '../../bench/load/histogram.js';
import { KeyChooser, keySpaceRange, makeKey } from '../../bench/load/keys.js';

describe('bench percentiles', () => {
  it('nearest-rank on 1..100', () => {
    const s = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(s, 50)).toBe(50);
    expect(percentile(s, 90)).toBe(90);
    expect(percentile(s, 99)).toBe(99);
    expect(percentile(s, 99.9)).toBe(100);
    expect(percentile(s, 0)).toBe(1);
    expect(percentile(s, 100)).toBe(100);
  });

  it('exact at 1000 samples (no float drift in 99.9 * 1000)', () => {
    const s = Float64Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(s, 99.9)).toBe(999);
    expect(percentile(s, 99)).toBe(990);
    expect(percentile(s, 50)).toBe(500);
  });

  it('small and empty inputs', () => {
    expect(percentile([7], 50)).toBe(7);
    expect(percentile([7], 99.9)).toBe(7);
    expect(percentile([1, 2], 50)).toBe(1);
    expect(percentile([1, 2], 51)).toBe(2);
    expect(Number.isNaN(percentile([], 50))).toBe(true);
  });

  it('recorder sorts, grows past capacity and summarizes', () => {
    const r = new LatencyRecorder(2);
    for (const v of [5, 1, 4, 2, 3]) r.record(v);
    const st = r.stats();
    expect(st.count).toBe(5);
    expect(st.fastest).toBe(1);
    expect(st.slowest).toBe(5);
    expect(st.average).toBe(3);
    expect(st.stddev).toBeCloseTo(Math.sqrt(2), 12);
    expect(st.p50).toBe(3);
    expect(st.p90).toBe(5);
    const h = r.histogram(4);
    expect(h.map(([, c]) => c).reduce((a, b) => a + b, 0)).toBe(5);
    expect(h[3]![0]).toBe(5);
  });

  it('empty recorder', () => {
    const st = new LatencyRecorder(10).stats();
    expect(st.count).toBe(0);
    expect(Number.isNaN(st.p99)).toBe(true);
  });
});

describe('bench args', () => {
  it('defaults', () => {
    const o = parseArgs(['put']);
    expect(o).toMatchObject({
      workload: 'put',
      endpoints: ['127.0.0.1:2379'],
      clients: 1,
      conns: 1,
      total: 10000,
      keySize: 8,
      valSize: 8,
      keySpace: 1,
      consistency: 'l',
      sequentialKeys: false,
      progress: true,
    });
  });

  it('both flag forms, aliases, booleans', () => {
    const o = parseArgs([
      'range',
      '--endpoints=http://127.0.0.1:40001,127.0.0.2:40002/',
      '--clients',
      '16',
      '--conns=4',
      '--total',
      '500',
      '--key-space-size=10000',
      '--consistency',
      's',
      '--sequential-keys',
      '--no-progress',
      '--prefix=/b/',
      '--key-size',
      '12',
    ]);
    expect(o.workload).toBe('range');
    expect(o.endpoints).toEqual(['127.0.0.1:40001', '127.0.0.2:40002']);
    expect(o.clients).toBe(16);
    expect(o.conns).toBe(4);
    expect(o.total).toBe(500);
    expect(o.keySpace).toBe(10000);
    expect(o.consistency).toBe('s');
    expect(o.sequentialKeys).toBe(true);
    expect(o.progress).toBe(false);
    expect(o.prefix).toBe('/b/');
    expect(parseArgs(['txn', '--key-space', '3', '--val-size', '0']).valSize).toBe(0);
  });

  it('rejects bad input with clear messages', () => {
    expect(() => parseArgs([])).toThrow(ArgError);
    expect(() => parseArgs(['get'])).toThrow(/unknown workload/);
    expect(() => parseArgs(['put', '--bogus'])).toThrow(/unknown flag: --bogus/);
    expect(() => parseArgs(['put', '--clients'])).toThrow(/needs an argument/);
    expect(() => parseArgs(['put', '--clients', '0'])).toThrow(/must be >= 1/);
    expect(() => parseArgs(['put', '--total', 'x'])).toThrow(/want an integer/);
    expect(() => parseArgs(['range', '--consistency', 'x'])).toThrow(/want l or s/);
    expect(() => parseArgs(['put', '--endpoints', 'nohost'])).toThrow(/host:port/);
    expect(() => parseArgs(['put', '--key-size', '3', '--key-space', '10000'])).toThrow(/too small/);
  });
});

describe('bench keys', () => {
  it('fixed-size keys and prefix range', () => {
    expect(makeKey('k', 42, 6).toString()).toBe('k00042');
    expect(makeKey('', 0, 8).toString()).toBe('00000000');
    expect(keySpaceRange('ab')).toEqual({ key: Buffer.from('ab'), rangeEnd: Buffer.from('ac') });
    expect(keySpaceRange('')).toEqual({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]) });
  });

  it('sequential chooser wraps; random stays in range', () => {
    const seq = new KeyChooser(3, true);
    expect([0, 1, 2, 3, 4].map(() => seq.pick())).toEqual([0, 1, 2, 0, 1]);
    const rnd = new KeyChooser(5, false);
    for (let i = 0; i < 200; i++) {
      const k = rnd.pick();
      expect(k >= 0 && k < 5 && Number.isInteger(k)).toBe(true);
    }
  });
});
