// Durability: the cluster's final per-revision event log (read back after the
// faults, e.g. after every member restarted) must hold every acknowledged
// write at the revision it was acknowledged with, with its effects, and be a
// well-formed log: each revision once, contiguous, keys' create revisions and
// versions following from their earlier events, and no value nobody wrote.

import type { CheckResult, KeyValue, Operation, RevisionEvents, TxnOp, WatchEvent } from './history.js';
import { describeOp } from './describe.js';
import { inKeyRange } from './keys.js';
import { EventReplay } from './replay.js';

export interface DurabilityOptions {
  /** The first revision the log must hold (default 2, the first write); later when older revisions were compacted away. */
  firstRevision?: number;
  /** The recovered store's compacted revision, when known: it must cover every acknowledged compaction. */
  compactedRevision?: number;
  /** Accept put events no recorded request wrote (writes made outside the history). */
  allowUnrecordedWrites?: boolean;
}

type Ok<K extends Operation['response']['kind']> = Extract<Operation['response'], { kind: K }>;

function putsOf(ops: readonly TxnOp[]): Extract<TxnOp, { kind: 'put' }>[] {
  return ops.filter((o): o is Extract<TxnOp, { kind: 'put' }> => o.kind === 'put');
}

export function checkDurability(ops: readonly Operation[], events: readonly RevisionEvents[], opts: DurabilityOptions = {}): CheckResult {
  const problems: string[] = [];
  const byRevision = new Map<number, WatchEvent[]>();
  for (const r of events) {
    if (byRevision.has(r.revision)) problems.push(`revision ${r.revision} appears twice in the log`);
    else byRevision.set(r.revision, r.events);
  }
  const revisions = [...byRevision.keys()].sort((a, b) => a - b);
  const first = opts.firstRevision ?? 2;
  let expectedNext = first;
  for (const rev of revisions) {
    if (rev < first) problems.push(`revision ${rev} is below the log's first revision ${first}`);
    else if (rev !== expectedNext) problems.push(`revisions ${expectedNext}..${rev - 1} are missing from the log (next present: ${rev})`);
    expectedNext = rev + 1;
    const evs = byRevision.get(rev)!;
    if (evs.length === 0) problems.push(`revision ${rev} has no events (every revision is a write)`);
    for (const ev of evs) {
      if (ev.kv.modRevision !== rev) problems.push(`revision ${rev} holds an event on ${JSON.stringify(ev.kv.key)} with mod revision ${ev.kv.modRevision}`);
    }
  }
  const lastRevision = revisions.length ? revisions[revisions.length - 1] : 1;

  // Writes anyone asked for, whatever the outcome: a put event must be one of them.
  const written = new Set<string>();
  const noteWrite = (key: string, value: string) => written.add(`${key}\u0000${value}`);
  // Lease revokes to check at their revision, in one forward replay.
  const revokes: { revision: number; id: string; op: Operation }[] = [];

  for (const op of ops) {
    const req = op.request;
    if (req.kind === 'put') noteWrite(req.key, req.value);
    if (req.kind === 'txn') for (const p of putsOf([...req.success, ...req.failure])) noteWrite(p.key, p.value);
    const res = op.response;
    if (op.return === Infinity || res.kind === 'error') continue;
    if ('revision' in res && res.revision > lastRevision) {
      problems.push(`acknowledged revision ${res.revision} is missing: the log ends at ${lastRevision}: ${describeOp(op)}`);
      continue;
    }
    if ('revision' in res && res.revision < first) continue;
    const at = (rev: number) => byRevision.get(rev) ?? [];
    const lost = (what: string) => problems.push(`acknowledged write lost: ${what} at revision ${(res as { revision: number }).revision}: ${describeOp(op)}`);
    const hasPut = (rev: number, key: string, value: string, lease: string | undefined) =>
      at(rev).some((e) => e.type === 'put' && e.kv.key === key && e.kv.value === value && e.kv.lease === (lease || '0'));
    switch (req.kind) {
      case 'put':
        if (!hasPut((res as Ok<'put'>).revision, req.key, req.value, req.lease)) lost(`put of ${JSON.stringify(req.key)}`);
        break;
      case 'delete': {
        const r = res as Ok<'delete'>;
        if (r.deleted === 0) break;
        const n = at(r.revision).filter((e) => e.type === 'delete' && inKeyRange(e.kv.key, req.key, req.end)).length;
        if (n !== r.deleted) lost(`delete of ${r.deleted} key(s) (the log deletes ${n})`);
        break;
      }
      case 'txn': {
        const r = res as Ok<'txn'>;
        const branch = r.succeeded ? req.success : req.failure;
        for (const p of putsOf(branch)) if (!hasPut(r.revision, p.key, p.value, p.lease)) lost(`txn put of ${JSON.stringify(p.key)}`);
        const deleted = r.results.reduce((n, x) => n + (x.kind === 'delete' ? x.deleted : 0), 0);
        const logged = at(r.revision).filter((e) => e.type === 'delete').length;
        if (deleted > 0 && logged !== deleted) lost(`txn delete of ${deleted} key(s) (the log deletes ${logged})`);
        break;
      }
      case 'leaseRevoke':
        revokes.push({ revision: (res as Ok<'leaseRevoke'>).revision, id: req.id, op });
        break;
      case 'compact':
        if (opts.compactedRevision !== undefined && opts.compactedRevision < req.revision) {
          problems.push(`acknowledged compaction at ${req.revision} lost: the store is compacted at ${opts.compactedRevision}: ${describeOp(op)}`);
        }
        break;
    }
  }

  // One forward replay: key fields follow from earlier events, phantom values, revoked leases.
  const replay = new EventReplay(events);
  const seen = new Set<string>();
  const historyComplete = first <= 2;
  const checkEvent = (before: KeyValue | undefined, rev: number, ev: WatchEvent): void => {
    const known = historyComplete || seen.has(ev.kv.key);
    seen.add(ev.kv.key);
    if (ev.type === 'delete') {
      if (known && !before) problems.push(`revision ${rev} deletes ${JSON.stringify(ev.kv.key)}, which did not exist`);
      return;
    }
    if (!opts.allowUnrecordedWrites && !written.has(`${ev.kv.key}\u0000${ev.kv.value}`)) {
      problems.push(`revision ${rev} puts ${JSON.stringify(ev.kv.key)} = ${JSON.stringify(ev.kv.value)}, a value no client wrote`);
    }
    if (!known) return;
    const create = before ? before.createRevision : rev;
    const version = before ? before.version + 1 : 1;
    if (ev.kv.createRevision !== create || ev.kv.version !== version) {
      problems.push(`revision ${rev} puts ${JSON.stringify(ev.kv.key)} with create revision ${ev.kv.createRevision} and version ${ev.kv.version}; its history gives ${create} and ${version}`);
    }
  };
  revokes.sort((a, b) => a.revision - b.revision);
  for (const r of revokes) {
    replay.advanceTo(r.revision, checkEvent);
    const left = replay.range('\0', '\0').filter((kv) => kv.lease === r.id);
    if (left.length) problems.push(`acknowledged lease revoke lost: key(s) ${left.map((kv) => JSON.stringify(kv.key)).join(', ')} still hold lease ${r.id} at revision ${r.revision}: ${describeOp(r.op)}`);
  }
  replay.advanceTo(Infinity, checkEvent);
  return { ok: problems.length === 0, problems };
}
