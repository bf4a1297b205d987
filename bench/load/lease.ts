// The lease keep-alive benchmark: --leases leases granted (TTL --ttl), then
// --total keep-alive requests for them, round-robin over the leases, sent over
// --streams LeaseKeepAlive streams on --conns connections (round-robin over
// --endpoints). --clients keep-alives are in flight at once, spread evenly over
// the streams (closed loop: a stream sends its next request when an answer
// comes). Answers on a stream come in request order (etcd answers each stream's
// requests one by one), so each answer's latency is measured from the send time
// at the head of that stream's queue.
//
// Reports keep-alives per second and the latency distribution, plus grant and
// revoke rates (every lease is revoked at the end, so runs do not pile up
// leases). An answer with TTL 0 (the lease is gone) counts as an error.

import * as grpc from '@grpc/grpc-js';
import { apiServices } from '../../src/server/api/services.js';
import type * as pb from '../../src/pb/types.js';
import type { BenchOptions } from './args.js';
import { LatencyRecorder, type LatencyStats } from './histogram.js';
import { latencySummary, r3 } from './report.js';

export interface LeaseKeepAliveSummary {
  workload: 'lease-keepalive';
  endpoints: string[];
  leases: number;
  ttl: number;
  streams: number;
  conns: number;
  clients: number;
  total: number;
  completed: number;
  /** Answers with TTL 0 (lease not found) plus stream errors. */
  errors: number;
  durationSec: number;
  keepAlivesPerSec: number;
  grantsPerSec: number;
  revokesPerSec: number;
  /** CPU this benchmark process used (user + system): a saturated client skews the latencies. */
  clientCpuSec: number;
  latencyMs: Omit<LatencyStats, 'count'>;
}

type Unary = (req: unknown, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: unknown) => void) => void;
type LeaseStub = grpc.Client & {
  LeaseGrant: Unary;
  LeaseRevoke: Unary;
  LeaseKeepAlive(): grpc.ClientDuplexStream<pb.Encodable<pb.LeaseKeepAliveRequest>, pb.LeaseKeepAliveResponse>;
};

/** Grants and revokes in flight at once. */
const UNARY_CONCURRENCY = 64;
const UNARY_TIMEOUT_MS = 30_000;
/** A stream with no answer for this long fails the run (a server that stopped answering). */
const STALL_MS = 30_000;


function unary<Res>(fn: Unary, stub: grpc.Client, req: unknown): Promise<Res> {
  return new Promise((res, rej) =>
    fn.call(stub, req, { deadline: Date.now() + UNARY_TIMEOUT_MS }, (err, v) => (err ? rej(err) : res(v as Res))),
  );
}

/** Runs `n` jobs with at most `limit` at once; returns the seconds taken. */
async function pooled(n: number, limit: number, job: (i: number) => Promise<void>): Promise<number> {
  const start = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < n; i = next++) await job(i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
  return (performance.now() - start) / 1000;
}

