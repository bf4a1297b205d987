// Prometheus metrics under etcd's own names, so existing dashboards and alerts
// (has_leader, leader changes, proposals, WAL fsync latency, db size) keep working.

import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { SeriesHistogram } from './series-histogram.js';

/**
 * Node's process metrics (CPU, heap, event-loop lag, GC) describe the process,
 * not a member, so they are collected once per process: collectDefaultMetrics
 * starts an event-loop-delay monitor and a GC observer that are never stopped,
 * and a process that creates many members (the simulation, the tests) would
 * otherwise pile them up — it did, to 3 GB and a ninth of the speed.
 */
let processRegistry: Registry | undefined;

/**
 * How often the event-loop-delay monitor samples (prom-client's default is 10 ms).
 * Each sample is a timer that wakes the event loop: at 10 ms, 100 wake-ups a
 * second were most of an idle member's (~120/s) and of its idle CPU. Ten samples
 * a second still give the nodejs_eventloop_lag_* percentiles hundreds of samples
 * per scrape interval, and a delay longer than this is seen whatever the rate.
 */
const EVENT_LOOP_SAMPLE_MS = 100;
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  }
  return processRegistry;
}

export type GrpcHandlingHistogram = SeriesHistogram<'grpc_type' | 'grpc_service' | 'grpc_method'>;

export class ServerMetrics {
  readonly registry = new Registry();
  readonly hasLeader = new Gauge({ name: 'etcd_server_has_leader', help: 'Whether or not a leader exists. 1 is existence, 0 is not.', registers: [this.registry] });
  readonly isLeader = new Gauge({ name: 'etcd_server_is_leader', help: 'Whether or not this member is a leader. 1 if is, 0 otherwise.', registers: [this.registry] });
  readonly leaderChanges = new Counter({ name: 'etcd_server_leader_changes_seen_total', help: 'The number of leader changes seen.', registers: [this.registry] });
  readonly proposalsCommitted = new Gauge({ name: 'etcd_server_proposals_committed_total', help: 'The total number of consensus proposals committed.', registers: [this.registry] });
  readonly proposalsApplied = new Gauge({ name: 'etcd_server_proposals_applied_total', help: 'The total number of consensus proposals applied.', registers: [this.registry] });
  readonly proposalsPending = new Gauge({ name: 'etcd_server_proposals_pending', help: 'The current number of pending proposals to commit.', registers: [this.registry] });
  readonly slowApplies = new Counter({ name: 'etcd_server_slow_apply_total', help: 'The total number of slow apply requests (likely overloaded from slow disk).', registers: [this.registry] });
  readonly proposalsFailed = new Counter({ name: 'etcd_server_proposals_failed_total', help: 'The total number of failed proposals seen.', registers: [this.registry] });
  readonly walFsync = new SeriesHistogram({
    name: 'etcd_disk_wal_fsync_duration_seconds',
    help: 'The latency distributions of fsync called by WAL.',
    buckets: [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192],
    registers: [this.registry],
  });
  readonly watchStreams = new Gauge({ name: 'etcd_debugging_mvcc_watch_stream_total', help: 'Total number of watch streams.', registers: [this.registry] });
  readonly watchers = new Gauge({ name: 'etcd_debugging_mvcc_watcher_total', help: 'Total number of watchers.', registers: [this.registry] });
  readonly slowWatchers = new Gauge({ name: 'etcd_debugging_mvcc_slow_watcher_total', help: 'Total number of unsynced slow watchers.', registers: [this.registry] });
  readonly watchVictimized = new Gauge({
    name: 'etcdts_watch_slow_consumer_total',
    help: 'Times a watcher was moved aside because its stream could not take more responses.',
    registers: [this.registry],
  });
  readonly watchBufferedBytes = new Gauge({
    name: 'etcdts_watch_send_buffer_bytes',
    help: 'Watch responses waiting to be sent to clients, over all streams (estimated bytes in memory).',
    registers: [this.registry],
  });
  readonly dbSize = new Gauge({ name: 'etcd_mvcc_db_total_size_in_bytes', help: 'Total size of the underlying database physically allocated in bytes.', registers: [this.registry] });

  /**
   * --metrics extensive only: go-grpc-prometheus's server handling-time histogram
   * (etcd calls grpc_prometheus.EnableHandlingTimeHistogram()), observed by
   * api/grpc-metrics.ts around every RPC. Undefined with --metrics basic.
   */
  readonly grpcHandling: GrpcHandlingHistogram | undefined;

  constructor(opts: { extensive?: boolean } = {}) {
    processMetrics();
    this.grpcHandling = opts.extensive
      ? new SeriesHistogram({
          name: 'grpc_server_handling_seconds',
          help: 'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.',
          labelNames: ['grpc_type', 'grpc_service', 'grpc_method'] as const,
          // prometheus.DefBuckets, go-grpc-prometheus's default.
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers: [this.registry],
        })
      : undefined;
  }

  /** The /metrics text: this member's metrics, then the process's. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    const both = Registry.merge([this.registry, processMetrics()]);
    return { contentType: both.contentType, body: await both.metrics() };
  }
}
