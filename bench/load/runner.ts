// Drives a workload: `clients` independent loops, each with exactly one
// request in flight, spread round-robin over the pool's connections, until
// `total` requests have completed. One preallocated callback per loop, so the
// steady state allocates nothing of ours per request.

import type * as grpc from '@grpc/grpc-js';
import { LatencyRecorder } from './histogram.js';
import type { KvTransport, UnaryCallback } from './pool.js';
import type { Workload } from './workloads.js';

export interface RunResult {
  recorder: LatencyRecorder;
  completed: number;
  errors: number;
  /** Error message -> count (first 10 distinct). */
  errorSamples: Map<string, number>;
  durationSec: number;
  /** With RunOptions.recordStarts: each request's start (ms since the Unix epoch), in recorder order. */
  starts?: Float64Array;
}

export interface RunOptions {
  clients: number;
  total: number;
  timeoutMs: number;
  /** Called every second with the number of completed requests. */
  onProgress?: (completed: number, elapsedSec: number) => void;
  /** Keep every request's start time too (for --latency-log). */
  recordStarts?: boolean;
  /** Requests per second in all (0 or absent: back to back): request i is issued no earlier than i/pace s after the start. */
  pace?: number;
}

export function runWorkload(pool: KvTransport, workload: Workload, o: RunOptions): Promise<RunResult> {
  const recorder = new LatencyRecorder(o.total);
  const errorSamples = new Map<string, number>();
  let issued = 0;
  let completed = 0;
  let errors = 0;
  let running = Math.min(o.clients, o.total);
  const start = performance.now();
  const pace = o.pace ?? 0;
  let starts = o.recordStarts ? new Float64Array(Math.max(1, o.total)) : undefined;

  return new Promise((resolve) => {
    const timer = o.onProgress
      ? setInterval(() => o.onProgress!(completed, (performance.now() - start) / 1000), 1000)
      : undefined;
    const finish = (): void => {
      if (timer) clearInterval(timer);
      const durationSec = (performance.now() - start) / 1000;
      resolve({ recorder, completed, errors, errorSamples, durationSec, ...(starts ? { starts: starts.subarray(0, completed) } : {}) });
    };
    if (running === 0) return finish();

    for (let c = 0; c < running; c++) {
      const call = pool.method(c, workload.method);
      const noOptions: grpc.CallOptions = {};
      let t0 = 0;
      const issue = (): void => {
        if (issued >= o.total) {
          if (--running === 0) finish();
          return;
        }
        if (pace > 0) {
          const wait = start + (issued * 1000) / pace - performance.now();
          if (wait > 0) {
            setTimeout(issue, wait);
            return;
          }
        }
        issued++;
        const req = workload.next();
        t0 = performance.now();
        const options = o.timeoutMs > 0 ? { deadline: Date.now() + o.timeoutMs } : noOptions;
        call(req, options, done);
      };
      const done: UnaryCallback = (err) => {
        recorder.record(performance.now() - t0);
        if (starts) {
          if (completed === starts.length) {
            const next = new Float64Array(starts.length * 2);
            next.set(starts);
            starts = next;
          }
          starts[completed] = performance.timeOrigin + t0;
        }
        completed++;
        if (err) {
          errors++;
          const k = `${err.code}: ${err.details || err.message}`;
          const seen = errorSamples.get(k);
          if (seen !== undefined) errorSamples.set(k, seen + 1);
          else if (errorSamples.size < 10) errorSamples.set(k, 1);
        }
        issue();
      };
      issue();
    }
  });
}
