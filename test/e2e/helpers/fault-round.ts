// One round of the fault suite on a shared FaultCluster: settle, start the
// recorded workload on a fresh key prefix, inject one fault (which restarts or
// heals what it broke), keep the traffic going a while, stop it, settle again,
// read the committed event log of the round, and judge: every member's HashKV
// agrees, and the checkers of test/checkers (linearizability, serializable
// reads, durability, watches) accept the history against that log. A failing round keeps its evidence (data dirs, every
// process's log, the history, the event log) and says where.

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Operation, RevisionEvents, WatchRecord } from '../../checkers/history.js';
import { checkDurability, checkHistory, checkLinearizable, initialState, resolveUnknownWrites, validateWatches, type ModelState } from '../../checkers/index.js';
import { sleep } from './cluster.js';
import type { FaultCluster } from './fault-cluster.js';
import { HistoryRecorder, historyJson } from './fault-history.js';
import type { Fault, FaultContext, FaultOutcome } from './fault-kinds.js';
import { Rng, Workload } from './fault-workload.js';
import type { Member } from './member.js';

export interface RoundOptions {
  snapshotCount: number;
  clients: number;
  /** Traffic before the fault and after it is over (ms). */
  warmupMs: number;
  afterMs: number;
  /** Where failing rounds keep their evidence. */
  evidenceRoot: string;
}

export interface RoundResult {
  round: number;
  fault: string;
  seed: number;
  outcome: FaultOutcome | undefined;
  operations: number;
  /** Writes of unknown outcome found in the event log, and not found (dropped). */
  unknownResolved: number;
  unknownDropped: number;
  watchResponses: number;
  revisions: number;
  wallMs: number;
  problems: string[];
  notes: string[];
  evidence?: string;
}

export const defaultEvidenceRoot = (): string => join(tmpdir(), `etcd-ts-faults-${process.pid}`);

/** Keys of the round's workload start with this. */
const prefixOf = (round: number): string => `r${round}/`;

async function bulkWriter(recorder: HistoryRecorder, fc: FaultCluster, prefix: string, n: number, through: Member[]): Promise<void> {
  const writers = 32;
  const members = fc.workloadMembers.filter((w) => through.some((m) => m.name === w.member));
  let left = n;
  let failures = 0;
  await Promise.all(
    Array.from({ length: writers }, async (_, i) => {
      let seq = 0;
      while (left > 0 && failures < 2_000) {
        left--;
        const w = members[(i + failures) % members.length]!;
        const res = await recorder.call(1_000 + i, w, { kind: 'put', key: `${prefix}bulk${i}`, value: `b${i}.${seq++}` });
        if (res.kind === 'error') {
          left++;
          failures++;
          await sleep(50);
        }
      }
    }),
  );
}

export interface Judgement {
  problems: string[];
  /** Operations the linearizability search took in (after unknown writes were resolved). */
  checked: number;
  resolved: number;
  dropped: number;
}

/**
 * The wiring's own test, on this round's real history: the same history with one
 * linearizable read (the middle one) answering a value nobody wrote must fail.
 * A check that passes it is not looking at what the clients saw.
 */
function corruptedCopyFails(ops: Operation[], initial: ModelState): string[] {
  const reads = ops.flatMap((o, i) => (o.request.kind === 'range' && !o.request.serializable && o.response.kind === 'range' && o.response.kvs.length > 0 ? [i] : []));
  if (reads.length === 0) return ['checker self-test: the round has no linearizable read that found a key'];
  const i = reads[Math.floor(reads.length / 2)]!;
  const o = ops[i]!;
  const res = o.response as Extract<Operation['response'], { kind: 'range' }>;
  const copy = ops.slice();
  copy[i] = { ...o, response: { ...res, kvs: [{ ...res.kvs[0]!, value: 'never written' }, ...res.kvs.slice(1)] } };
  const r = checkLinearizable(copy, { initial, timeoutMs: 20_000 });
  if (r.ok) return [`checker self-test: a copy of the history whose operation ${o.id} read a value never written was accepted`];
  return [];
}

