// Runtime membership changes (Cluster MemberAdd/Remove/Update/Promote): the
// checks etcd makes before proposing (--strict-reconfig-check, learner readiness
// on the leader), then one ConfChange through Raft, answered by the applier
// (membership.ts validates it again at apply time, on every member alike).
// Changes from this member go one at a time.

import { type ConfChange, ConfChangeType } from '../raft/types.js';
import { memberIdFor } from './ids.js';
import {
  ErrLearnerNotReady,
  ErrMemberBadURLs,
  ErrMemberNotFound,
  ErrNotEnoughStartedMembers,
  ErrNotLeader,
  ErrUnhealthy,
} from './member-errors.js';
import { encodeMemberContext, type Member, type Membership } from './membership.js';

/**
 * etcd's HealthInterval: under --strict-reconfig-check a peer counts as active only
 * once its message stream has been up continuously for this long (rafthttp
 * ActiveSince, server.go isConnectedSince / numConnectedSince).
 */
export const HEALTH_INTERVAL_MS = 5000;

/** etcd's readyPercentThreshold: a learner is promotable once its match is ≥ 90% of the leader's. */
export const LEARNER_READY_PERCENT = 0.9;

export interface MemberChangePorts {
  memberId: bigint;
  membership: Membership;
  strictReconfigCheck: boolean;
  /** Proposes the conf change make(requestId) builds; resolves with the applier's answer. */
  proposeConfChange(make: (id: bigint) => ConfChange): Promise<unknown>;
  /** The leader's view of replication: undefined when this member is not the leader. */
  progress(): Map<bigint, { match: number }> | undefined;
  /**
   * Since when (ms, on now()'s clock) the message stream to a peer has been up
   * without interruption; undefined while it is down.
   */
  activeSince(id: bigint): number | undefined;
  /** The clock activeSince is read against (default Date.now). */
  now?(): number;
  /** Asks the leader to promote (only it knows the learner's progress). */
  forwardPromote(id: bigint): Promise<Member[]>;
}

/** Peer URLs as etcd accepts them (types.NewURLs: http/https with host:port, no path). */
export function validPeerURLs(urls: string[]): boolean {
  if (urls.length === 0) return false;
  for (const raw of urls) {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return false;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
    if (!u.port || (u.pathname !== '' && u.pathname !== '/')) return false;
  }
  return true;
}

