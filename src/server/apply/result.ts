// What applying one committed entry comes to. Two kinds, never mixed up:
// - the request's own answer, deterministic: every member computes the same one
//   (a value, or an error such as "revision compacted" or "lease not found").
//   The entry is applied, the applied index advances, the proposer gets it.
// - an environmental failure: the disk, LevelDB, a bug. Another member may well
//   have succeeded, so this one must not pretend the entry is applied nor answer
//   with it; it stops (see ApplierHooks.fatal).
// Anything not recognized below as deterministic is environmental.

import { AuthError } from '../../auth/errors.js';
import { LeaseError, type LeaseErrorCode } from '../../lease/errors.js';
import { MvccError, type MvccErrorCode, TxnValidationError } from '../../mvcc/errors.js';
import { EtcdError } from '../errors.js';
import type { ApplyContext, RequestHandler } from './handler.js';

/** An error that is a request's answer: the same on every member that applies it. */
export type DeterministicError = MvccError | LeaseError | TxnValidationError | EtcdError | AuthError;

/** The request's deterministic answer: what its proposer gets. */
export type ApplyResult = { ok: true; value: unknown } | { ok: false; error: DeterministicError };

/** Applying one request: its answer (the index advances) or an environmental failure (it does not). */
export type ApplyOutcome = { kind: 'answer'; result: ApplyResult } | { kind: 'environmental'; cause: unknown };

// 'closed' depends on this member's life cycle, not on the request.
const DETERMINISTIC_MVCC: ReadonlySet<MvccErrorCode> = new Set(['compacted', 'future-rev', 'key-not-found', 'lease-not-found']);
// 'not-primary' / 'expired' depend on this member's lessor role and clock: never an apply answer.
const DETERMINISTIC_LEASE: ReadonlySet<LeaseErrorCode> = new Set(['not-found', 'exists', 'ttl-too-large']);

export function isDeterministic(err: unknown): err is DeterministicError {
  if (err instanceof MvccError) return DETERMINISTIC_MVCC.has(err.code);
  if (err instanceof LeaseError) return DETERMINISTIC_LEASE.has(err.code);
  // Auth errors depend only on the replicated auth store and the entry's header.
  return err instanceof TxnValidationError || err instanceof EtcdError || err instanceof AuthError;
}

export const answer = (value: unknown): ApplyOutcome => ({ kind: 'answer', result: { ok: true, value } });

/** What a request handler's exception means. */
export function outcomeOfError(err: unknown): ApplyOutcome {
  return isDeterministic(err) ? { kind: 'answer', result: { ok: false, error: err } } : { kind: 'environmental', cause: err };
}

/**
 * Runs a request handler; its exceptions are sorted into answers and environmental
 * failures. A handler that answers synchronously is settled synchronously: no
 * promise, no microtask hop, for the entries that need none. (The handler and its
 * arguments rather than a closure: this runs once per applied entry.)
 */
export function settle(handler: RequestHandler, ctx: ApplyContext, index: number): ApplyOutcome | Promise<ApplyOutcome> {
  let value: unknown;
  try {
    value = handler.run(ctx, index);
  } catch (err) {
    return outcomeOfError(err);
  }
  return value instanceof Promise ? value.then(answer, outcomeOfError) : answer(value);
}

/**
 * The member cannot apply committed entry `index`: what the fatal hook gets. Its
 * message says which entry and why, for the one log line an operator reads.
 */
export class ApplyFailure extends Error {
  constructor(
    readonly index: number,
    readonly reason: string,
    override readonly cause?: unknown,
  ) {
    super(`cannot apply committed entry ${index}: ${reason}${cause === undefined ? '' : `: ${describe(cause)}`}`);
    this.name = 'ApplyFailure';
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
