// Propose and wait: a request becomes a Raft entry with a unique id, and its
// proposer waits for the applier's result for that id (or a deadline). Kept apart
// from EtcdServer so the request side (KV, leases, membership later) shares one
// path, and the waiting rules live in one place:
// - the clock starts at the call, so time spent waiting for a leader counts;
// - no leader (or a transfer under way): the proposal is retried when a leader is
//   known, briefly, until the deadline;
// - the applier far behind what is committed: refused at once, as etcd does.

import { ErrProposalDropped } from '../raft/index.js';
import type { ConfChange } from '../raft/types.js';
import { encodeInternalRequest, encodeInternalRequestRaw, type RequestCaller } from '../pb/index.js';
import { type ApplyResult, MAX_GAP_BETWEEN_APPLY_AND_COMMIT_INDEX } from './apply/index.js';
import { ErrRequestTooLarge, ErrStopped, ErrTimeout, ErrTooManyRequests, type EtcdError, toEtcdError } from './errors.js';
import type { ServerMetrics } from './metrics.js';
import type { InternalRequestBody } from './proposal.js';
import { RequestIdGenerator } from './request-id.js';
import { Deadlines, deferred, type Deferred } from './waiters.js';
import { stage } from '../util/stage-trace.js';

/** What the proposer needs from the Raft driver and the applier. */
export interface ProposerPorts {
  memberId: bigint;
  maxRequestBytes: number;
  requestTimeoutMs: number;
  metrics: ServerMetrics;
  /** Hands an entry to Raft; throws ErrProposalDropped while there is no leader. */
  propose(data: Uint8Array): void;
  /** Hands a conf change to Raft; throws ErrProposalDropped while there is no leader. */
  proposeConfChange?(cc: ConfChange): void;
  committedIndex(): number;
  appliedIndex(): number;
}

/** A request's own wire bytes and the InternalRaftRequest field that holds them. */
export interface RawRequest {
  field: number;
  bytes: Uint8Array;
}

/** How often an unanswered conf change is proposed again (see proposeConfChange). */
export const CONF_CHANGE_RESUBMIT_MS = 1000;

export class Proposer {
  private readonly waiters = new Map<bigint, Deferred<ApplyResult>>();
  private readonly ids: RequestIdGenerator;
  private readonly deadlines: Deadlines;
  private leaderChanged: Deferred<void> = deferred();
  private stopped = false;

  constructor(private readonly p: ProposerPorts) {
    this.ids = new RequestIdGenerator(p.memberId);
    this.deadlines = new Deadlines(p.requestTimeoutMs, ErrTimeout);
  }

  nextRequestId(): bigint {
    return this.ids.next();
  }