export class MemberChanges {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly p: MemberChangePorts) {}

  /** One change at a time from this member: each waits for the one before to be answered. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => {});
    return run;
  }

  private voters(): Member[] {
    return this.p.membership.list().filter((m) => !m.isLearner);
  }

  private started(m: Member): boolean {
    return m.name !== '';
  }

  /** The message stream to `id` is up right now (etcd: ActiveSince is not zero). */
  private isActive(id: bigint): boolean {
    return this.p.activeSince(id) !== undefined;
  }

  /** Connected for the whole last HealthInterval (etcd's isConnectedSince(now - 5 s)); self always counts. */
  private connectedLongEnough(id: bigint): boolean {
    if (id === this.p.memberId) return true;
    const since = this.p.activeSince(id);
    const now = this.p.now?.() ?? Date.now();
    return since !== undefined && since < now - HEALTH_INTERVAL_MS;
  }

  private connectedToAll(members: Member[]): boolean {
    return members.every((m) => this.connectedLongEnough(m.id));
  }

  async add(peerURLs: string[], isLearner: boolean): Promise<{ member: Member; members: Member[] }> {
    if (!validPeerURLs(peerURLs)) throw ErrMemberBadURLs();
    return this.serial(async () => {
      if (this.p.strictReconfigCheck) {
        const voters = this.voters();
        if (!isLearner) {
          const nmembers = voters.length + 1;
          const nstarted = voters.filter((m) => this.started(m)).length;
          if (!(nstarted === 1 && nmembers === 2) && nstarted < Math.floor(nmembers / 2) + 1) {
            throw ErrNotEnoughStartedMembers();
          }
        }
        if (!this.connectedToAll(voters)) throw ErrUnhealthy();
      }
      const id = memberIdFor(peerURLs, '', Math.floor(Date.now() / 1000) + Math.random());
      const member: Member = { id, name: '', peerURLs: [...peerURLs], clientURLs: [], isLearner };
      const members = (await this.p.proposeConfChange((reqId) => ({
        type: isLearner ? ConfChangeType.AddLearnerNode : ConfChangeType.AddNode,
        nodeId: id,
        context: encodeMemberContext(member, reqId),
      }))) as Member[];
      return { member, members };
    });
  }

  async remove(id: bigint): Promise<Member[]> {
    return this.serial(async () => {
      const m = this.p.membership.get(id);
      // Known to be gone (the apply-time check would refuse it the same way).
      if (!m) throw ErrMemberNotFound();
      if (this.p.strictReconfigCheck && !m.isLearner) {
        const others = this.voters().filter((v) => v.id !== id);
        const nstarted = others.filter((v) => this.started(v)).length;
        if (nstarted < Math.floor(others.length / 2) + 1) throw ErrNotEnoughStartedMembers();
        // A member that is down is safe to remove: it is not part of the active quorum.
        if (id === this.p.memberId || this.isActive(id)) {
          const voters = this.voters();
          const active = voters.filter((v) => this.connectedLongEnough(v.id)).length;
          if (active - 1 < 1 + Math.floor((voters.length - 1) / 2)) throw ErrUnhealthy();
        }
      }
      return (await this.p.proposeConfChange((reqId) => ({
        type: ConfChangeType.RemoveNode,
        nodeId: id,
        context: encodeMemberContext({ id, name: '', peerURLs: [], isLearner: false }, reqId),
      }))) as Member[];
    });
  }

  async update(id: bigint, peerURLs: string[]): Promise<Member[]> {
    if (!validPeerURLs(peerURLs)) throw ErrMemberBadURLs();
    return this.serial(async () => {
      const m = this.p.membership.get(id);
      if (!m) throw ErrMemberNotFound();
      return (await this.p.proposeConfChange((reqId) => ({
        type: ConfChangeType.UpdateNode,
        nodeId: id,
        context: encodeMemberContext({ id, name: m.name, peerURLs, isLearner: m.isLearner }, reqId),
      }))) as Member[];
    });
  }

  /** On the leader, or forwarded to it: only the leader knows whether the learner is in sync. */
  async promote(id: bigint): Promise<Member[]> {
    try {
      return await this.promoteAsLeader(id);
    } catch (err) {
      if ((err as Error).message !== ErrNotLeader().message) throw err;
    }
    return this.p.forwardPromote(id);
  }

  /** Throws ErrNotLeader when this member is not the leader. */
  async promoteAsLeader(id: bigint): Promise<Member[]> {
    return this.serial(async () => {
      const progress = this.p.progress();
      if (!progress) throw ErrNotLeader();
      const learner = progress.get(id);
      if (learner) {
        const leaderMatch = progress.get(this.p.memberId)?.match ?? 0;
        if (learner.match < leaderMatch * LEARNER_READY_PERCENT) throw ErrLearnerNotReady();
      }
      if (this.p.strictReconfigCheck) {
        const voters = this.voters();
        const nmembers = voters.length + 1;
        const nstarted = voters.filter((m) => this.started(m)).length + 1;
        if (nstarted < Math.floor(nmembers / 2) + 1) throw ErrNotEnoughStartedMembers();
      }
      const m = this.p.membership.get(id);
      if (!m) throw ErrMemberNotFound();
      return (await this.p.proposeConfChange((reqId) => ({
        type: ConfChangeType.AddNode,
        nodeId: id,
        context: encodeMemberContext({ ...m, isLearner: false }, reqId, true),
      }))) as Member[];
    });
  }
}
