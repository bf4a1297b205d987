// The data that crosses the boundary of the Raft core: what it is fed (messages),
// what it hands out (entries to persist, messages to send, entries to apply) and
// what it is rebuilt from after a restart (hard state, log, snapshot).
// Pure types: this file imports nothing.

/** A member id: 64-bit, never a JS number (ids above 2^53 are common in etcd). */
export type NodeId = bigint;

/** No node: used for "no vote" and "no leader". */
export const NONE: NodeId = 0n;

export enum EntryType {
  Normal = 0,
  ConfChange = 1,
  ConfChangeV2 = 2,
}

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
  /**
   * The entry's wire encoding (codec.ts encodeEntry), kept once computed so that
   * the WAL record and every follower's MsgApp reuse it. Only an entry in the log
   * (index > 0) carries one: from then on its fields never change. Appending a
   * proposal (which sets term and index) clears it. Required, so that every
   * entry is made with it (undefined at first): an entry given it later needs an
   * out-of-object property store and another hidden class, and the log's code
   * then meets two shapes of entry.
   */
  encoded: Uint8Array | undefined;
}

/** What must be on disk before any message that depends on it is sent. */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
  /** Voters of the outgoing configuration while in a joint configuration. */
  votersOutgoing: NodeId[];
  /** Voters that become learners when the joint configuration is left. */
  learnersNext: NodeId[];
  autoLeave: boolean;
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  /** Opaque application state; the core never looks inside. */
  data: Uint8Array;
}

export enum MessageType {
  MsgHup = 0,
  MsgBeat = 1,
  MsgProp = 2,
  MsgApp = 3,
  MsgAppResp = 4,
  MsgVote = 5,
  MsgVoteResp = 6,
  MsgSnap = 7,
  MsgHeartbeat = 8,
  MsgHeartbeatResp = 9,
  MsgUnreachable = 10,
  MsgSnapStatus = 11,
  MsgCheckQuorum = 12,
  MsgTransferLeader = 13,
  MsgTimeoutNow = 14,
  MsgReadIndex = 15,
  MsgReadIndexResp = 16,
  MsgPreVote = 17,
  MsgPreVoteResp = 18,
  /**
   * Ours, outside raftpb's numbers: a leader tells a follower whose forwarded
   * proposals it appended that its own log is on its disk up to `index`
   * (persisted-hint.ts). Never answered.
   */
  MsgLeaderPersisted = 100,
}

export interface Message {
  type: MessageType;
  to: NodeId;
  from: NodeId;
  term: number;
  /** Term of the entry at `index` (append / vote messages). */
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  snapshot?: Snapshot;
  reject: boolean;
  rejectHint: number;
  /** Opaque bytes carried through (ReadIndex request context, campaign type). */
  context?: Uint8Array;
  /**
   * MsgApp only: an append with no entries that spreads a new commit index to a
   * follower the leader streams to (leader.ts, maybeSendAppend). A follower that
   * accepts it does not answer: it acknowledges the entries up to `index` anyway,
   * and heartbeats tell the leader it is alive. Our own field 13, beside raftpb's.
   */
  commitOnly?: boolean;
}

export enum ConfChangeType {
  AddNode = 0,
  RemoveNode = 1,
  UpdateNode = 2,
  AddLearnerNode = 3,
}

/** A single membership change; `context` is the application's member record. */
export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
  context: Uint8Array;
}

export enum StateType {
  Follower = 0,
  Candidate = 1,
  Leader = 2,
  PreCandidate = 3,
}

export interface SoftState {
  lead: NodeId;
  raftState: StateType;
}

/** A linearizable read point: once applied ≥ index, the read with this ctx may be served. */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

/**
 * One batch of work for the driver. Contract (as in etcd-io/raft):
 * 1. persist `entries`, then `hardState` / `snapshot` (fsync when `mustSync`);
 * 2. only then send `messages` (a leader's own appends may be written in parallel);
 * 3. apply `snapshot` then `committedEntries` in order;
 * 4. call `advance()`.
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  readStates: ReadState[];
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  mustSync: boolean;
}
