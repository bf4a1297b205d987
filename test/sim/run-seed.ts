// One seed, one run: start a cluster on simulated time, let clients and watchers
// work while the nemesis strikes, then heal, let the cluster settle, and collect
// the history, the reference event log and what went wrong. The run installs
// virtual time (virtual-time.ts) for its duration only.

import { createHash } from 'node:crypto';
import type { History, RevisionEvents } from '../checkers/history.js';
import { SimClients } from './sim-clients.js';
import { SimCluster } from './sim-cluster.js';
import { Nemesis } from './sim-faults.js';
import { SimWatchers } from './sim-watchers.js';
import { drainMicrotasks, installVirtualTime, real, watchRealIo } from './virtual-time.js';

export interface RunOptions {
  seed: number;
  /** Simulated ms of client load under faults. */
  chaosMs: number;
  members: number;
  clients: number;
  watchers: number;
  snapshotCount: number;
  /** Mean simulated ms between faults. */
  faultGapMs: number;
  /** Also report real timers started during the run (not under vitest, whose worker sets its own). */
  watchRealTimers?: boolean;
  /** The leader lease for every member (on by default, as in production; false: ETCD_TS_LEADER_LEASE=off). */
  leaderLease?: boolean;
}

export const DEFAULT_RUN: Omit<RunOptions, 'seed'> = {
  chaosMs: 4000, members: 3, clients: 4, watchers: 3, snapshotCount: 20, faultGapMs: 1200,
};

export interface RunResult {
  seed: number;
  history: History;
  events: RevisionEvents[];
  /** Problems the run itself saw (fatal stops, refused start-ups, members disagreeing). */
  problems: string[];
  nemesis: string[];
  /** The highest compacted revision of the members at the end. */
  compactedRevision: number;
  /** Simulated ms the run covered. */
  simulatedMs: number;
  wallMs: number;
  /** sha256 of the history and the event log: the same seed must give the same hash. */
  hash: string;
}

/** Runs the scheduler until simulated time `until`, draining microtasks after every event. */
async function runUntil(cluster: SimCluster, until: number, stopWhen?: () => boolean): Promise<void> {
  const { sched } = cluster;
  await drainMicrotasks();
  for (;;) {
    if (stopWhen?.()) return;
    const next = sched.nextAt();
    if (next === undefined || next > until) break;
    sched.fireNext(until);
    await drainMicrotasks();
    cluster.checkLeaderLeases();
  }
  sched.moveTo(until);
}

