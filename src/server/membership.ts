// The cluster's members as the committed log describes them. Built only by the
// applier, from conf-change entries (peer URLs, learner flag) and member-attribute
// entries (name, client URLs); both are replayed on every restart, so this state
// needs no storage of its own beyond the log and Raft snapshots.

import { type ConfChange, ConfChangeType } from '../raft/types.js';
import type { EtcdError } from './errors.js';
import { ErrMemberExist, ErrMemberNotFound, ErrMemberNotLearner, ErrPeerURLExist, ErrTooManyLearners } from './member-errors.js';

export interface Member {
  id: bigint;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

/** What a conf-change entry carries in its context (etcd stores the member as JSON too). */
interface MemberContext {
  id: string;
  name?: string;
  peerURLs: string[];
  isLearner?: boolean;
  /** MemberPromote's AddNode (etcd's IsPromote): the member must exist and be a learner. */
  promote?: boolean;
  /** The proposer's request id (hex), for runtime changes: its answer goes there. */
  reqId?: string;
}

export function encodeMemberContext(
  m: { id: bigint; name: string; peerURLs: string[]; isLearner: boolean },
  reqId?: bigint,
  promote?: boolean,
): Uint8Array {
  const ctx: MemberContext = { id: m.id.toString(16), name: m.name, peerURLs: m.peerURLs, isLearner: m.isLearner };
  if (promote) ctx.promote = true;
  if (reqId !== undefined) ctx.reqId = reqId.toString(16);
  return Buffer.from(JSON.stringify(ctx));
}

/** The request id a conf change's context names (runtime changes), if any. */
export function confChangeRequestId(cc: ConfChange): bigint | undefined {
  if (cc.context.length === 0) return undefined;
  try {
    const ctx = JSON.parse(Buffer.from(cc.context).toString('utf8')) as MemberContext;
    return ctx.reqId ? BigInt('0x' + ctx.reqId) : undefined;
  } catch {
    return undefined;
  }
}

function contextOf(cc: ConfChange): MemberContext {
  return JSON.parse(Buffer.from(cc.context).toString('utf8')) as MemberContext;
}

export class Membership {
  private readonly members = new Map<bigint, Member>();
  private readonly removed = new Set<bigint>();
  /** --experimental-max-learners (etcd's default: 1). */
  maxLearners = 1;
  /**
   * Request ids of the latest runtime changes applied: a change proposed again
   * (the proposer's resubmission) is a no-op once one copy was applied, so a stale
   * copy cannot undo a later change. Kept in snapshots.
   */
  private recentRequests: string[] = [];
  private static readonly RECENT_REQUESTS = 256;

  /** Whether a change with this request id was applied already. */
  appliedBefore(cc: ConfChange): boolean {
    const id = confChangeRequestId(cc);
    return id !== undefined && this.recentRequests.includes(id.toString(16));
  }

  /** Remembers the request id of an applied (or refused) runtime change. */
  noteRequest(cc: ConfChange): void {
    const id = confChangeRequestId(cc);
    if (id === undefined) return;
    this.recentRequests.push(id.toString(16));
    if (this.recentRequests.length > Membership.RECENT_REQUESTS) this.recentRequests.shift();
  }

  constructor(
    readonly clusterId: bigint,
    readonly localId: bigint,
  ) {}

