// What the step helpers (election.ts, leader.ts, follower.ts, confchange.ts) may
// see of the Raft instance they work on. They are parts of the Raft class spread
// over several files; naming their view of it here, instead of importing the class
// from raft.ts, keeps the module graph a DAG: helpers → core.ts ← raft.ts → helpers.
// The Raft class implements every interface below, so the compiler checks both
// sides; all of this is types only (nothing here exists at run time).
//
// Each interface is what one helper module uses, no more. A field is `readonly`
// when the helpers only read it (the class may still change it), so which of
// Raft's fields the helpers write is visible here at a glance.

import type { RaftLogger } from './config.js';
import type { RaftLog } from './log.js';
import type { ReadOnly } from './read-only.js';
import type { ProgressTracker } from './tracker.js';
import type { Entry, Message, NodeId, ReadState, StateType } from './types.js';

/**
 * What every helper works with: who we are, our term, the log, the peers, the
 * outbox. Not the role: leader.ts runs only as leader and never asks.
 */
export interface RaftCore {
  readonly id: NodeId;
  readonly term: number;
  readonly raftLog: RaftLog;
  readonly trk: ProgressTracker;
  readonly logger: RaftLogger;
  /** Queue a message (see Raft.send: fills in the sender and, for most types, the term). */
  send(m: Message): void;
}

/**
 * Sending appends or snapshots to followers (leader.ts: maybeSendAppend,
 * sendAppend, bcastAppend). Apart from the leader's own message handling, a
 * candidate that just won and a leader applying a conf change use these too.
 */
export interface ReplicationRaft extends RaftCore {
  readonly maxMsgSize: number;
}

/** election.ts: deciding to campaign, the pre-vote and vote phases, counting votes. */
export interface ElectionRaft extends RaftCore {
  readonly state: StateType;
  readonly preVote: boolean;
  readonly bootstrapIndex: number;
  promotable(): boolean;
  becomePreCandidate(): void;
  becomeCandidate(): void;
  becomeLeader(): void;
}

/** leader.ts: proposals, replication, commit, heartbeats, ReadIndex, leadership transfer. */
export interface LeaderRaft extends ReplicationRaft {
  readonly readOnly: ReadOnly;
  /** Answers to local reads (the array is appended to, never replaced, by helpers). */
  readonly readStates: ReadState[];
  /** Reads waiting for this leader's first commit (appended to by helpers). */
  readonly pendingReadIndexMessages: Message[];
  pendingConfIndex: number;
  appendPending: boolean;
  /** The highest index this leader told a follower is on its disk (persisted-hint.ts). */
  hintedPersisted: number;
  leadTransferee: NodeId;
  /** Reset when a leadership transfer starts: it has one election timeout to finish. */
  electionElapsed: number;
  becomeFollower(term: number, lead: NodeId): void;
  appendEntry(es: Entry[]): boolean;
  maybeCommit(): boolean;
  committedEntryInCurrentTerm(): boolean;
  onLeaderCommitAdvanced(): void;
  abortLeaderTransfer(): void;
  /** Keep a peer's proposal until it can be placed (throws ErrProposalDropped when the queue is full). */
  holdProposal(m: Message): void;
}

/**
 * follower.ts: message handling while follower, candidate or pre-candidate. A
 * candidate campaigns (election.ts) and, once it wins, broadcasts appends
 * (leader.ts), hence both views.
 */
export interface FollowerRaft extends ElectionRaft, ReplicationRaft {
  lead: NodeId;
  electionElapsed: number;
  /** The highest index the leader of this term said is on its disk (persisted-hint.ts). */
  leaderPersisted: number;
  /** The last index of an append accepted from the leader of this term: below it our log is its. */
  matchedLeader: number;
  /** Set when a snapshot is restored: the snapshot's membership decides it. */
  isLearner: boolean;
  /** Answers to local reads (appended to, never replaced, by helpers). */
  readonly readStates: ReadState[];
  becomeFollower(term: number, lead: NodeId): void;
  /** Re-enter the state machine (MsgTimeoutNow becomes a local MsgHup). */
  step(m: Message): void;
  /** Keep a peer's proposal until a leader is known (throws ErrProposalDropped when the queue is full). */
  holdProposal(m: Message): void;
}

/** confchange.ts: applying a committed membership change; a leader removed from it steps down. */
export interface ConfChangeRaft extends ReplicationRaft {
  readonly state: StateType;
  isLearner: boolean;
  readonly leadTransferee: NodeId;
  becomeFollower(term: number, lead: NodeId): void;
  maybeCommit(): boolean;
  onLeaderCommitAdvanced(): void;
  abortLeaderTransfer(): void;
}
