// Judges one run with every checker of test/checkers (checkHistory: the KV
// history linearizable against the model of etcd, serializable reads against the
// cluster's log, every acknowledged write in the final event log, the watch
// streams validated against it); the run's own problems (fatal stops, refused
// start-ups, members disagreeing on a revision or on the final state, real I/O)
// are failures too. Writes whose outcome a client never learned are first
// resolved from that event log (resolveUnknownWrites): otherwise each may take
// effect anywhere or never, and a few of them near the end of a 4 s history
// exhausted the search's budget (the long run's seeds 300490 and 300552).

import { checkHistory, dropRedundantLeaseRevokes, resolveUnknownWrites } from '../checkers/index.js';
import type { RunResult } from './run-seed.js';

export interface Verdict {
  ok: boolean;
  problems: string[];
}

export function checkRun(run: RunResult): Verdict {
  const problems = [...run.problems];
  // Settled by the end of the run: every call had finished or timed out, the members had caught up.
  const resolved = resolveUnknownWrites(run.history.operations, run.events, run.history.watches, run.simulatedMs);
  // A run starts without leases, so lease revokes of unknown outcome that a later
  // known revoke makes redundant can go too (seed 400478: 21.7M steps → 493).
  const operations = dropRedundantLeaseRevokes(resolved.operations).operations;
  const result = checkHistory({ ...run.history, operations }, run.events, {
    linearizability: { timeoutMs: 20_000 },
    durability: { compactedRevision: run.compactedRevision },
    watch: { compactedRevision: run.compactedRevision },
  });
  problems.push(...result.problems);
  return { ok: problems.length === 0, problems };
}
