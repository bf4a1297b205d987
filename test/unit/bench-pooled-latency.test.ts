// bench/pooled-latency.ts: a row's percentiles over every request of every
// repetition (run-table.sh POOLED=1), not the median of per-repetition ones.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pooledLines } from '../../bench/pooled-latency.js';

const dir = mkdtempSync(join(tmpdir(), 'pooled-latency-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A latency log as the load generator writes it: "<start ms> <latency ms>" per request. */
function log(name: string, latencies: number[]): string {
  const file = join(dir, name);
  writeFileSync(file, latencies.map((l, i) => `${(1_700_000_000_000 + i).toFixed(3)} ${l.toFixed(3)}`).join('\n') + '\n');
  return file;
}

function run(index: { server: string; label: string; file: string }[], a: string, b: string): string {
  return pooledLines(index, a, b).join('\n') + '\n';
}

describe('pooled latency percentiles', () => {
  it('ranks every request of every run together', () => {
    // Run 1: 100 requests of 1 ms; run 2: 98 of 1 ms and 2 of 10 ms. Per run the
    // p99 is 1 and 10 ms (their median 5.5); pooled, the 198th of 200 is 1 ms.
    const ours1 = log('ours-1.log', Array(100).fill(1));
    const ours2 = log('ours-2.log', [...Array(98).fill(1), 10, 10]);
    // The other server: 2 ms everywhere but its three slowest of 200 at 4 ms.
    const etcd1 = log('etcd-1.log', [...Array(99).fill(2), 4]);
    const etcd2 = log('etcd-2.log', [...Array(98).fill(2), 4, 4]);
    const out = run(
      [
        { server: 'etcd-ts', label: 'put 1c', file: ours1 },
        { server: 'etcd', label: 'put 1c', file: etcd1 },
        { server: 'etcd', label: 'put 1c', file: etcd2 },
        { server: 'etcd-ts', label: 'put 1c', file: ours2 },
      ],
      'etcd-ts',
      'etcd',
    );
    expect(out.trim()).toBe(
      'pooled: put 1c: ours vs etcd ms over 200 and 200 requests (2 and 2 runs): ' +
        'p50 1.00 vs 2.00 (0.50x), p90 1.00 vs 2.00 (0.50x), p99 1.00 vs 4.00 (0.25x), p99.9 10.00 vs 4.00 (2.50x)',
    );
  });

  it('names both builds in an A/B and skips a row only one of them ran', () => {
    const a = log('a.log', [3, 1, 2]);
    const b = log('b.log', [2, 2, 2]);
    const c = log('c.log', [5]);
    const out = run(
      [
        { server: 'etcd-ts-base', label: 'put 16c', file: a },
        { server: 'etcd-ts', label: 'put 16c', file: b },
        { server: 'etcd-ts', label: 'watch', file: c },
      ],
      'etcd-ts-base',
      'etcd-ts',
    );
    expect(out.trim().split('\n')).toEqual([
      'pooled: put 16c: etcd-ts-base vs etcd-ts ms over 3 and 3 requests (1 and 1 runs): ' +
        'p50 2.00 vs 2.00 (1.00x), p90 3.00 vs 2.00 (1.50x), p99 3.00 vs 2.00 (1.50x), p99.9 3.00 vs 2.00 (1.50x)',
    ]);
  });
});
