// The Raft state machine proper: terms, roles, elections, and the plumbing shared
// by all roles. Role-specific message handling lives in leader.ts and follower.ts,
// elections in election.ts, membership changes in confchange.ts; those helpers see
// this class only through the interfaces of core.ts, which it implements. The
// queue of proposals held for want of a leader is held-proposals.ts, the joining
// of forwarded proposals forward-join.ts.
// Nothing here performs I/O: outputs accumulate in `msgs` / `readStates` and the
// log's unstable part, and RawNode hands them to the driver.

import { type RaftConfig, type RaftLogger, noopLogger, seededRandom, validateConfig } from './config.js';
import { decodeConfChange } from './codec.js';
import type { ConfChangeRaft, ElectionRaft, FollowerRaft, LeaderRaft, ReplicationRaft } from './core.js';
import { ErrProposalDropped } from './errors.js';
import { applyConfChange } from './confchange.js';
import { hup } from './election.js';
import { HeldProposals } from './held-proposals.js';
import { ProposalJoiner } from './forward-join.js';
import { stepCandidate, stepFollower } from './follower.js';
import { bcastAppend, bcastCommit, stepLeader } from './leader.js';
import { RaftLog } from './log.js';
import { ReadOnly } from './read-only.js';
import { commitFromLeaderPersisted, sendPersistedHints } from './persisted-hint.js';
import { ProgressTracker } from './tracker.js';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type ReadState,
  type SoftState,
  EntryType,
  MessageType,
  NONE,
  StateType,
} from './types.js';
import { CAMPAIGN_TRANSFER, EMPTY_BYTES, bytesEqual, dataBytes, newMessage, proposalEntry, voteRespType } from './util.js';


const NO_LIMIT = Number.MAX_SAFE_INTEGER;

