// Applying committed entries: the loop (applier.ts), what an entry comes to
// (result.ts), and one handler module per kind of request (kv.ts, lease.ts).

export { Applier, type ApplierHooks, type ApplierOptions, goDuration, type SlowApplyLog, MAX_GAP_BETWEEN_APPLY_AND_COMMIT_INDEX } from './applier.js';
export {
  ApplyFailure, type ApplyOutcome, type ApplyResult, type DeterministicError, isDeterministic, outcomeOfError, settle,
} from './result.js';
export type { ApplyContext, RequestHandler } from './handler.js';
