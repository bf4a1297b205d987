// Maintenance.MoveLeader: the leader hands leadership to a chosen voter through
// Raft's transfer (MsgTransferLeader → MsgTimeoutNow) and answers once the
// transferee is known as leader, as etcd's EtcdServer.MoveLeader does: it polls
// the known leader every tick until the caller's deadline.

import { Code, EtcdError } from './errors.js';

export const ErrNotLeader = (): EtcdError => new EtcdError(Code.FAILED_PRECONDITION, 'etcdserver: not leader');
export const ErrBadLeaderTransferee = (): EtcdError =>
  new EtcdError(Code.FAILED_PRECONDITION, 'etcdserver: bad leader transferee');
// etcd 3.4 has no gRPC mapping for this one: clients see it with code Unknown.
export const ErrTimeoutLeaderTransfer = (): EtcdError =>
  new EtcdError(Code.UNKNOWN, 'etcdserver: request timed out, leader transfer took too long');

/** What a leader transfer needs of the member. */
export interface LeaderTransferHost {
  readonly memberId: bigint;
  /** The leader this member knows (0n: none). */
  leader(): bigint;
  /** The member with that id, if it is in the cluster. */
  member(id: bigint): { isLearner: boolean } | undefined;
  transferLeadership(to: bigint): void;
  readonly tickMs: number;
}

export interface LeaderTransferLog {
  info(obj: object, msg: string): void;
}

/**
 * Moves leadership from this member (which must lead) to `target`. Resolves when
 * `target` is the known leader; rejects with ErrTimeoutLeaderTransfer at
 * `deadline` (epoch ms).
 */
export async function moveLeader(
  host: LeaderTransferHost,
  target: bigint,
  deadline: number,
  log?: LeaderTransferLog,
  now: () => number = Date.now,
): Promise<void> {
  const lead = host.leader();
  if (lead !== host.memberId) throw ErrNotLeader();
  const m = host.member(target);
  if (!m || m.isLearner) throw ErrBadLeaderTransferee();
  const started = now();
  log?.info({ currentLeader: lead.toString(16), transferee: target.toString(16) }, 'leadership transfer starting');
  host.transferLeadership(target);
  const interval = Math.max(1, host.tickMs);
  while (host.leader() !== target) {
    if (now() >= deadline) throw ErrTimeoutLeaderTransfer();
    await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(1, deadline - now()))));
  }
  log?.info({ oldLeader: lead.toString(16), newLeader: target.toString(16), tookMs: now() - started }, 'leadership transfer finished');
}

/** What a stopping leader needs to hand leadership on. */
export interface StopTransferHost {
  readonly memberId: bigint;
  isLeader(): boolean;
  leader(): bigint;
  /** Each peer's replication progress (the leader's view). */
  progress(): Map<bigint, { match: number; isLearner: boolean }>;
  transferLeadership(to: bigint): void;
  readonly electionMs: number;
}

/**
 * A leader that stops hands leadership to its most up-to-date voter first (as
 * etcd does), so the cluster does not sit out an election timeout with requests
 * forwarded to a member that is gone. Bounded by two election timeouts.
 */
export async function transferLeadershipBeforeStop(h: StopTransferHost, log: LeaderTransferLog & { warn(obj: object, msg: string): void }): Promise<void> {
  if (!h.isLeader()) return;
  let target: bigint | undefined;
  let best = -1;
  for (const [id, p] of h.progress()) {
    if (id === h.memberId || p.isLearner || p.match <= best) continue;
    best = p.match;
    target = id;
  }
  if (target === undefined) return;
  log.info({ to: target.toString(16) }, 'leader stopping: transferring leadership');
  h.transferLeadership(target);
  const deadline = Date.now() + 2 * h.electionMs;
  while (h.leader() === h.memberId && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  if (h.leader() === h.memberId) log.warn({}, 'leadership transfer did not finish before stopping');
}