export class Raft implements ElectionRaft, ReplicationRaft, LeaderRaft, FollowerRaft, ConfChangeRaft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  state: StateType = StateType.Follower;
  isLearner = false;
  readonly raftLog: RaftLog;
  readonly trk: ProgressTracker;
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  readOnly = new ReadOnly();
  /** Read requests that arrived before this leader committed an entry of its term. */
  pendingReadIndexMessages: Message[] = [];

  readonly maxMsgSize: number;
  readonly maxUncommittedSize: number;
  uncommittedSize = 0;
  /** Index of the latest conf change in the log; a new one waits until it is applied. */
  pendingConfIndex = 0;
  leadTransferee: NodeId = NONE;
  /** New proposals are in the log but not yet broadcast (see flushAppends). */
  appendPending = false;
  /** Last index of bootstrap entries: their conf changes are already in effect. */
  bootstrapIndex = 0;
  /** Leader: the highest index it told a follower is on its disk (persisted-hint.ts). */
  hintedPersisted = 0;
  /** Follower: the highest index the leader of this term said is on its disk. */
  leaderPersisted = 0;
  /** Follower: the last index of an append accepted from the leader of this term. */
  matchedLeader = 0;
  /** Proposals forwarded by peers that this member could not place when they came. */
  private readonly held = new HeldProposals();
  private readonly proposalJoiner = new ProposalJoiner();

  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  randomizedElectionTimeout = 0;
  electionElapsed = 0;
  heartbeatElapsed = 0;
  private readonly random: () => number;
  readonly logger: RaftLogger;

  constructor(c: RaftConfig) {
    validateConfig(c);
    this.id = c.id;
    this.logger = c.logger ?? noopLogger;
    this.random = c.random ?? seededRandom(Number(BigInt.asUintN(32, c.id)) ^ 0x5bd1e995);
    this.maxMsgSize = c.maxSizePerMsg ?? 1024 * 1024;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize || NO_LIMIT;
    this.trk = new ProgressTracker(c.maxInflightMsgs ?? 256);
    this.raftLog = new RaftLog(c.storage, Math.max(this.maxMsgSize, 4 * 1024 * 1024));
    this.checkQuorum = c.checkQuorum ?? false;
    this.preVote = c.preVote ?? false;
    this.heartbeatTimeout = c.heartbeatTick;
    this.electionTimeout = c.electionTick;

    const { hardState, confState } = c.storage.initialState();
    this.trk.restore(confState, this.raftLog.lastIndex() + 1);
    this.isLearner = this.trk.learners.has(this.id);
    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) this.loadState(hardState);
    if (c.applied !== undefined && c.applied > this.raftLog.applied) {
      const first = this.raftLog.applied + 1;
      this.raftLog.appliedTo(Math.min(c.applied, this.raftLog.committed));
      // The driver won't re-apply entries up to `applied`, but the membership they
      // changed is not in the snapshot's ConfState: replay those changes here.
      for (const e of this.raftLog.slice(first, this.raftLog.applied + 1)) {
        if (e.type === EntryType.ConfChange) this.applyConfChange(decodeConfChange(e.data));
      }
    }
    this.becomeFollower(this.term, NONE);
  }

  private loadState(h: HardState): void {
    if (h.commit < this.raftLog.committed || h.commit > this.raftLog.lastIndex()) {
      throw new Error(`${this.id} state.commit ${h.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`);
    }
    this.raftLog.committed = h.commit;
    this.term = h.term;
    this.vote = h.vote;
  }

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  /** Queue a message; fills in a missing sender and, for most types, our term. */
  send(m: Message): void {
    // Forwarded requests keep their origin (the transferee, the reader).
    if (m.from === NONE) m.from = this.id;
    const t = m.type;
    if (t === MessageType.MsgVote || t === MessageType.MsgVoteResp || t === MessageType.MsgPreVote || t === MessageType.MsgPreVoteResp) {
      if (m.term === 0) throw new Error(`term should be set when sending ${MessageType[t]}`);
    } else {
      if (m.term !== 0) throw new Error(`term should not be set when sending ${MessageType[t]} (was ${m.term})`);
      // Forwarded proposals and read requests travel as local messages (term 0).
      if (t !== MessageType.MsgProp && t !== MessageType.MsgReadIndex) m.term = this.term;
    }
    // A forwarded proposal right behind another to the same leader rides with it (forward-join.ts).
    if (t === MessageType.MsgProp && this.proposalJoiner.join(this.msgs, m, this.maxMsgSize)) return;
    this.msgs.push(m);
  }

  // ---- roles -------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    for (const [id, pr] of this.trk.progress) {
      pr.match = 0;
      pr.next = last + 1;
      pr.state = 'probe';
      pr.probeSent = false;
      pr.pendingSnapshot = 0;
      pr.inflights.reset();
      pr.forwardedUpTo = 0;
      // Our own match is what we have on disk; unpersisted entries don't count.
      if (id === this.id) pr.match = this.raftLog.stableIndex();
    }
    this.pendingConfIndex = 0;
    this.hintedPersisted = 0;
    this.leaderPersisted = 0;
    this.matchedLeader = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = StateType.Follower;
  }

  becomeCandidate(): void {
    if (this.state === StateType.Leader) throw new Error('invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = StateType.Candidate;
  }

  becomePreCandidate(): void {
    if (this.state === StateType.Leader) throw new Error('invalid transition [leader -> pre-candidate]');
    // Pre-vote changes neither term nor vote: a failed pre-campaign leaves no trace.
    this.trk.resetVotes();
    this.lead = NONE;
    this.state = StateType.PreCandidate;
  }

  becomeLeader(): void {
    if (this.state === StateType.Follower) throw new Error('invalid transition [follower -> leader]');
    this.reset(this.term);
    this.lead = this.id;
    this.state = StateType.Leader;
    this.trk.progress.get(this.id)?.becomeReplicate();
    // Conservatively assume the uncommitted tail may hold a conf change.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // The empty entry commits everything before it (Figure 8) and unblocks ReadIndex.
    this.appendEntry([proposalEntry(EntryType.Normal, EMPTY_BYTES)]);
    this.logger.info({ id: String(this.id), term: this.term }, 'became leader');
  }

  // ---- time --------------------------------------------------------------

  tick(): void {
    if (this.state === StateType.Leader) this.tickHeartbeat();
    else this.tickElection();
    // Nowhere to put them for two election timeouts (a transfer gets one): give up.
    const dropped = this.held.tick(2 * this.electionTimeout);
    if (dropped > 0) this.logger.warn({ id: String(this.id), count: dropped }, 'dropping proposals held while no leader could take them');
    this.placeHeldProposals();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(newMessage(MessageType.MsgHup, NONE, this.id));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(newMessage(MessageType.MsgCheckQuorum, NONE, this.id));
      // A transfer that didn't finish within an election timeout is abandoned.
      if (this.state === StateType.Leader && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.state !== StateType.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(newMessage(MessageType.MsgBeat, NONE, this.id));
    }
  }

  resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(this.random() * this.electionTimeout);
  }

  /** May this member become leader? (a voter, not waiting for a snapshot) */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasPendingSnapshot();
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---- the entry point for every message ----------------------------------

  step(m: Message): void {
    this.stepMessage(m);
    this.placeHeldProposals();
  }

  private stepMessage(m: Message): void {
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
        const force = bytesEqual(m.context, CAMPAIGN_TRANSFER);
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        // Leader stickiness: a live leader's followers ignore a disruptive candidate.
        if (!force && inLease) return;
      }
      if (m.type === MessageType.MsgPreVote) {
        // Never change our term in response to a pre-vote.
      } else if (m.type === MessageType.MsgPreVoteResp && !m.reject) {
        // A granted pre-vote carries the future term; we bump it when we win.
      } else if (m.type === MessageType.MsgApp || m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgSnap) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgApp)) {
        // A stale leader (e.g. partitioned, or whose term we bumped by pre-vote-less
        // campaigning) learns the new term from this and steps down.
        this.send(newMessage(MessageType.MsgAppResp, m.from, this.id));
      } else if (m.type === MessageType.MsgPreVote || m.type === MessageType.MsgVote) {
        // As in the paper, the reply carries our term so a stale candidate catches up;
        // otherwise one that missed a config change may chase our term forever.
        const r = newMessage(voteRespType(m.type), m.from, this.id);
        r.term = this.term;
        r.reject = true;
        this.send(r);
      }
      return;
    }

    switch (m.type) {
      case MessageType.MsgHup:
        hup(this, bytesEqual(m.context, CAMPAIGN_TRANSFER));
        return;
      case MessageType.MsgVote:
      case MessageType.MsgPreVote: {
        const canVote =
          this.vote === m.from ||
          (this.vote === NONE && this.lead === NONE) ||
          (m.type === MessageType.MsgPreVote && m.term > this.term);
        const r = newMessage(voteRespType(m.type), m.from, this.id);
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          // Answer in the message's term: for a pre-vote that is the future term.
          r.term = m.term;
          this.send(r);
          if (m.type === MessageType.MsgVote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          r.term = this.term;
          r.reject = true;
          this.send(r);
        }
        return;
      }
      default:
        if (this.state === StateType.Leader) stepLeader(this, m);
        else if (this.state === StateType.Follower) stepFollower(this, m);
        else stepCandidate(this, m);
    }
  }

  // ---- log helpers used by the roles ---------------------------------------

  /** Append proposals to the leader's log; false if the uncommitted-size budget is exhausted. */
  appendEntry(es: Entry[]): boolean {
    let li = this.raftLog.lastIndex();
    const s = dataBytes(es);
    if (this.uncommittedSize > 0 && s > 0 && this.uncommittedSize + s > this.maxUncommittedSize) return false;
    this.uncommittedSize += s;
    for (let i = 0; i < es.length; i++) {
      es[i].term = this.term;
      es[i].index = ++li;
      // Its encoding (if any) was made without them; it is made again on first use.
      es[i].encoded = undefined;
    }
    this.raftLog.append(es);
    return true;
  }

  reduceUncommittedSize(ents: Entry[]): void {
    if (this.uncommittedSize === 0) return;
    const s = dataBytes(ents);
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s;
  }

  /** Leader: advance commit from quorum match; true if it moved. */
  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.trk.committed(), this.term);
  }

  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.termOr0(this.raftLog.committed) === this.term;
  }

  /**
   * The driver persisted entries up to (index, term). A leader counts itself
   * toward commit only for entries on its own disk, and tells the followers
   * waiting for their forwarded proposals that its copy is there; a follower
   * may now know an entry is on a majority (persisted-hint.ts).
   */
  onPersisted(index: number, term: number): void {
    this.raftLog.stableTo(index, term);
    if (this.state !== StateType.Leader) {
      commitFromLeaderPersisted(this);
      return;
    }
    const stable = this.raftLog.stableIndex();
    const pr = this.trk.progress.get(this.id);
    if (pr && pr.maybeUpdate(stable) && this.maybeCommit()) this.onLeaderCommitAdvanced();
    sendPersistedHints(this, stable);
  }

  /** Spread a new commit index and release reads that waited for our first commit. */
  onLeaderCommitAdvanced(): void {
    if (this.committedEntryInCurrentTerm() && this.pendingReadIndexMessages.length > 0) {
      const pending = this.pendingReadIndexMessages;
      this.pendingReadIndexMessages = [];
      for (const m of pending) this.step(m);
    }
    bcastCommit(this);
  }

  /** Broadcast appends deferred by proposals; RawNode calls this before building a Ready. */
  flushAppends(): void {
    if (!this.appendPending) return;
    this.appendPending = false;
    if (this.state === StateType.Leader) bcastAppend(this, 'nothing');
  }

  // ---- membership ------------------------------------------------------------

  applyConfChange(cc: ConfChange): ConfState {
    const cs = applyConfChange(this, cc);
    this.placeHeldProposals();
    return cs;
  }

  // ---- proposals forwarded while no leader could take them ----------------------

  /** Proposals held now, oldest first (held-proposals.ts). */
  get heldProposals(): readonly Message[] {
    return this.held.messages;
  }

  /** Keeps a peer's proposal until it can be placed (held-proposals.ts); throws ErrProposalDropped when full. */
  holdProposal(m: Message): void {
    this.held.hold(m);
  }

  /**
   * Held proposals go on once there is a place for them: appended to our log when we
   * lead and no transfer is under way (a transfer was aborted, or we won an
   * election), forwarded to the leader when we follow a known one (the transfer
   * finished). Otherwise they stay.
   */
  private placeHeldProposals(): void {
    if (this.held.size === 0) return;
    const lead = this.state === StateType.Leader && this.leadTransferee === NONE;
    const follow = this.state === StateType.Follower && this.lead !== NONE;
    if (!lead && !follow) return;
    for (const m of this.held.takeAll()) {
      if (follow) {
        // Forwarded in our name, like our own proposals: a member only sends messages
        // from itself (the leader does not look at a proposal's sender).
        this.send({ ...m, to: this.lead, from: this.id });
        continue;
      }
      try {
        this.stepMessage(m);
      } catch (e) {
        // Removed from the configuration, or the uncommitted budget is spent.
        if (!(e instanceof ErrProposalDropped)) throw e;
        this.logger.info({ id: String(this.id), reason: e.message }, 'dropped a held proposal');
      }
    }
  }

  // ---- proposals (used by RawNode) ----------------------------------------------

  /**
   * A local proposal. When nobody can take it now it is refused synchronously
   * (ErrProposalDropped), and its proposer retries once a leader is known; only
   * proposals that peers forward get held (holdProposal).
   */
  propose(m: Message): void {
    if (this.state === StateType.Leader) {
      if (this.leadTransferee !== NONE) throw new ErrProposalDropped('leadership transfer in progress');
      this.step(m);
      return;
    }
    if (this.state === StateType.Follower) {
      if (this.lead === NONE) throw new ErrProposalDropped('no leader');
      this.step(m);
      return;
    }
    throw new ErrProposalDropped('no leader');
  }
}
