// Judges one run with the checkers of test/checkers: the KV history must be
// linearizable against the model of etcd; the run's own problems (fatal stops,
// refused start-ups, members disagreeing on a revision or on the final state)
// are failures too.

import { checkLinearizable } from '../checkers/index.js';
import type { RunResult } from './run-seed.js';

export interface Verdict {
  ok: boolean;
  problems: string[];
}

export function checkRun(run: RunResult): Verdict {
  const problems = [...run.problems];
  const lin = checkLinearizable(run.history.operations, { timeoutMs: 20_000 });
  if (!lin.ok) problems.push(...lin.problems.map((p) => `linearizability: ${p}`));
  return { ok: problems.length === 0, problems };
}