  /**
   * Proposes a request and resolves with its apply result. `raw`, when given, goes
   * into the entry as it is (see encodeInternalRequestRaw): no second encoding.
   * `caller`, with auth on, goes into the header for the apply-time auth check.
   */
  propose(body: InternalRequestBody, raw?: RawRequest, caller?: RequestCaller): Promise<unknown> {
    // Not async: the caller gets proposeAndWait's own promise, not one more wrapped around it.
    try {
      if (this.stopped) throw ErrStopped();
      if (this.p.committedIndex() - this.p.appliedIndex() > MAX_GAP_BETWEEN_APPLY_AND_COMMIT_INDEX) throw ErrTooManyRequests();
      const id = this.ids.next();
      const data = raw
        ? encodeInternalRequestRaw(id, raw.field, raw.bytes, caller)
        : // The header first: a spread followed by a field it lacks costs V8 a copied shape grown again (~270 B more).
          encodeInternalRequest({ header: caller ? { ID: id, username: caller.username, authRevision: BigInt(caller.revision) } : { ID: id }, ...body });
      if (data.length > this.p.maxRequestBytes) throw ErrRequestTooLarge();
      stage('propose');
      return this.proposeAndWait(id, () => this.p.propose(data));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Proposes a conf change (built with its request id, which its context carries
   * so the applier can answer it) and resolves with its apply result.
   */
  async proposeConfChange(make: (id: bigint) => ConfChange): Promise<unknown> {
    if (this.stopped) throw ErrStopped();
    const id = this.ids.next();
    const cc = make(id);
    // A leader drops a conf change while another is pending (it appends an empty entry
    // instead), e.g. just after an election: proposed again until answered. A copy
    // applied after the first is refused at apply time and its answer goes nowhere.
    return this.proposeAndWait(id, () => this.p.proposeConfChange!(cc), CONF_CHANGE_RESUBMIT_MS);
  }

  private async proposeAndWait(id: bigint, submit: () => void, resubmitMs?: number): Promise<unknown> {
    const d = deferred<ApplyResult>();
    this.waiters.set(id, d);
    const metrics = this.p.metrics;
    metrics.proposalsPending.inc();
    const deadline = Date.now() + this.p.requestTimeoutMs;
    let result: ApplyResult;
    const deadlineEntry = this.deadlines.track(d);
    const applied = d.promise;
    try {
      // The usual case: a leader takes it at once, and the only wait is for `applied`.
      if (!submitted(submit)) {
        applied.catch(() => {}); // it may time out while we still wait for a leader; handled below
        await this.proposeWhenLeaderKnown(submit, deadline);
      }
      let timer: NodeJS.Timeout | undefined;
      if (resubmitMs !== undefined) {
        timer = setInterval(() => {
          try {
            if (!d.settled && !this.stopped) submit();
          } catch {
            // No leader now: the next round tries again.
          }
        }, resubmitMs);
      }
      try {
        result = await applied;
        stage('resumed');
      } finally {
        clearInterval(timer);
      }
    } catch (err) {
      if (!d.settled) d.resolve({ ok: false, error: toEtcdError(err) }); // nobody awaits `applied` now
      metrics.proposalsFailed.inc();
      throw err;
    } finally {
      this.waiters.delete(id);
      deadlineEntry.release();
      metrics.proposalsPending.dec();
    }
    if (!result.ok) throw toEtcdError(result.error);
    return result.value;
  }

  private async proposeWhenLeaderKnown(submit: () => void, deadline: number): Promise<void> {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0 || this.stopped) throw this.stopped ? ErrStopped() : ErrTimeout();
      // No leader to take it (or a leadership transfer is under way): wait for one, briefly.
      await this.leaderChange(Math.min(left, 50));
      if (submitted(submit)) return;
    }
  }

  /** The applier's result for request `id`, to its proposer if that is this member. */
  deliver(id: bigint, result: ApplyResult): void {
    this.waiters.get(id)?.resolve(result);
  }

  /** A leader was elected or changed: proposals waiting for one go now. */
  leaderElected(): void {
    this.leaderChanged.resolve();
    this.leaderChanged = deferred();
  }

  /** Resolves when a leader is elected or changes, or after timeoutMs. */
  async leaderChange(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.leaderChanged.promise, new Promise((r) => (timer = setTimeout(r, Math.max(0, timeoutMs))))]);
    clearTimeout(timer);
  }

  /** The member is stopping: new proposals fail with ErrStopped, and so do those waiting for a leader. */
  refuseNew(): void {
    this.stopped = true;
  }

  /** After the applier has drained: every proposal still waiting fails with `err`. */
  failPending(err: EtcdError): void {
    this.stopped = true;
    this.deadlines.stop();
    for (const d of this.waiters.values()) d.resolve({ ok: false, error: err });
  }
}

/** Submits a proposal: false if Raft dropped it for want of a leader, other errors thrown. */
function submitted(submit: () => void): boolean {
  try {
    submit();
    return true;
  } catch (err) {
    if (err instanceof ErrProposalDropped) return false;
    throw err;
  }
}
