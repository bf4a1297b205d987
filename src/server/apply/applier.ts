// The one writer of server state: committed entries are applied here, one at a
// time, in log order. KV effects are applied once — entries at or below the
// store's consistent index were already applied before a restart and are skipped —
// while cluster-state entries (conf changes, member attributes) are replayed every
// time, because membership is rebuilt from the log at start-up.
//
// An entry that cannot be applied for a reason of this member's own (disk,
// LevelDB, a bug, an entry this build does not know) is an ApplyFailure: the
// applied index stays below it, nobody is answered with it, nothing after it is
// applied, and hooks.fatal is called once to stop the member (as etcd panics).

import { decodeConfChange } from '../../raft/codec.js';
import { type ConfChange, ConfChangeType, type ConfState, type Entry, EntryType } from '../../raft/types.js';
import type { Lessor } from '../../lease/index.js';
import type { MvccStore } from '../../mvcc/index.js';
import { decodeInternalRequest } from '../../pb/index.js';
import type { InternalRaftRequest } from '../../pb/types.js';
import { confChangeRequestId, type Membership } from '../membership.js';
import { AlarmStore } from '../alarms.js';
import { alarmHandler, alarmRefusal } from './alarm.js';
import { type AuthApplyState, authHandler, authRefusal } from './auth.js';
import { AuthStore, SimpleTokens } from '../../auth/index.js';
import type { ApplyContext, RequestHandler } from './handler.js';
import { kvHandler } from './kv.js';
import { leaseHandler } from './lease.js';
import { ApplyFailure, type ApplyOutcome, type ApplyResult, settle } from './result.js';
import { stage } from '../../util/stage-trace.js';
import { FAILPOINTS_ON, failpoint } from '../../util/failpoints.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * etcd's maxGapBetweenApplyAndCommitIndex: past this many committed entries not
 * yet applied, new proposals are refused (etcdserver: too many requests).
 */
export const MAX_GAP_BETWEEN_APPLY_AND_COMMIT_INDEX = 5000;

/** Where slow applies are reported (a pino logger fits). */
export interface SlowApplyLog {
  warn(fields: Record<string, unknown>, msg: string): void;
}

export interface ApplierOptions {
  /** --experimental-warning-apply-duration in ms (etcd's default: 100 ms); 0 or less: never warn. */
  warningApplyDurationMs?: number;
  /** Receives etcd's "apply request took too long" warning. */
  logger?: SlowApplyLog;
  /** Monotonic ms (default performance.now). */
  now?: () => number;
  /** Called for every slow apply (etcd counts them in etcd_server_slow_apply_total). */
  onSlowApply?: () => void;
  /** The replicated auth store and this member's token provider (default: a store of its own, auth off). */
  auth?: AuthApplyState;
}

/** A duration in ms as Go's time.Duration prints it ("1.5s", "123.456ms", "250µs"). */
export function goDuration(ms: number): string {
  if (ms >= 1000) return `${+(ms / 1000).toFixed(9)}s`;
  if (ms >= 1) return `${+ms.toFixed(6)}ms`;
  if (ms > 0) return `${+(ms * 1000).toFixed(3)}µs`;
  return '0s';
}

export interface ApplierHooks {
  /** Called for every applied conf change: the Raft core must learn the new configuration. */
  applyConfChange(cc: ConfChange): ConfState;
  /** The set of members changed (after `membership` was updated): the transport follows. */
  membersChanged(): void;
  /** This member's own removal was applied: it must stop (etcd: permanently removed). */
  removedSelf?(): void;
  /** The proposer of request `id` (if it is this member and still waiting) gets its deterministic answer. */
  deliver(id: bigint, result: ApplyResult): void;
  /** The applied index moved forward. */
  applied(index: number): void;
  /**
   * The auth store's revision moved (users, roles, permissions, auth on or off).
   * A request that reaches a member which has not applied the change yet carries
   * the older revision and is refused ("revision of auth store is old"), so the
   * change should reach the other members at once (RaftNode.flushCommitNotices).
   */
  authChanged?(): void;
  /** The empty entry a leader appends at the start of its term was applied (etcd promotes the lessor here). */
  termStarted(term: number): void;
  /** Entry `failure.index` cannot be applied here: the member must stop. Called at most once; nothing is applied after. */
  fatal(failure: ApplyFailure): void;
}

/** The handler of the one request `req` holds, or undefined when this build knows none. */
function handlerFor(req: InternalRaftRequest): RequestHandler | undefined {
  return kvHandler(req) ?? leaseHandler(req);
}

/** The request fields an entry holds, to name an unknown request in the fatal log line. */
function requestFields(req: InternalRaftRequest): string {
  const names = Object.entries(req)
    .filter(([k, v]) => v !== undefined && k !== 'header' && k !== 'ID')
    .map(([k]) => k);
  return names.length > 0 ? names.join(', ') : 'none';
}