  /**
   * Whether a committed conf change may be applied (etcd's
   * ValidateConfigurationChange): every member checks it the same way at apply
   * time, so a refused change is refused everywhere.
   */
  validateConfChange(cc: ConfChange, maxLearners = this.maxLearners): EtcdError | undefined {
    const id = cc.nodeId;
    if (this.removed.has(id)) return ErrMemberNotFound();
    const existing = this.members.get(id);
    const urlsTakenByOther = (urls: string[]): boolean =>
      this.list().some((m) => m.id !== id && m.peerURLs.some((u) => urls.includes(u)));
    switch (cc.type) {
      case ConfChangeType.AddNode: {
        const ctx = contextOf(cc);
        if (ctx.promote) {
          if (!existing) return ErrMemberNotFound();
          return existing.isLearner ? undefined : ErrMemberNotLearner();
        }
        if (existing) return ErrMemberExist();
        if (urlsTakenByOther(ctx.peerURLs)) return ErrPeerURLExist();
        return undefined;
      }
      case ConfChangeType.AddLearnerNode: {
        const ctx = contextOf(cc);
        if (existing) return ErrMemberExist();
        if (urlsTakenByOther(ctx.peerURLs)) return ErrPeerURLExist();
        if (this.list().filter((m) => m.isLearner).length + 1 > maxLearners) return ErrTooManyLearners();
        return undefined;
      }
      case ConfChangeType.RemoveNode:
        return existing ? undefined : ErrMemberNotFound();
      case ConfChangeType.UpdateNode: {
        if (!existing) return ErrMemberNotFound();
        return urlsTakenByOther(contextOf(cc).peerURLs) ? ErrPeerURLExist() : undefined;
      }
    }
    return undefined;
  }

  applyConfChange(cc: ConfChange): void {
    switch (cc.type) {
      case ConfChangeType.AddNode:
      case ConfChangeType.AddLearnerNode: {
        const ctx = JSON.parse(Buffer.from(cc.context).toString('utf8')) as MemberContext;
        const existing = this.members.get(cc.nodeId);
        const isLearner = cc.type === ConfChangeType.AddLearnerNode;
        if (existing) {
          // Adding a node that is already a learner promotes it.
          existing.isLearner = isLearner;
          return;
        }
        this.members.set(cc.nodeId, {
          id: cc.nodeId,
          name: ctx.name ?? '',
          peerURLs: ctx.peerURLs,
          clientURLs: [],
          isLearner,
        });
        return;
      }
      case ConfChangeType.RemoveNode:
        this.members.delete(cc.nodeId);
        this.removed.add(cc.nodeId);
        return;
      case ConfChangeType.UpdateNode: {
        const ctx = JSON.parse(Buffer.from(cc.context).toString('utf8')) as MemberContext;
        const m = this.members.get(cc.nodeId);
        if (m) m.peerURLs = ctx.peerURLs;
        return;
      }
    }
  }

  setAttributes(id: bigint, name: string, clientURLs: string[]): void {
    const m = this.members.get(id);
    if (!m) return;
    m.name = name;
    m.clientURLs = clientURLs;
  }

  get(id: bigint): Member | undefined {
    return this.members.get(id);
  }

  isRemoved(id: bigint): boolean {
    return this.removed.has(id);
  }

  /** Every member id ever removed (etcd's members_removed bucket). */
  removedIds(): bigint[] {
    return [...this.removed];
  }

  /** The membership as carried in Raft snapshot data (ids as hex strings). */
  toSnapshot(): Uint8Array {
    const members = this.list().map((m) => ({ ...m, id: m.id.toString(16) }));
    return Buffer.from(
      JSON.stringify({ members, removed: [...this.removed].map((id) => id.toString(16)), recent: this.recentRequests }),
    );
  }

  /** Replaces the membership with what a Raft snapshot carried. */
  restore(data: Uint8Array): void {
    const parsed = JSON.parse(Buffer.from(data).toString('utf8')) as {
      members: (Omit<Member, 'id'> & { id: string })[];
      removed: string[];
      recent?: string[];
    };
    this.members.clear();
    this.removed.clear();
    for (const m of parsed.members) this.members.set(BigInt('0x' + m.id), { ...m, id: BigInt('0x' + m.id) });
    for (const id of parsed.removed) this.removed.add(BigInt('0x' + id));
    this.recentRequests = [...(parsed.recent ?? [])];
  }

  /** Sorted by id, as etcd lists them. */
  list(): Member[] {
    return [...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}