export async function runLeaseKeepAliveBench(opts: BenchOptions, progress: (line: string) => void): Promise<LeaseKeepAliveSummary> {
  const Ctor = grpc.makeGenericClientConstructor(apiServices().Lease, 'Lease');
  const stubs: LeaseStub[] = [];
  for (let i = 0; i < opts.conns; i++) {
    stubs.push(new Ctor(opts.endpoints[i % opts.endpoints.length]!, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    }) as unknown as LeaseStub);
  }
  const streams: ReturnType<LeaseStub['LeaseKeepAlive']>[] = [];
  const ids: bigint[] = new Array<bigint>(opts.leases);
  let granted = 0;
  try {
    const grantSec = await pooled(opts.leases, UNARY_CONCURRENCY, async (i) => {
      const stub = stubs[i % stubs.length]!;
      const r = await unary<pb.LeaseGrantResponse>(stub.LeaseGrant, stub, { TTL: BigInt(opts.ttl), ID: 0n });
      ids[i] = r.ID;
      granted++;
    });
    progress(`granted ${opts.leases} leases (TTL ${opts.ttl} s) in ${grantSec.toFixed(2)} s`);

    const recorder = new LatencyRecorder(opts.total);
    const cpu0 = process.cpuUsage();
    let sent = 0;
    let completed = 0;
    let errors = 0;
    let failure: Error | undefined;
    let lastAnswer = performance.now();
    const start = performance.now();
    await new Promise<void>((resolve, reject) => {
      const finishIfDone = (): void => {
        if (completed === opts.total) resolve();
      };
      const perStream = Math.max(1, Math.ceil(opts.clients / opts.streams));
      for (let s = 0; s < opts.streams; s++) {
        const stub = stubs[s % stubs.length]!;
        const call = stub.LeaseKeepAlive();
        streams.push(call);
        const sentAt: number[] = [];
        let head = 0;
        const send = (): void => {
          if (sent >= opts.total) return;
          const id = ids[sent % ids.length]!;
          sent++;
          sentAt.push(performance.now());
          call.write({ ID: id });
        };
        call.on('data', (r: pb.LeaseKeepAliveResponse) => {
          const now = performance.now();
          lastAnswer = now;
          recorder.record(now - sentAt[head++]!);
          if (head > 1024) {
            sentAt.splice(0, head);
            head = 0;
          }
          if (r.TTL <= 0n) errors++;
          completed++;
          send();
          finishIfDone();
        });
        call.on('error', (e: grpc.ServiceError) => {
          if (e.code === grpc.status.CANCELLED) return;
          failure ??= new Error(`keep-alive stream ${s}: ${e.details || e.message}`);
          reject(failure);
        });
        for (let k = 0; k < perStream; k++) send();
      }
      const timer = setInterval(() => {
        const now = performance.now();
        progress(`[${((now - start) / 1000).toFixed(0)}s] ${completed}/${opts.total} keep-alives answered`);
        if (now - lastAnswer > STALL_MS) {
          clearInterval(timer);
          reject(new Error(`no keep-alive answered for ${STALL_MS} ms (${completed}/${opts.total})`));
        }
        if (completed === opts.total) clearInterval(timer);
      }, 1000);
      timer.unref();
    });
    const durationSec = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    for (const c of streams) c.end();

    const revokeSec = await pooled(granted, UNARY_CONCURRENCY, async (i) => {
      const stub = stubs[i % stubs.length]!;
      await unary(stub.LeaseRevoke, stub, { ID: ids[i]! });
    });
    granted = 0;
    progress(`revoked ${opts.leases} leases in ${revokeSec.toFixed(2)} s`);

    const st = recorder.stats();
    return {
      workload: 'lease-keepalive',
      endpoints: opts.endpoints,
      leases: opts.leases,
      ttl: opts.ttl,
      streams: opts.streams,
      conns: opts.conns,
      clients: opts.clients,
      total: opts.total,
      completed,
      errors,
      durationSec: r3(durationSec),
      keepAlivesPerSec: Math.round(completed / durationSec),
      grantsPerSec: Math.round(opts.leases / grantSec),
      revokesPerSec: Math.round(opts.leases / revokeSec),
      clientCpuSec: r3((cpu.user + cpu.system) / 1e6),
      latencyMs: latencySummary(st),
    };
  } finally {
    for (const c of streams) c.cancel();
    // Leases left by a failed run: revoked best effort so they do not linger for their TTL.
    if (granted > 0) {
      await pooled(ids.length, UNARY_CONCURRENCY, async (i) => {
        const stub = stubs[i % stubs.length]!;
        if (ids[i] !== undefined) await unary(stub.LeaseRevoke, stub, { ID: ids[i] }).catch(() => {});
      });
    }
    for (const s of stubs) s.close();
  }
}

export function formatLeaseKeepAliveReport(s: LeaseKeepAliveSummary): string {
  const ms = (x: number): string => `${x.toFixed(3).padStart(10)} ms`;
  const L = s.latencyMs;
  return [
    `Summary (lease-keepalive, ${s.leases} leases of ${s.ttl} s, ${s.clients} in flight over ${s.streams} streams / ${s.conns} conns):`,
    `  Keep-alives:   ${s.completed} of ${s.total} answered (${s.errors} errors)`,
    `  Duration:      ${s.durationSec.toFixed(3)} s`,
    `  Keep-alives/s: ${s.keepAlivesPerSec}`,
    `  Grants/s:      ${s.grantsPerSec} (before), revokes/s: ${s.revokesPerSec} (after)`,
    `  Client CPU:    ${s.clientCpuSec.toFixed(2)} s (this process; near the duration means the client is the bottleneck)`,
    '',
    'Keep-alive latency (request sent → answer on its stream):',
    `  fastest  ${ms(L.fastest)}`,
    `  average  ${ms(L.average)}`,
    `  50%   in ${ms(L.p50)}`,
    `  90%   in ${ms(L.p90)}`,
    `  99%   in ${ms(L.p99)}`,
    `  99.9% in ${ms(L.p999)}`,
    `  slowest  ${ms(L.slowest)}`,
  ].join('\n');
}

export interface LeasePhase {
  completed: number;
  errors: number;
  durationSec: number;
  perSec: number;
  latencyMs: Omit<LatencyStats, 'count'>;
}

