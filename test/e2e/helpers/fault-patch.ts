// Resolves the writes whose outcome the client never learned (the member died,
// the deadline passed) from the committed event log, as etcd's robustness suite
// patches its histories: every put writes a value no other write uses, so
//   - a put (or a compare-and-swap txn whose success branch is one put) whose
//     value is in the event log took effect at that revision: it gets that
//     response, and a return time no later than the first watch response that
//     showed the revision (it was committed by then), or `settledAt`;
//   - one whose value is nowhere in the log had no effect, and is dropped.
// Without this, every unknown write may take effect "at any point or never",
// which makes the linearizability search exponential in their number.
// Deletes, lease calls and compactions of unknown outcome stay unknown.

import type { Operation, RevisionEvents, WatchRecord } from '../../checkers/history.js';

/** The value a write puts, when it is a single put (alone or as the only op of a txn's success branch). */
function putOf(op: Operation): { key: string; value: string } | undefined {
  const r = op.request;
  if (r.kind === 'put') return { key: r.key, value: r.value };
  if (r.kind === 'txn' && r.success.length === 1 && r.success[0]!.kind === 'put' && r.failure.every((f) => f.kind === 'range')) {
    return { key: r.success[0]!.key, value: r.success[0]!.value };
  }
  return undefined;
}

const unknownOutcome = (op: Operation): boolean => op.return === Infinity || (op.response.kind === 'error' && !op.response.definite);

export interface PatchResult {
  operations: Operation[];
  /** Unknown writes found in the log (given their response) and not found (dropped). */
  resolved: number;
  dropped: number;
}

export function resolveUnknownWrites(ops: readonly Operation[], events: readonly RevisionEvents[], watches: readonly WatchRecord[], settledAt: number): PatchResult {
  const committed = new Map<string, number>(); // key \0 value -> revision
  for (const re of events) for (const e of re.events) if (e.type === 'put') committed.set(`${e.kv.key}\0${e.kv.value}`, re.revision);
  const firstSeen = new Map<number, number>(); // revision -> earliest time a watcher had it
  for (const w of watches) {
    for (const r of w.responses) {
      for (const e of r.events) {
        const rev = e.kv.modRevision;
        const t = firstSeen.get(rev);
        if (t === undefined || r.time < t) firstSeen.set(rev, r.time);
      }
    }
  }
  let resolved = 0;
  let dropped = 0;
  const out: Operation[] = [];
  for (const op of ops) {
    const put = unknownOutcome(op) ? putOf(op) : undefined;
    if (!put) {
      out.push(op);
      continue;
    }
    const revision = committed.get(`${put.key}\0${put.value}`);
    if (revision === undefined) {
      dropped++;
      continue;
    }
    resolved++;
    const ret = Math.max(op.call, Math.min(firstSeen.get(revision) ?? settledAt, settledAt));
    const response: Operation['response'] =
      op.request.kind === 'put' ? { kind: 'put', revision } : { kind: 'txn', revision, succeeded: true, results: [{ kind: 'put' }] };
    out.push({ ...op, return: ret, response });
  }
  return { operations: out, resolved, dropped };
}
