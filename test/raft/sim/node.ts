// A simulated member: a RawNode over a MemoryStorage that stands for its disk, and
// a toy state machine (the sequence of applied entries). Follows the Ready contract
// exactly: persist entries/hard state/snapshot, then queue messages, then apply, then
// advance. A crash keeps only the MemoryStorage; everything else is rebuilt.

import {
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type Ready,
  EntryType,
  MemoryStorage,
  RawNode,
  StateType,
  decodeConfChange,
  emptyConfState,
  seededRandom,
} from '../../../src/raft/index.js';

export interface NodeOptions {
  electionTick?: number;
  heartbeatTick?: number;
  checkQuorum?: boolean;
  preVote?: boolean;
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
  maxUncommittedEntriesSize?: number;
  random?: () => number;
}

const dec = new TextDecoder();
const enc = new TextEncoder();

/** How an entry is identified when comparing logs and applied sequences. */
export function sig(e: Entry): string {
  return `${e.term}/${e.type}/${dec.decode(e.data)}`;
}

export class SimNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  rn!: RawNode;
  alive = true;
  /** applied[i-1] is the signature of the entry applied at index i. */
  applied: string[] = [];
  confState: ConfState = emptyConfState();
  readonly opts: NodeOptions;
  /** Hook for invariant checks on every Ready. */
  onReady?: (n: SimNode, rd: Ready) => void;
  readStates: { index: number; ctx: string }[] = [];

  constructor(id: NodeId, opts: NodeOptions, storage = new MemoryStorage()) {
    this.id = id;
    this.opts = opts;
    this.storage = storage;
    this.start();
  }

  private start(): void {
    const snap = this.storage.snapshot();
    this.applied = snap.metadata.index > 0 ? (JSON.parse(dec.decode(snap.data)) as string[]) : [];
    this.confState = snap.metadata.confState;
    this.rn = new RawNode({
      id: this.id,
      electionTick: this.opts.electionTick ?? 10,
      heartbeatTick: this.opts.heartbeatTick ?? 1,
      storage: this.storage,
      checkQuorum: this.opts.checkQuorum,
      preVote: this.opts.preVote,
      maxSizePerMsg: this.opts.maxSizePerMsg,
      maxInflightMsgs: this.opts.maxInflightMsgs,
      maxUncommittedEntriesSize: this.opts.maxUncommittedEntriesSize,
      random: this.opts.random ?? seeded(Number(this.id)),
    });
  }

  crash(): void {
    this.alive = false;
  }

  restart(): void {
    this.alive = true;
    this.readStates = [];
    this.start();
  }

  get raft() {
    return this.rn.raft;
  }

  isLeader(): boolean {
    return this.rn.raft.state === StateType.Leader;
  }

  /** Run one Ready cycle; returns the messages to send (empty if nothing was ready). */
  handleReady(): Message[] {
    if (!this.alive || !this.rn.hasReady()) return [];
    const rd = this.rn.ready();
    this.onReady?.(this, rd);
    if (rd.snapshot) this.storage.applySnapshot(rd.snapshot);
    this.storage.append(rd.entries);
    if (rd.hardState) this.storage.setHardState(rd.hardState);
    if (rd.snapshot) {
      this.applied = JSON.parse(dec.decode(rd.snapshot.data)) as string[];
      this.confState = rd.snapshot.metadata.confState;
    }
    for (const e of rd.committedEntries) {
      if (e.index !== this.applied.length + 1) {
        throw new Error(`node ${this.id} applies ${e.index} after ${this.applied.length}`);
      }
      this.applied.push(sig(e));
      if (e.type === EntryType.ConfChange) this.confState = this.rn.applyConfChange(decodeConfChange(e.data));
    }
    for (const rs of rd.readStates) this.readStates.push({ index: rs.index, ctx: dec.decode(rs.requestCtx) });
    this.rn.advance(rd);
    return rd.messages;
  }

  /** Snapshot the state machine at its applied index and compact the log, keeping `keep` entries. */
  compact(keep: number): boolean {
    const idx = this.applied.length;
    const snapIdx = this.storage.snapshot().metadata.index;
    if (idx <= snapIdx + keep) return false;
    this.storage.createSnapshot(idx, this.confState, enc.encode(JSON.stringify(this.applied)));
    this.storage.compact(idx - keep);
    return true;
  }
}

/** The core's own PRNG, so the simulation and the nodes draw from one kind of source. */
export const seeded = seededRandom;
