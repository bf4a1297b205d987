// The driver-facing wrapper: turns the core's accumulated outputs into Ready
// batches and applies the driver's acknowledgements (advance). Synchronous and
// single-threaded; the server owns timers, disk and network.

import { encodeConfChange } from './codec.js';
import type { RaftConfig } from './config.js';
import { ErrProposalDropped, ErrStepLocalMsg } from './errors.js';
import type { Progress, ProgressState } from './progress.js';
import { Raft } from './raft.js';
import {
  type ConfChange,
  type ConfState,
  type HardState,
  type Message,
  type NodeId,
  type Ready,
  type SoftState,
  ConfChangeType,
  EntryType,
  MessageType,
  NONE,
  StateType,
} from './types.js';
import { hardStateEqual, isEmptyHardState, isLocalMsg, isResponseMsg, newMessage, proposalEntry } from './util.js';

const NO_MESSAGES: Message[] = [];

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  isLearner: boolean;
}

export interface Status {
  id: NodeId;
  hardState: HardState;
  softState: SoftState;
  applied: number;
  leadTransferee: NodeId;
  progress: Map<NodeId, ProgressStatus>;
}

export class RawNode {
  /** The core; exposed for tests and diagnostics, not for drivers. */
  readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;

  /** The largest entry data one MsgApp carries (maxSizePerMsg). */
  get maxMsgSize(): number {
    return this.raft.maxMsgSize;
  }

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoft = this.raft.softState();
    this.prevHard = this.raft.hardState();
  }

  /**
   * Seed a brand-new member's log with the initial membership: one committed
   * AddNode entry per peer. They come out of ready() like any committed entries
   * and the driver applies them (applyConfChange is idempotent for these).
   */
  bootstrap(peers: { id: NodeId; context: Uint8Array }[]): void {
    if (peers.length === 0) throw new Error('must provide at least one peer to bootstrap');
    const r = this.raft;
    if (r.raftLog.storage.lastIndex() !== 0 || r.raftLog.lastIndex() !== 0) throw new Error("can't bootstrap a nonempty Storage");
    // Leave prevHard empty so the first Ready carries the bootstrap hard state.
    this.prevHard = { term: 0, vote: NONE, commit: 0 };
    r.becomeFollower(1, NONE);
    const ents = peers.map((p, i) => ({
      term: 1,
      index: i + 1,
      type: EntryType.ConfChange,
      data: encodeConfChange({ type: ConfChangeType.AddNode, nodeId: p.id, context: p.context }),
      encoded: undefined,
    }));
    r.raftLog.append(ents);
    r.raftLog.committed = ents.length;
    r.bootstrapIndex = ents.length;
    // Make the membership known now, so the node can campaign before applying.
    for (const p of peers) r.applyConfChange({ type: ConfChangeType.AddNode, nodeId: p.id, context: p.context });
  }

  tick(): void {
    this.raft.tick();
  }

  campaign(): void {
    this.raft.step(newMessage(MessageType.MsgHup, NONE, this.raft.id));
  }

  propose(data: Uint8Array): void {
    const m = newMessage(MessageType.MsgProp, NONE, this.raft.id);
    m.entries = [proposalEntry(EntryType.Normal, data)];
    this.raft.propose(m);
  }

  /** Propose several entries in one go (one log append, one broadcast). */
  proposeBatch(datas: Uint8Array[]): void {
    if (datas.length === 0) return;
    const m = newMessage(MessageType.MsgProp, NONE, this.raft.id);
    m.entries = datas.map((data) => proposalEntry(EntryType.Normal, data));
    this.raft.propose(m);
  }

  proposeConfChange(cc: ConfChange): void {
    const m = newMessage(MessageType.MsgProp, NONE, this.raft.id);
    m.entries = [proposalEntry(EntryType.ConfChange, encodeConfChange(cc))];
    this.raft.propose(m);
  }

  /** A message from a peer. Responses from members no longer in the group are ignored. */
  step(m: Message): void {
    if (isLocalMsg(m.type)) throw new ErrStepLocalMsg();
    if (isResponseMsg(m.type) && !this.raft.trk.progress.has(m.from)) return;
    try {
      this.raft.step(m);
    } catch (e) {
      // A forwarded proposal that we can't take: the forwarder times out and retries.
      if (e instanceof ErrProposalDropped && m.type === MessageType.MsgProp) return;
      throw e;
    }
  }

  /**
   * What a leader lease checks on every use, read without building a Status: the
   * commit index the core knows now (a leader's runs ahead of the last Ready's hard
   * state while that Ready is being written) and whether a leadership transfer is
   * under way (the transferee may already have been told to campaign).
   */
  get committed(): number {
    return this.raft.raftLog.committed;
  }

  get transferring(): boolean {
    return this.raft.leadTransferee !== NONE;
  }

  readIndex(ctx: Uint8Array): void {
    const m = newMessage(MessageType.MsgReadIndex, NONE, this.raft.id);
    m.context = ctx;
    this.raft.step(m);
  }

  transferLeadership(to: NodeId): void {
    this.raft.step(newMessage(MessageType.MsgTransferLeader, NONE, to));
  }

  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  reportUnreachable(id: NodeId): void {
    this.raft.step(newMessage(MessageType.MsgUnreachable, NONE, id));
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    const m = newMessage(MessageType.MsgSnapStatus, NONE, id);
    m.reject = !ok;
    this.raft.step(m);
  }

  hasReady(): boolean {
    const r = this.raft;
    r.flushAppends();
    const ss = r.softState();
    if (ss.lead !== this.prevSoft.lead || ss.raftState !== this.prevSoft.raftState) return true;
    const hs = r.hardState();
    if (!isEmptyHardState(hs) && !hardStateEqual(hs, this.prevHard)) return true;
    if (r.raftLog.hasPendingSnapshot()) return true;
    if (r.msgs.length > 0 || r.raftLog.unstableEntries().length > 0 || r.raftLog.hasNextEnts()) return true;
    return r.readStates.length > 0;
  }

  ready(): Ready {
    const r = this.raft;
    r.flushAppends();
    const rd: Ready = {
      readStates: r.readStates,
      entries: r.raftLog.unstableEntries().slice(),
      committedEntries: r.raftLog.nextEnts(),
      messages: r.msgs,
      mustSync: false,
    };
    const ss = r.softState();
    if (ss.lead !== this.prevSoft.lead || ss.raftState !== this.prevSoft.raftState) {
      rd.softState = ss;
      this.prevSoft = ss;
    }
    const hs = r.hardState();
    if (!isEmptyHardState(hs) && !hardStateEqual(hs, this.prevHard)) rd.hardState = hs;
    if (r.raftLog.unstable.snapshot) rd.snapshot = r.raftLog.unstable.snapshot;
    rd.mustSync = rd.entries.length > 0 || hs.term !== this.prevHard.term || hs.vote !== this.prevHard.vote;
    r.msgs = [];
    r.readStates = [];
    // Heartbeats of the newest read round are now with the driver: later reads start a new round.
    r.readOnly.markSent();
    return rd;
  }

  /**
   * A leader's appends made since the last Ready, taken out of the next one: all
   * of the pending messages if every one is a MsgApp of the leader's current term,
   * else none (votes, acknowledgements, heartbeats of a read round and snapshots
   * keep their place in the Ready). A leader's appends may leave before any write
   * of its own is on disk (it counts its own copy only once it is), and Raft
   * tolerates messages overtaking each other, so the driver may send these while
   * the previous Ready is still being written.
   */
  takeLeaderAppends(): Message[] {
    const r = this.raft;
    if (r.state !== StateType.Leader || r.msgs.length === 0) return NO_MESSAGES;
    for (const m of r.msgs) if (m.type !== MessageType.MsgApp || m.term !== r.term) return NO_MESSAGES;
    const out = r.msgs;
    r.msgs = [];
    return out;
  }

  /** The driver has persisted, sent and applied everything in rd. */
  advance(rd: Ready): void {
    const r = this.raft;
    if (rd.hardState) this.prevHard = rd.hardState;
    if (rd.snapshot) {
      r.raftLog.stableSnapTo(rd.snapshot.metadata.index);
      if (rd.snapshot.metadata.index > r.raftLog.applied) r.raftLog.applied = rd.snapshot.metadata.index;
    }
    if (rd.committedEntries.length > 0) {
      r.raftLog.appliedTo(rd.committedEntries[rd.committedEntries.length - 1].index);
      r.reduceUncommittedSize(rd.committedEntries);
    }
    if (rd.entries.length > 0) {
      const e = rd.entries[rd.entries.length - 1];
      r.onPersisted(e.index, e.term);
    }
  }

  status(): Status {
    const r = this.raft;
    const progress = new Map<NodeId, ProgressStatus>();
    if (r.state === 2 /* leader */) {
      for (const [id, pr] of r.trk.progress) progress.set(id, progressStatus(pr));
    }
    return {
      id: r.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.raftLog.applied,
      leadTransferee: r.leadTransferee,
      progress,
    };
  }
}

function progressStatus(pr: Progress): ProgressStatus {
  return { match: pr.match, next: pr.next, state: pr.state, isLearner: pr.isLearner };
}

