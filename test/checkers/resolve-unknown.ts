// Resolves the writes whose outcome the client never learned (the member died,
// the deadline passed) from the cluster's final per-revision event log, as
// etcd's robustness suite patches its histories. Every put writes a value no
// other write uses (both the simulation's and the fault suite's clients make
// them unique), so a write's puts identify the revision it took effect at:
//   - a put, or a txn, one of whose (key, value) puts is in the log at revision r
//     took effect at r. It gets the response it had there (for a txn: the branch
//     whose writes, replayed on the log's state before r, give exactly the log's
//     events at r; its deletes' counts and ranges read from that state), and a
//     return no later than the first watch response that showed r (it was
//     committed by then), or `settledAt`;
//   - a write that puts something and whose values are nowhere in the log had
//     no effect (a txn whose other branch only reads changed nothing either),
//     and is dropped;
//   - a delete (a key or a range) for which no revision of the log consists of
//     deletes of keys in its range only changed nothing (had it deleted a key,
//     such a revision would be there; a delete that found nothing leaves the
//     state as it was), and is dropped.
// Both only narrow what the search may choose for the operation to what really
// happened, so a history that is not linearizable stays so; and an unknown
// write no longer may take effect "at any point or never", which made the
// search exponential in their number. Other writes that put nothing (lease
// calls, compactions, a delete that some delete-only revision may be) of
// unknown outcome, and a txn whose branch the log does not single out, stay
// unknown.

import type { KeyValue, Operation, Response, RevisionEvents, TxnOp, TxnOpResult, WatchEvent, WatchRecord } from './history.js';
import { inKeyRange, keysInRange } from './keys.js';
import { EventReplay } from './replay.js';

export interface ResolveResult {
  operations: Operation[];
  /** Unknown writes found in the log (given their response) and not found (dropped). */
  resolved: number;
  dropped: number;
}

/** The client never learned what became of it (no answer, or an error that does not rule an effect out). */
export const unknownOutcome = (op: Operation): boolean => op.return === Infinity || (op.response.kind === 'error' && !op.response.definite);

/** The branches of a write as lists of ops (a put or a delete is a branch of one op). */
function branchesOf(op: Operation): { succeeded?: boolean; ops: TxnOp[] }[] | undefined {
  const r = op.request;
  if (r.kind === 'put') return [{ ops: [r] }];
  if (r.kind === 'txn') return [{ succeeded: true, ops: r.success }, { succeeded: false, ops: r.failure }];
  return undefined;
}

const putsOf = (ops: readonly TxnOp[]): { key: string; value: string }[] => ops.flatMap((o) => (o.kind === 'put' ? [o] : []));

/**
 * Replays a branch on the state before its revision and returns its results
 * and the events it makes, or undefined when it cannot be told from the log
 * (a key put twice, a put the log does not show at this revision).
 */
function replayBranch(ops: readonly TxnOp[], before: (key: string, end: string | undefined) => KeyValue[], at: RevisionEvents):
  { results: TxnOpResult[]; events: WatchEvent[] } | undefined {
  const overlay = new Map<string, KeyValue | null>(); // null: deleted in this branch
  const current = (key: string, end: string | undefined): KeyValue[] => {
    const keys = new Set([...before(key, end).map((kv) => kv.key), ...[...overlay.keys()].filter((k) => inKeyRange(k, key, end))]);
    return keysInRange(keys, key, end).flatMap((k) => {
      const o = overlay.get(k);
      if (o === null) return [];
      return [o ?? before(k, undefined)[0]!];
    });
  };
  const results: TxnOpResult[] = [];
  const events: WatchEvent[] = [];
  for (const o of ops) {
    if (o.kind === 'range') {
      results.push({ kind: 'range', kvs: current(o.key, o.end) });
    } else if (o.kind === 'delete') {
      const gone = current(o.key, o.end);
      for (const kv of gone) {
        overlay.set(kv.key, null);
        events.push({ type: 'delete', kv: { key: kv.key, value: '', createRevision: 0, modRevision: at.revision, version: 0, lease: '0' } });
      }
      results.push({ kind: 'delete', deleted: gone.length });
    } else {
      if (overlay.get(o.key)) return undefined;
      const written = at.events.find((e) => e.type === 'put' && e.kv.key === o.key && e.kv.value === o.value);
      if (!written) return undefined;
      overlay.set(o.key, written.kv);
      events.push({ type: 'put', kv: written.kv });
      results.push({ kind: 'put' });
    }
  }
  return { results, events };
}