/** Drives the scheduler until `p` settles (its work may need simulated I/O or timers). */
async function drive<T>(cluster: SimCluster, p: Promise<T>): Promise<T> {
  let settled = false;
  // A handler from the start: a rejection while the simulation runs must reach the caller, not Node's unhandled-rejection exit.
  const done = p.then(
    (value) => { settled = true; return { ok: true as const, value }; },
    (error: unknown) => { settled = true; return { ok: false as const, error }; },
  );
  await runUntil(cluster, cluster.sched.now() + 60_000, () => settled);
  if (!settled) throw new Error('a simulated operation did not finish within 60 s of simulated time');
  const outcome = await done;
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

export async function runSeed(seed: number, over: Partial<Omit<RunOptions, 'seed'>> = {}): Promise<RunResult> {
  const opts: RunOptions = { ...DEFAULT_RUN, ...over, seed };
  const started = real.performanceNow();
  const cluster = new SimCluster({ seed, members: opts.members, snapshotCount: opts.snapshotCount, leaderLease: opts.leaderLease !== false });
  const uninstall = installVirtualTime(cluster.sched, cluster.rng);
  const stopWatchingIo = watchRealIo({ timers: opts.watchRealTimers === true });
  try {
    const clients = new SimClients(cluster, opts.clients, 30);
    const watchers = new SimWatchers(cluster, 1000);
    const nemesis = new Nemesis(cluster, opts.faultGapMs);
    cluster.onDown = (m) => {
      clients.memberDown(m);
      watchers.memberDown(m);
    };
    cluster.serverRevoke = (m, id, run) => clients.serverRevoke(m, id, run);
    cluster.start();
    // Elect a leader before the load starts (bounded).
    await runUntil(cluster, 5000, () => cluster.leader() !== undefined);
    clients.start();
    watchers.start(opts.watchers, opts.chaosMs);
    nemesis.start();
    const t0 = cluster.sched.now();
    await runUntil(cluster, t0 + opts.chaosMs);
    clients.stop();
    nemesis.heal();
    // Settle: calls in flight finish or time out, members catch up, watchers reach the end.
    const settleEnd = cluster.sched.now() + 30_000;
    const settled = (): boolean => {
      if (clients.pending > 0) return false;
      const leader = cluster.leader();
      if (!leader) return false;
      const rev = leader.current!.stores.current.currentRevision();
      const index = leader.current!.raft.committedIndex;
      const caughtUp = cluster.up().every((m) => m.current!.applier.applied >= index && m.current!.stores.current.currentRevision() === rev);
      return caughtUp;
    };
    await runUntil(cluster, settleEnd, settled);
    if (!settled()) cluster.problems.push(`the cluster did not settle within 30 s after healing (${describeState(cluster)})`);
    // Time for watchers to deliver what is left (their sync loop runs every 100 ms); nothing else may change.
    await runUntil(cluster, cluster.sched.now() + 2000);
    await drive(cluster, watchers.closeAll());
    await drive(cluster, agree(cluster));
    const history: History = { operations: clients.operations, watches: watchers.records };
    const events = cluster.eventLog();
    const compactedRevision = Math.max(0, ...cluster.up().map((m) => m.current!.stores.current.compactRevision()));
    for (const m of cluster.members) if (m.up) m.halt();
    const io = stopWatchingIo();
    if (io.size > 0) cluster.problems.push(`real I/O during the simulation (the run is not deterministic): ${JSON.stringify([...io])}`);
    return {
      seed,
      history,
      events,
      problems: cluster.problems,
      nemesis: nemesis.log,
      compactedRevision,
      simulatedMs: cluster.sched.now(),
      wallMs: real.performanceNow() - started,
      hash: hashOf(history, events),
    };
  } finally {
    stopWatchingIo();
    uninstall();
  }
}

/**
 * Every member that is up has the same keys at the same revision. Leases granted
 * during the run may still expire now (a write while we look), so the members are
 * compared at the lowest revision they all have; that they all reached the same
 * revision was checked when the cluster settled.
 */
async function agree(cluster: SimCluster): Promise<void> {
  const up = cluster.up();
  // A compaction whose client gave up may still commit after the settle, so one
  // member may have compacted past another's current revision: compare where
  // every member compared can answer (members still behind it are left out here;
  // that all reached one revision was checked at the settle).
  const compacted = Math.max(...up.map((m) => m.current!.stores.current.compactRevision()));
  const revision = Math.max(compacted, Math.min(...up.map((m) => m.current!.stores.current.currentRevision())));
  let first: { name: string; text: string } | undefined;
  for (const m of up) {
    if (m.current!.stores.current.currentRevision() < revision) continue;
    const store = m.current!.stores.current;
    const res = await store.range({
      key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), limit: 0, revision, sortOrder: 0, sortTarget: 0,
      serializable: true, keysOnly: false, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0,
    });
    const text = JSON.stringify(res.kvs.map((kv) => [Buffer.from(kv.key).toString(), Buffer.from(kv.value).toString(), kv.modRevision, kv.lease.toString()]));
    if (!first) first = { name: m.name, text };
    else if (first.text !== text) cluster.problems.push(`members disagree at revision ${revision} after settling: ${first.name} ${first.text} vs ${m.name} ${text}`);
  }
}

function describeState(cluster: SimCluster): string {
  return cluster.members
    .map((m) => (m.up ? `${m.name}: applied ${m.current!.applier.applied} rev ${m.current!.stores.current.currentRevision()} lead ${m.current!.raft.leader.toString(16)}` : `${m.name}: ${m.removed ? 'removed' : 'down'}`))
    .join('; ');
}

function hashOf(history: History, events: RevisionEvents[]): string {
  const json = JSON.stringify({ history, events }, (_k, v: unknown) => (v === Infinity ? 'Infinity' : typeof v === 'bigint' ? v.toString() : v));
  return createHash('sha256').update(json).digest('hex').slice(0, 16);
}
