// The watch fan-out benchmark: --watchers watchers on one prefix (spread over
// --streams Watch streams on --conns connections), and a writer putting --total
// keys under that prefix at a fixed --rate (open loop: puts are issued on
// schedule whether or not earlier ones have finished, up to a bound in flight).
// Each value starts with the time its put was issued (a float64 of
// performance.now(); watchers run in this process), so every event received
// gives one delivery latency: put issued → event at the watcher.
//
// Reports events delivered per second (all watchers together, from the first
// put to the last event) and the latency distribution; events still missing
// when the wait ends are counted, never silently dropped. Per put, it also
// splits that latency in two: put issued → its first event anywhere (commit,
// apply, the start of the fan-out) and first → last of its events (the fan-out
// to every watcher and this client reading them), to tell which one a tail is.

import * as grpc from '@grpc/grpc-js';
import { apiServices } from '../../src/server/api/services.js';
import type * as pb from '../../src/pb/types.js';
import type { BenchOptions } from './args.js';
import { LatencyRecorder, type LatencyStats } from './histogram.js';
import { latencySummary, r3 } from './report.js';
import { keySpaceRange, makeKey } from './keys.js';
import { KvPool } from './pool.js';

/** Puts allowed in flight before the writer stops issuing (a server far slower than --rate). */
const MAX_IN_FLIGHT = 1000;
/** How long to wait for the last events once every put has completed. */
const DRAIN_MS = 30_000;

export interface WatchSummary {
  workload: 'watch';
  endpoints: string[];
  watchEndpoints: string[];
  watchers: number;
  streams: number;
  conns: number;
  rate: number;
  total: number;
  valSize: number;
  putErrors: number;
  putsPerSec: number;
  expectedEvents: number;
  deliveredEvents: number;
  missingEvents: number;
  eventsPerSec: number;
  durationSec: number;
  /** CPU this benchmark process used (user + system): a saturated client skews the latencies. */
  clientCpuSec: number;
  latencyMs: Omit<LatencyStats, 'count'>;
  /** Per put: issued → its first event at any watcher. */
  firstEventMs: Omit<LatencyStats, 'count'>;
  /** Per put: its first event → its last one (the fan-out's spread). */
  fanOutSpreadMs: Omit<LatencyStats, 'count'>;
  /** Each put's own latency, issue to response. */
  putMs: Omit<LatencyStats, 'count'>;
}

type WatchCall = grpc.ClientDuplexStream<pb.Encodable<pb.WatchRequest>, pb.WatchResponse>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ms: number, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * One line per put for --latency-log: when it was issued (ms since the Unix
 * epoch), then its first and its last event's delivery latency (ms), to line
 * the tail up against a member's GC and event-loop trace (bench/loop-trace.cjs).
 */
export function watchLatencyLines(perPut: ReadonlyMap<number, { first: number; last: number }>): string[] {
  const lines: string[] = [];
  for (const [issued, seen] of perPut) {
    lines.push(`${(performance.timeOrigin + issued).toFixed(3)} ${(seen.first - issued).toFixed(3)} ${(seen.last - issued).toFixed(3)}`);
  }
  return lines;
}