export class Applier {
  private queue: Entry[] = [];
  private draining = false;
  private appliedIndex: number;
  private failure: ApplyFailure | undefined;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};
  private readonly auth: AuthApplyState;
  /** What handlers apply to (one object, replaced with the store). */
  private ctx: ApplyContext;

  constructor(
    private store: MvccStore,
    private readonly membership: Membership,
    private readonly lessor: Lessor,
    private readonly hooks: ApplierHooks,
    /** The replicated alarm list (alarm.ts: what an active alarm refuses). */
    readonly alarms: AlarmStore = new AlarmStore(),
    private readonly opts: ApplierOptions = {},
  ) {
    this.appliedIndex = store.consistentIndex();
    this.ctx = { store, lessor };
    this.auth = opts.auth ?? { store: new AuthStore(), tokens: new SimpleTokens({ ttlMs: 0, sweepTimer: false }) };
  }

  get applied(): number {
    return this.appliedIndex;
  }

  /** Why this applier stopped, if an entry could not be applied. */
  get failed(): ApplyFailure | undefined {
    return this.failure;
  }

  /** A snapshot from the leader replaced the store: continue from what it holds. */
  setStore(store: MvccStore): void {
    this.store = store;
    this.ctx = { store, lessor: this.lessor };
    if (store.consistentIndex() > this.appliedIndex) this.appliedIndex = store.consistentIndex();
  }

  /** Queue committed entries; they are applied asynchronously, strictly in order. Ignored once failed. */
  push(entries: Entry[]): void {
    if (this.failure) return;
    for (const e of entries) this.queue.push(e);
    if (!this.draining) {
      this.draining = true;
      this.idle = new Promise((r) => (this.markIdle = r));
      void this.drain();
    }
  }

  /** Resolves when everything queued so far has been applied (or the applier failed). */
  async drained(): Promise<void> {
    await this.idle;
  }

  // Never rejects: every failure ends in fail().
  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        const authRevision = this.auth.store.revision;
        for (const e of batch) {
          // One await for an entry whose handler answers with a promise (a KV write), none otherwise.
          const applied = this.applyEntry(e);
          const failure = applied instanceof Promise ? await applied : applied;
          if (failure) return this.fail(failure);
        }
        try {
          this.hooks.applied(this.appliedIndex);
          if (this.auth.store.revision !== authRevision) this.hooks.authChanged?.();
        } catch (err) {
          return this.fail(new ApplyFailure(this.appliedIndex, 'handling the applied index failed', err));
        }
      }
    } finally {
      this.draining = false;
      this.markIdle();
    }
  }

  private fail(failure: ApplyFailure): void {
    this.failure = failure;
    this.queue = [];
    try {
      this.hooks.fatal(failure);
    } catch {
      // Nothing more to do here: the applier has stopped either way.
    }
  }

  /** Applies `e` and advances the applied index, or says why it cannot (synchronously when it can). */
  private applyEntry(e: Entry): MaybePromise<ApplyFailure | undefined> {
    let effects: MaybePromise<ApplyFailure | undefined>;
    try {
      effects = this.applyEffects(e);
    } catch (err) {
      return new ApplyFailure(e.index, 'unexpected exception', err);
    }
    if (effects instanceof Promise) {
      return effects.then(
        (failure) => this.advanceTo(e, failure),
        (err: unknown) => new ApplyFailure(e.index, 'unexpected exception', err),
      );
    }
    return this.advanceTo(e, effects);
  }

  private advanceTo(e: Entry, failure: ApplyFailure | undefined): ApplyFailure | undefined {
    if (failure) return failure;
    if (e.index > this.appliedIndex) this.appliedIndex = e.index;
    return undefined;
  }

  /** What `e` changes; throws on an unexpected exception. */
  private applyEffects(e: Entry): MaybePromise<ApplyFailure | undefined> {
    const fresh = e.index > this.store.consistentIndex();
    if (e.type === EntryType.ConfChange) {
      const cc = decodeConfChange(e.data);
      const reqId = confChangeRequestId(cc);
      // Checked the same way on every member: a refused change is a no-op everywhere.
      const duplicate = this.membership.appliedBefore(cc);
      const refused = duplicate ? undefined : this.membership.validateConfChange(cc);
      if (reqId !== undefined && !duplicate) this.membership.noteRequest(cc);
      if (duplicate) {
        // A copy of a change already applied (proposed again): nothing, nobody to answer.
        this.hooks.applyConfChange({ ...cc, nodeId: 0n });
        if (fresh) this.store.setConsistentIndex(e.index);
      } else if (refused) {
        this.hooks.applyConfChange({ ...cc, nodeId: 0n });
        if (fresh) this.store.setConsistentIndex(e.index);
        if (reqId !== undefined) this.hooks.deliver(reqId, { ok: false, error: refused });
      } else {
        if (FAILPOINTS_ON) failpoint('beforeApplyOneConfChange');
        this.membership.applyConfChange(cc);
        this.hooks.applyConfChange(cc);
        this.hooks.membersChanged();
        if (fresh) this.store.setConsistentIndex(e.index);
        if (reqId !== undefined) this.hooks.deliver(reqId, { ok: true, value: this.membership.list() });
        if (cc.type === ConfChangeType.RemoveNode && cc.nodeId === this.membership.localId) this.hooks.removedSelf?.();
      }
    } else if (e.type === EntryType.Normal && e.data.length === 0) {
      // The empty entry a new leader appends: everything of earlier terms is applied.
      if (fresh) this.store.setConsistentIndex(e.index);
      this.hooks.termStarted(e.term);
    } else if (e.type === EntryType.Normal) {
      let req: InternalRaftRequest;
      try {
        req = decodeInternalRequest(e.data);
      } catch (err) {
        return new ApplyFailure(e.index, 'the entry does not decode as an InternalRaftRequest', err);
      }
      return this.applyRequest(e, req, fresh);
    } else {
      return new ApplyFailure(e.index, `unknown entry type ${String(EntryType[e.type] ?? e.type)}`);
    }
    return undefined;
  }

  /** etcd's warnOfExpensiveRequest: one request that took longer than --experimental-warning-apply-duration to apply. */
  private warnIfSlow(tookMs: number, req: InternalRaftRequest, name: string, result: ApplyResult): void {
    const limit = this.opts.warningApplyDurationMs ?? 100;
    if (limit <= 0 || tookMs <= limit) return;
    this.opts.onSlowApply?.();
    this.opts.logger?.warn(
      {
        took: goDuration(tookMs),
        'expected-duration': goDuration(limit),
        prefix: '',
        request: `header:<ID:${(req.header?.ID ?? req.ID).toString()} > ${name}`,
        response: result.ok ? 'ok' : '',
        ...(result.ok ? {} : { error: result.error instanceof Error ? result.error.message : String(result.error) }),
      },
      'apply request took too long',
    );
  }

  private applyRequest(e: Entry, req: InternalRaftRequest, fresh: boolean): MaybePromise<ApplyFailure | undefined> {
    const id = req.header?.ID ?? req.ID;
    if (req.clusterMemberAttrSet) {
      const attrs = req.clusterMemberAttrSet;
      this.membership.setAttributes(attrs.memberID, attrs.memberAttributes?.name ?? '', attrs.memberAttributes?.clientUrls ?? []);
      if (fresh) this.store.setConsistentIndex(e.index);
      this.hooks.deliver(id, { ok: true, value: undefined });
      return undefined;
    }
    const handler = handlerFor(req) ?? alarmHandler(req, this.alarms) ?? authHandler(req, this.auth);
    if (!handler) return new ApplyFailure(e.index, `unknown request in entry (fields: ${requestFields(req)})`);
    if (!fresh) return undefined;
    // As etcd's appliers nest: the auth check first, then what an alarm refuses.
    const refused = authRefusal(req, this.auth.store, this.lessor) ?? alarmRefusal(req, this.alarms);
    if (refused) {
      this.store.setConsistentIndex(e.index);
      this.hooks.deliver(id, { ok: false, error: refused });
      return undefined;
    }
    if (FAILPOINTS_ON) failpoint('beforeApply');
    const started = this.now();
    const outcome = settle(handler, this.ctx, e.index);
    if (outcome instanceof Promise) return outcome.then((o) => this.answer(e, req, handler, started, o));
    return this.answer(e, req, handler, started, outcome);
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : performance.now();
  }

  /** The request's outcome: its proposer's answer, or why the member must stop. */
  private answer(e: Entry, req: InternalRaftRequest, handler: RequestHandler, started: number, outcome: ApplyOutcome): ApplyFailure | undefined {
    const id = req.header?.ID ?? req.ID;
    if (outcome.kind !== 'environmental') this.warnIfSlow(this.now() - started, req, handler.name, outcome.result);
    if (outcome.kind === 'environmental') return new ApplyFailure(e.index, `${handler.name} failed`, outcome.cause);
    // A deterministic error is the request's answer: the entry is applied all the same.
    if (!outcome.result.ok && this.store.consistentIndex() < e.index) this.store.setConsistentIndex(e.index);
    stage('deliver');
    if (FAILPOINTS_ON) failpoint('afterApply');
    this.hooks.deliver(id, outcome.result);
    return undefined;
  }
}