/**
 * The same for durability and the watch validators: the round's event log
 * without the revision of one acknowledged put must fail durability, and one
 * watch response with an event delivered twice must fail the watch checks.
 */
function corruptedLogFails(ops: Operation[], watches: WatchRecord[], events: RevisionEvents[], firstRevision: number): string[] {
  const problems: string[] = [];
  const acked = ops.find((o) => o.request.kind === 'put' && o.response.kind === 'put');
  if (acked && acked.response.kind === 'put') {
    const lost = acked.response.revision;
    const log = events.map((e) => (e.revision === lost ? { ...e, events: e.events.filter((ev) => ev.kv.modRevision !== lost) } : e)).filter((e) => e.events.length > 0);
    if (checkDurability(ops, log, { firstRevision }).ok) problems.push(`checker self-test: durability accepted a log without the acknowledged put of operation ${acked.id}`);
  }
  const w = watches.find((x) => x.responses.some((r) => r.events.length > 0));
  if (w) {
    const i = w.responses.findIndex((r) => r.events.length > 0);
    const r = w.responses[i]!;
    const doubled = { ...w, responses: [...w.responses.slice(0, i + 1), { ...r, events: [r.events[0]!] }, ...w.responses.slice(i + 1)] };
    if (validateWatches([doubled], events).ok) problems.push(`checker self-test: the watch validators accepted watch ${w.id} delivering an event twice`);
  }
  return problems;
}

/** The judgement of a round (pure over what was recorded and read). */
export function judgeRound(
  recorder: HistoryRecorder,
  events: RevisionEvents[],
  start: { revision: number; compacted: number },
  end: { revision: number; time: number; compacted: number },
  prefix: string,
): Judgement {
  const endRevision = end.revision;
  const problems: string[] = [];
  const last = events.at(-1)?.revision ?? start.revision;
  if (last !== endRevision) problems.push(`the event log ends at revision ${last}, the members at ${endRevision}`);
  const foreign = events.flatMap((e) => e.events.filter((ev) => !ev.kv.key.startsWith(prefix)).map((ev) => `${ev.kv.key}@${e.revision}`));
  if (foreign.length) problems.push(`events outside the round's prefix ${prefix}: ${foreign.slice(0, 5).join(', ')}`);
  const patched = resolveUnknownWrites(recorder.operations, events, recorder.watches, end.time);
  const initial = { ...initialState(), revision: start.revision, compacted: start.compacted };
  // The event log starts after the round's first revision: older revisions belong to earlier rounds.
  const compacted = end.compacted > 0 ? end.compacted : undefined;
  const all = checkHistory({ operations: patched.operations, watches: recorder.watches }, events, {
    linearizability: { initial, timeoutMs: 60_000 },
    durability: { firstRevision: start.revision + 1, ...(compacted ? { compactedRevision: compacted } : {}) },
    watch: compacted ? { compactedRevision: compacted } : {},
  });
  problems.push(...all.problems);
  if (all.linearizability.ok) problems.push(...corruptedCopyFails(patched.operations, initial));
  if (all.durability.ok && all.watch.ok) problems.push(...corruptedLogFails(patched.operations, recorder.watches, events, start.revision + 1));
  return { problems, checked: patched.operations.length, resolved: patched.resolved, dropped: patched.dropped };
}

