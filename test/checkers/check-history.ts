// All checkers on one recorded run: linearizability of the KV operations,
// serializable reads, durability of acknowledged writes and the watch
// streams, each against the cluster's final per-revision event log.

import type { CheckResult, History, RevisionEvents } from './history.js';
import { checkDurability, type DurabilityOptions } from './durability.js';
import { checkLinearizable, type LinearizabilityOptions, type LinearizabilityResult } from './linearizability.js';
import { checkSerializable } from './serializable.js';
import { validateWatches, type WatchValidationOptions } from './watch.js';

export interface HistoryCheckOptions {
  linearizability?: LinearizabilityOptions;
  durability?: DurabilityOptions;
  watch?: WatchValidationOptions;
}

export interface HistoryCheckResult extends CheckResult {
  linearizability: LinearizabilityResult;
  serializable: CheckResult;
  durability: CheckResult;
  watch: CheckResult;
}

export function checkHistory(history: History, events: readonly RevisionEvents[], opts: HistoryCheckOptions = {}): HistoryCheckResult {
  const linearizability = checkLinearizable(history.operations, opts.linearizability);
  const serializable = checkSerializable(history.operations, events);
  const durability = checkDurability(history.operations, events, opts.durability);
  const watch = validateWatches(history.watches, events, opts.watch);
  const parts = { linearizability, serializable, durability, watch };
  const problems = Object.entries(parts).flatMap(([name, r]) => r.problems.map((p) => `${name}: ${p}`));
  return { ok: problems.length === 0, problems, ...parts };
}
