// Judges one run with every checker of test/checkers (checkHistory: the KV
// history linearizable against the model of etcd, serializable reads against the
// cluster's log, every acknowledged write in the final event log, the watch
// streams validated against it); the run's own problems (fatal stops, refused
// start-ups, members disagreeing on a revision or on the final state, real I/O)
// are failures too.

import { checkHistory } from '../checkers/index.js';
import type { RunResult } from './run-seed.js';

export interface Verdict {
  ok: boolean;
  problems: string[];
}

export function checkRun(run: RunResult): Verdict {
  const problems = [...run.problems];
  const result = checkHistory(run.history, run.events, {
    linearizability: { timeoutMs: 20_000 },
    durability: { compactedRevision: run.compactedRevision },
    watch: { compactedRevision: run.compactedRevision },
  });
  problems.push(...result.problems);
  return { ok: problems.length === 0, problems };
}