export async function runRound(fc: FaultCluster, fault: Fault, round: number, seed: number, opts: RoundOptions): Promise<RoundResult> {
  const t0 = Date.now();
  const notes: string[] = [];
  const prefix = prefixOf(round);
  const rng = new Rng(seed);
  const startRevision = await fc.settle();
  const compacted = await fc.compactRevision();
  const recorder = new HistoryRecorder();
  const workload = new Workload(recorder, () => fc.workloadMembers, {
    prefix,
    leaseBase: BigInt(round + 1) * 1_000_000n,
    clients: opts.clients,
    keys: 8,
    seed,
    leaseTtl: 600,
    backoffMs: 100,
    startRevision,
  });
  const ctx: FaultContext = {
    fc,
    rng,
    recorder,
    prefix,
    compactTo: startRevision,
    snapshotCount: opts.snapshotCount,
    bulk: (n, through) => bulkWriter(recorder, fc, prefix, n, through),
    note: (t) => notes.push(t),
  };
  let outcome: FaultOutcome | undefined;
  const problems: string[] = [];
  let events: RevisionEvents[] = [];
  let endRevision = startRevision;
  let judged: Judgement | undefined;
  workload.start();
  try {
    await sleep(opts.warmupMs);
    outcome = await fault.inject(ctx);
    await sleep(opts.afterMs);
  } catch (err) {
    problems.push(`injecting ${fault.name} failed: ${(err as Error).message}`);
  } finally {
    fc.proxy.heal();
    await workload.stop();
  }
  try {
    endRevision = await fc.settle();
    const settledAt = recorder.now();
    const endCompacted = await fc.compactRevision();
    const leader = await fc.leader();
    events = await fc.readEvents(leader, startRevision, endRevision);
    problems.push(...(await fc.hashProblems(endRevision)));
    judged = judgeRound(recorder, events, { revision: startRevision, compacted }, { revision: endRevision, time: settledAt, compacted: endCompacted }, prefix);
    problems.push(...judged.problems);
  } catch (err) {
    problems.push(`after the fault: ${(err as Error).message}`);
  }
  const result: RoundResult = {
    round,
    fault: fault.name,
    seed,
    outcome,
    operations: recorder.operations.length,
    unknownResolved: judged?.resolved ?? 0,
    unknownDropped: judged?.dropped ?? 0,
    watchResponses: recorder.watches.reduce((s, w) => s + w.responses.length, 0),
    revisions: endRevision - startRevision,
    wallMs: Date.now() - t0,
    problems,
    notes,
  };
  if (problems.length) {
    const dir = join(opts.evidenceRoot, `round-${round}-${fault.name.replace(/[^A-Za-z0-9]+/g, '_')}`);
    await fc.keepEvidence(dir, {
      'history.json': historyJson({ operations: recorder.operations, watches: recorder.watches }),
      'events.json': historyJson(events),
      'round.json': historyJson({ ...result, startRevision, endRevision, compacted }),
      'problems.txt': problems.join('\n') + '\n',
    });
    result.evidence = dir;
  }
  return result;
}

/** The summary line block `npm run faults` prints. */
export function summarize(results: RoundResult[]): string {
  const lines: string[] = [];
  const byFault = new Map<string, RoundResult[]>();
  for (const r of results) byFault.set(r.fault, [...(byFault.get(r.fault) ?? []), r]);
  lines.push(`fault suite: ${results.length} rounds, ${results.filter((r) => r.outcome?.happened).length} faults injected, ${results.reduce((s, r) => s + r.operations, 0)} operations checked, ${results.filter((r) => r.problems.length).length} failed`);
  for (const [fault, rs] of byFault) {
    const wall = rs.map((r) => r.wallMs).sort((a, b) => a - b);
    const leaderHits = rs.filter((r) => r.outcome?.happened && r.outcome.role === 'leader').length;
    const leaders = rs.some((r) => r.outcome?.role) ? ` (${leaderHits} on the leader)` : '';
    lines.push(
      `  ${fault.padEnd(42)} rounds ${rs.length}, happened ${rs.filter((r) => r.outcome?.happened).length}${leaders}, ops ${rs.reduce((s, r) => s + r.operations, 0)}, median ${(wall[Math.floor(wall.length / 2)]! / 1000).toFixed(1)} s/round, failed ${rs.filter((r) => r.problems.length).length}`,
    );
  }
  for (const r of results.filter((x) => x.problems.length)) {
    lines.push(`FAILED round ${r.round} ${r.fault} (seed ${r.seed}): ${r.problems.join(' | ').slice(0, 2_000)}\n  evidence: ${r.evidence}`);
  }
  for (const r of results.filter((x) => x.notes.length)) lines.push(`note round ${r.round} ${r.fault}: ${r.notes.join('; ')}`);
  return lines.join('\n');
}
