// Serializable ranges may be stale, but a member answers them from its own
// applied log: the answer must be exactly the cluster's state at the revision
// the member reported (or at the revision asked for, for a historic read), and
// that revision must be one the cluster committed. Every member applies the
// same Raft log, so the cluster's per-revision event log is each member's log.

import type { CheckResult, Operation, RevisionEvents } from './history.js';
import { describeOp, describeResponse } from './describe.js';
import { EventReplay } from './replay.js';
import { kvsEqual } from './response-match.js';

export function checkSerializable(ops: readonly Operation[], events: readonly RevisionEvents[]): CheckResult {
  const replay = new EventReplay(events);
  const problems: string[] = [];
  const reads = ops
    .filter((o) => o.request.kind === 'range' && o.request.serializable && o.response.kind === 'range' && o.return !== Infinity)
    .map((o) => {
      const req = o.request as Extract<Operation['request'], { kind: 'range' }>;
      const res = o.response as Extract<Operation['response'], { kind: 'range' }>;
      const at = req.revision && req.revision > 0 ? req.revision : res.revision;
      return { o, req, res, at };
    })
    .sort((a, b) => a.at - b.at);
  for (const { o, req, res, at } of reads) {
    if (res.revision > replay.lastRevision) {
      problems.push(`serializable read answered at revision ${res.revision}, which the cluster never committed (its log ends at ${replay.lastRevision}): ${describeOp(o)}`);
      continue;
    }
    if (at > res.revision) {
      problems.push(`serializable read of revision ${at} answered by a member at revision ${res.revision} (should be the future-revision error): ${describeOp(o)}`);
      continue;
    }
    replay.advanceTo(at);
    const all = replay.range(req.key, req.end);
    const kvs = req.limit && req.limit > 0 && all.length > req.limit ? all.slice(0, req.limit) : all;
    if (res.count !== all.length || !kvsEqual(kvs, res.kvs)) {
      const expected = { kind: 'range', revision: res.revision, kvs, count: all.length } as const;
      problems.push(`serializable read does not match the state at revision ${at}: ${describeOp(o)}; the log gives ${describeResponse(expected)}`);
    }
  }
  return { ok: problems.length === 0, problems };
}
