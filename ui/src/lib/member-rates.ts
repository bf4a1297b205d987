// One point of the Cluster chart for one member, from two scrapes of its
// /metrics: writes per second (proposals applied), read and write latency
// percentiles (grpc_server_handling_seconds, which etcd exports with
// --metrics extensive; WAL fsync latency always), and leader changes seen.

import { bucketsOf, quantileBetween, ratePerSecond, sumOf, type Sample } from './metrics.js';

export interface Scrape {
  at: number;
  samples: Sample[];
}

export interface RatePoint {
  at: number;
  writesPerSec: number | undefined;
  readP50: number | undefined;
  readP99: number | undefined;
  writeP50: number | undefined;
  writeP99: number | undefined;
  fsyncP99: number | undefined;
  leaderChanges: number | undefined;
}

const HANDLING = 'grpc_server_handling_seconds';
const WRITE_METHODS = new Set(['Put', 'DeleteRange', 'Txn']);
const isRead = (l: Readonly<Record<string, string>>): boolean => l.grpc_method === 'Range';
const isWrite = (l: Readonly<Record<string, string>>): boolean => WRITE_METHODS.has(l.grpc_method ?? '');

export function ratePoint(before: Scrape, after: Scrape): RatePoint {
  const seconds = (after.at - before.at) / 1000;
  const q = (name: string, filter: ((l: Readonly<Record<string, string>>) => boolean) | undefined, p: number): number | undefined =>
    quantileBetween(bucketsOf(before.samples, name, filter), bucketsOf(after.samples, name, filter), p);
  const applied = 'etcd_server_proposals_applied_total';
  return {
    at: after.at,
    writesPerSec: ratePerSecond(sumOf(before.samples, applied), sumOf(after.samples, applied), seconds),
    readP50: q(HANDLING, isRead, 0.5),
    readP99: q(HANDLING, isRead, 0.99),
    writeP50: q(HANDLING, isWrite, 0.5),
    writeP99: q(HANDLING, isWrite, 0.99),
    fsyncP99: q('etcd_disk_wal_fsync_duration_seconds', undefined, 0.99),
    leaderChanges: sumOf(after.samples, 'etcd_server_leader_changes_seen_total'),
  };
}

/** Whether the member exports request latencies at all (--metrics extensive). */
export function hasHandlingHistogram(samples: readonly Sample[]): boolean {
  return samples.some((s) => s.name === HANDLING + '_bucket');
}