const sameEvents = (a: readonly WatchEvent[], b: readonly WatchEvent[]): boolean =>
  a.length === b.length && a.every((e, i) => e.type === b[i].type && e.kv.key === b[i].kv.key && (e.type === 'delete' || e.kv.value === b[i].kv.value));

export function resolveUnknownWrites(ops: readonly Operation[], events: readonly RevisionEvents[], watches: readonly WatchRecord[], settledAt: number): ResolveResult {
  const putAt = new Map<string, number>(); // key \0 value -> revision
  for (const re of events) for (const e of re.events) if (e.type === 'put') putAt.set(`${e.kv.key}\0${e.kv.value}`, re.revision);
  const byRevision = new Map(events.map((re) => [re.revision, re]));
  const firstSeen = new Map<number, number>(); // revision -> earliest time a watcher had it
  for (const w of watches) {
    for (const r of w.responses) {
      for (const e of r.events) {
        const t = firstSeen.get(e.kv.modRevision);
        if (t === undefined || r.time < t) firstSeen.set(e.kv.modRevision, r.time);
      }
    }
  }
  // The key sets of revisions made of deletes only: what an unknown delete could have done.
  const deleteOnly = events.filter((re) => re.events.length > 0 && re.events.every((e) => e.type === 'delete')).map((re) => re.events.map((e) => e.kv.key));
  const mayHaveDeleted = (key: string, end: string | undefined): boolean => deleteOnly.some((keys) => keys.every((k) => inKeyRange(k, key, end)));
  // Each write's revision, found first; the log is then replayed once, in revision order.
  const found = new Map<number, number>(); // op index -> revision
  const dropIt = new Set<number>();
  ops.forEach((op, i) => {
    const r = op.request;
    if (r.kind === 'delete' && unknownOutcome(op) && !mayHaveDeleted(r.key, r.end)) dropIt.add(i);
    const branches = unknownOutcome(op) ? branchesOf(op) : undefined;
    if (!branches) return;
    const revisions = new Set(branches.flatMap((b) => putsOf(b.ops)).flatMap((p) => putAt.get(`${p.key}\0${p.value}`) ?? []));
    if (revisions.size === 1) found.set(i, [...revisions][0]);
    // In no revision: no branch that writes ran; dropped when the others only read.
    else if (revisions.size === 0 && branches.every((b) => putsOf(b.ops).length > 0 || b.ops.every((o) => o.kind === 'range'))) dropIt.add(i);
  });
  const responses = new Map<number, Response>();
  const replay = new EventReplay(events);
  for (const [i, revision] of [...found].sort((a, b) => a[1] - b[1])) {
    replay.advanceTo(revision - 1);
    const at = byRevision.get(revision)!;
    const before = (key: string, end: string | undefined): KeyValue[] => (end === undefined ? [replay.get(key) ?? []].flat() : replay.range(key, end));
    const fits = branchesOf(ops[i])!.flatMap((b) => {
      const r = replayBranch(b.ops, before, at);
      return r && sameEvents(r.events, at.events) ? [{ ...b, results: r.results }] : [];
    });
    if (fits.length !== 1) continue; // the log does not single out a branch: stays unknown
    const b = fits[0];
    responses.set(i, b.succeeded === undefined ? { kind: 'put', revision } : { kind: 'txn', revision, succeeded: b.succeeded, results: b.results });
  }
  const out: Operation[] = [];
  ops.forEach((op, i) => {
    if (dropIt.has(i)) return;
    const response = responses.get(i);
    if (!response) return out.push(op);
    const revision = (response as { revision: number }).revision;
    out.push({ ...op, return: Math.max(op.call, Math.min(firstSeen.get(revision) ?? settledAt, settledAt)), response });
  });
  return { operations: out, resolved: responses.size, dropped: dropIt.size };
}