export interface LeaseGrantRevokeSummary {
  workload: 'lease';
  endpoints: string[];
  conns: number;
  clients: number;
  total: number;
  ttl: number;
  /** Grants plus revokes that succeeded. */
  completed: number;
  errors: number;
  /** Both phases: (grants + revokes) / (grant time + revoke time), latency over both. */
  durationSec: number;
  requestsPerSec: number;
  latencyMs: Omit<LatencyStats, 'count'>;
  grant: LeasePhase;
  revoke: LeasePhase;
  clientCpuSec: number;
}

/**
 * The lease grant / revoke benchmark: --total LeaseGrant calls (TTL --ttl) with
 * --clients in flight over --conns connections, then one LeaseRevoke per granted
 * lease, --clients in flight. Each phase is timed on its own.
 */
export async function runLeaseGrantRevokeBench(opts: BenchOptions, progress: (line: string) => void): Promise<LeaseGrantRevokeSummary> {
  const Ctor = grpc.makeGenericClientConstructor(apiServices().Lease, 'Lease');
  const stubs: LeaseStub[] = [];
  for (let i = 0; i < opts.conns; i++) {
    stubs.push(new Ctor(opts.endpoints[i % opts.endpoints.length]!, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    }) as unknown as LeaseStub);
  }
  const ids: (bigint | undefined)[] = new Array<bigint | undefined>(opts.total);
  const both = new LatencyRecorder(opts.total * 2);
  const cpu0 = process.cpuUsage();
  const phase = async (
    name: string,
    n: number,
    call: (i: number, stub: LeaseStub) => Promise<boolean>,
  ): Promise<LeasePhase> => {
    const rec = new LatencyRecorder(n);
    let errors = 0;
    let completed = 0;
    const sec = await pooled(n, opts.clients, async (i) => {
      const t0 = performance.now();
      const ok = await call(i, stubs[i % stubs.length]!).catch(() => false);
      const ms = performance.now() - t0;
      if (!ok) {
        errors++;
        return;
      }
      completed++;
      rec.record(ms);
      both.record(ms);
    });
    progress(`${name}: ${completed} of ${n} in ${sec.toFixed(2)} s (${errors} errors)`);
    return { completed, errors, durationSec: r3(sec), perSec: Math.round(completed / sec), latencyMs: latencySummary(rec.stats()) };
  };
  try {
    const grant = await phase('grant', opts.total, async (i, stub) => {
      const r = await unary<pb.LeaseGrantResponse>(stub.LeaseGrant, stub, { TTL: BigInt(opts.ttl), ID: 0n });
      ids[i] = r.ID;
      return true;
    });
    const granted = ids.filter((x): x is bigint => x !== undefined);
    const revoke = await phase('revoke', granted.length, async (i, stub) => {
      await unary(stub.LeaseRevoke, stub, { ID: granted[i]! });
      return true;
    });
    const cpu = process.cpuUsage(cpu0);
    const durationSec = grant.durationSec + revoke.durationSec;
    const completed = grant.completed + revoke.completed;
    return {
      workload: 'lease',
      endpoints: opts.endpoints,
      conns: opts.conns,
      clients: opts.clients,
      total: opts.total,
      ttl: opts.ttl,
      completed,
      errors: grant.errors + revoke.errors,
      durationSec: r3(durationSec),
      requestsPerSec: Math.round(completed / durationSec),
      latencyMs: latencySummary(both.stats()),
      grant,
      revoke,
      clientCpuSec: r3((cpu.user + cpu.system) / 1e6),
    };
  } finally {
    for (const s of stubs) s.close();
  }
}

export function formatLeaseGrantRevokeReport(s: LeaseGrantRevokeSummary): string {
  const line = (name: string, p: LeasePhase): string =>
    `  ${name}: ${p.completed} ok, ${p.errors} errors in ${p.durationSec.toFixed(3)} s = ${p.perSec}/s; ` +
    `p50 ${p.latencyMs.p50.toFixed(3)} ms, p99 ${p.latencyMs.p99.toFixed(3)} ms, slowest ${p.latencyMs.slowest.toFixed(3)} ms`;
  return [
    `Summary (lease grant then revoke, ${s.total} leases of ${s.ttl} s, ${s.clients} in flight over ${s.conns} conns):`,
    line('Grant ', s.grant),
    line('Revoke', s.revoke),
    `  Both:   ${s.requestsPerSec}/s, p99 ${s.latencyMs.p99.toFixed(3)} ms`,
    `  Client CPU: ${s.clientCpuSec.toFixed(2)} s (this process)`,
  ].join('\n');
}