export async function runWatchBench(
  opts: BenchOptions,
  progress: (line: string) => void,
  onPerPut?: (perPut: ReadonlyMap<number, { first: number; last: number }>) => void,
): Promise<WatchSummary> {
  const Ctor = grpc.makeGenericClientConstructor(apiServices().Watch, 'Watch');
  const clients: grpc.Client[] = [];
  for (let i = 0; i < opts.conns; i++) {
    clients.push(new Ctor(opts.watchEndpoints[i % opts.watchEndpoints.length]!, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': -1,
    }));
  }
  const recorder = new LatencyRecorder(opts.watchers * opts.total);
  const cpu0 = process.cpuUsage();
  const calls: WatchCall[] = [];
  let created = 0;
  let delivered = 0;
  let lastEventAt = 0;
  let streamError: Error | undefined;
  /** Per put (keyed by the issue time its value carries): when its first and its last event arrived. */
  const perPut = new Map<number, { first: number; last: number }>();
  const onResponse = (r: pb.WatchResponse): void => {
    if (r.created) {
      if (r.canceled) streamError ??= new Error(`watch create failed: ${r.cancelReason}`);
      created++;
      return;
    }
    const now = performance.now();
    for (const ev of r.events) {
      const v = ev.kv?.value;
      if (v === undefined || v.length < 8) continue;
      const issued = v.readDoubleLE(0);
      recorder.record(now - issued);
      delivered++;
      const seen = perPut.get(issued);
      if (seen === undefined) perPut.set(issued, { first: now, last: now });
      else seen.last = now;
    }
    if (r.events.length > 0) lastEventAt = now;
  };
  const range = keySpaceRange(opts.prefix);
  for (let s = 0; s < opts.streams; s++) {
    const c = clients[s % clients.length] as unknown as { Watch(): WatchCall };
    const call = c.Watch();
    call.on('data', onResponse);
    call.on('error', (e: Error) => {
      if ((e as grpc.ServiceError).code !== grpc.status.CANCELLED) streamError ??= e;
    });
    calls.push(call);
  }
  for (let w = 0; w < opts.watchers; w++) calls[w % calls.length]!.write({ createRequest: { key: range.key, rangeEnd: range.rangeEnd } });
  const kv = new KvPool(opts.endpoints, 1);
  try {
    await until(`${opts.watchers} watchers created`, 60_000, () => created >= opts.watchers || streamError !== undefined);
    if (streamError) throw streamError;
    await kv.ready();
    const put = kv.method(0, 'Put');
    const keys: Buffer[] = [];
    for (let i = 0; i < opts.total; i++) keys.push(makeKey(opts.prefix, i % opts.keySpace, opts.keySize));
    const valSize = Math.max(8, opts.valSize);

    let issued = 0, done = 0, putErrors = 0;
    // The puts' own latency (to their response): what of an event's latency is the write's.
    const putLatency = new LatencyRecorder(opts.total);
    const start = performance.now();
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const due = Math.min(opts.total, Math.floor(((performance.now() - start) * opts.rate) / 1000) + 1);
        while (issued < due && issued - done < MAX_IN_FLIGHT) {
          const value = Buffer.alloc(valSize);
          const putAt = performance.now();
          value.writeDoubleLE(putAt, 0);
          put({ key: keys[issued]!, value }, {}, (err) => {
            putLatency.record(performance.now() - putAt);
            done++;
            if (err) putErrors++;
            if (done === opts.total) resolve();
          });
          issued++;
        }
        if (issued < opts.total) setTimeout(tick, 1);
      };
      tick();
    });
    const putsSec = (performance.now() - start) / 1000;
    progress(`${opts.total} puts in ${putsSec.toFixed(2)} s (${putErrors} errors); waiting for events`);
    const expected = opts.watchers * (opts.total - putErrors);
    await until('every event', DRAIN_MS, () => delivered >= expected || streamError !== undefined).catch(() => {});
    const durationSec = ((lastEventAt || performance.now()) - start) / 1000;
    const st = recorder.stats();
    const first = new LatencyRecorder(perPut.size);
    const spread = new LatencyRecorder(perPut.size);
    for (const [issued, seen] of perPut) {
      first.record(seen.first - issued);
      spread.record(seen.last - seen.first);
    }
    const cpu = process.cpuUsage(cpu0);
    onPerPut?.(perPut);
    return {
      workload: 'watch',
      endpoints: opts.endpoints,
      watchEndpoints: opts.watchEndpoints,
      watchers: opts.watchers,
      streams: opts.streams,
      conns: opts.conns,
      rate: opts.rate,
      total: opts.total,
      valSize,
      putErrors,
      putsPerSec: Math.round((opts.total - putErrors) / putsSec),
      expectedEvents: expected,
      deliveredEvents: delivered,
      missingEvents: Math.max(0, expected - delivered),
      eventsPerSec: Math.round(delivered / durationSec),
      durationSec: r3(durationSec),
      clientCpuSec: r3((cpu.user + cpu.system) / 1e6),
      latencyMs: latencySummary(st),
      firstEventMs: latencySummary(first.stats()),
      fanOutSpreadMs: latencySummary(spread.stats()),
      putMs: latencySummary(putLatency.stats()),
    };
  } finally {
    for (const c of calls) c.cancel();
    for (const c of clients) c.close();
    kv.close();
  }
}

export function formatWatchReport(s: WatchSummary): string {
  const ms = (x: number): string => `${x.toFixed(3).padStart(10)} ms`;
  const L = s.latencyMs;
  return [
    `Summary (watch, ${s.watchers} watchers on ${s.streams} streams / ${s.conns} conns, ${s.rate} puts/s, ${s.valSize}-byte values):`,
    `  Puts:          ${s.total} (${s.putErrors} errors), ${s.putsPerSec}/s achieved`,
    `  Events:        ${s.deliveredEvents} of ${s.expectedEvents} delivered (${s.missingEvents} missing)`,
    `  Duration:      ${s.durationSec.toFixed(3)} s (first put to last event)`,
    `  Events/sec:    ${s.eventsPerSec}`,
    `  Client CPU:    ${s.clientCpuSec.toFixed(2)} s (this process; near the duration means the client is the bottleneck)`,
    '',
    'Delivery latency (put issued → event at the watcher):',
    `  50%   in ${ms(L.p50)}`,
    `  90%   in ${ms(L.p90)}`,
    `  99%   in ${ms(L.p99)}`,
    `  99.9% in ${ms(L.p999)}`,
    `  slowest  ${ms(L.slowest)}`,
    '',
    'Per put: issued → first event anywhere, and first → last event (fan-out spread):',
    `  50%   ${ms(s.firstEventMs.p50)}   ${ms(s.fanOutSpreadMs.p50)}`,
    `  99%   ${ms(s.firstEventMs.p99)}   ${ms(s.fanOutSpreadMs.p99)}`,
    `  slowest ${ms(s.firstEventMs.slowest)}   ${ms(s.fanOutSpreadMs.slowest)}`,
  ].join('\n');
}
