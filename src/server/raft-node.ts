// The driver around the pure Raft core: it owns time (ticks), the disk (WAL and
// snapshot files) and the network (a Transport), and kicks the Ready loop
// (ready-loop.ts: persist → send → hand committed entries to the applier →
// advance) whenever the core may have something for it.
//
// All three come in as ports (raft-ports.ts): real timers, the WAL and the peer
// transport in production; a manual clock, an in-memory log and an in-memory
// network in the deterministic simulation (test/sim/), which runs this same class.

import type { Logger } from 'pino';
import { isTransferCampaign, persistedHintAllowed, readFloor, type MemoryStorage, type RawNode } from '../raft/index.js';
import type { ConfChange, Message } from '../raft/types.js';
import { MessageType, StateType } from '../raft/types.js';
import type { Cancel, RaftNodeHandlers, RaftNodeOptions, RaftNodePorts } from './raft-ports.js';
import { joinAppends } from './join-appends.js';
import { InlineWritePolicy } from './inline-writes.js';
import { RaftOutbox } from './raft-outbox.js';
import { ReadyLoop } from './ready-loop.js';
import { stage } from '../util/stage-trace.js';

export type { Cancel, Clock, DurableLog, RaftNodeHandlers, RaftNodeOptions, RaftNodePorts, Transport } from './raft-ports.js';

export class RaftNode {
  private cancelTicks: Cancel | undefined;
  /** Until then (clock ms), vote requests are dropped (RaftNodeOptions.holdVotesMs). */
  private holdVotesUntil: number | undefined;
  /** Where messages leave: commit notices held back briefly, snapshots filled in (raft-outbox.ts). */
  private readonly out: RaftOutbox;
  private readonly inlineWrites = new InlineWritePolicy();
  private readonly ready: ReadyLoop;

  constructor(
    readonly raw: RawNode,
    storage: MemoryStorage,
    private readonly ports: RaftNodePorts,
    handlers: RaftNodeHandlers,
    private readonly tickMs: number,
    private readonly logger: Logger,
    opts: RaftNodeOptions = {},
  ) {
    if (opts.holdVotesMs !== undefined && opts.holdVotesMs > 0) this.holdVotesUntil = ports.clock.now() + opts.holdVotesMs;
    this.out = new RaftOutbox(ports.transport, ports.clock, {
      prepare: (m) => handlers.prepareSnapshot(m),
      failed: (to, err) => {
        this.logger.warn({ err: err.message, to: to.toString(16) }, 'failed to prepare a snapshot for a follower');
        this.reportSnapshot(to, false);
      },
    });
    this.ready = new ReadyLoop(raw, storage, ports, handlers, this.out, this.inlineWrites, logger);
  }

  start(): void {
    this.cancelTicks = this.ports.clock.every(this.tickMs, () => {
      this.raw.tick();
      this.kick();
    });
    this.kick();
  }

  /** Fast-forwards `n` election/heartbeat ticks at once (etcd raftNode.advanceTicks). */
  advanceTicks(n: number): void {
    if (this.ready.stopped) return;
    for (let i = 0; i < n; i++) this.raw.tick();
    this.kick();
  }

  /** The leader as of the last Ready handled. */
  get leader(): bigint {
    return this.ready.softState.lead;
  }

  get isLeader(): boolean {
    return this.ready.isLeader;
  }

  /** The term of the last hard state handled (termNow: the core's). */
  get currentTerm(): number {
    return this.ready.term;
  }

  /** The commit index of the last hard state handled (committedNow: the core's). */
  get committedIndex(): number {
    return this.ready.commitIndex;
  }

  propose(data: Uint8Array): void {
    this.raw.propose(data);
    this.kick();
  }

  proposeConfChange(cc: ConfChange): void {
    this.raw.proposeConfChange(cc);
    this.kick();
  }

  readIndex(ctx: Uint8Array): void {
    this.raw.readIndex(ctx);
    this.inlineWrites.otherWork();
    this.kick();
  }

  step(m: Message): void {
    if (this.holdVotesUntil !== undefined && (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote)) {
      if (this.ports.clock.now() < this.holdVotesUntil) {
        // Ignored, as the core ignores a candidate while it hears from a live leader.
        if (!isTransferCampaign(m)) return;
      } else {
        this.holdVotesUntil = undefined;
      }
    }
    const committedBefore = this.raw.committed;
    this.raw.step(m);
    if (this.ready.leaderWriting && this.raw.committed > committedBefore) this.announceCommit();
    // A follower's linearizable read: the leader has other clients (inline-writes.ts).
    if (m.type === MessageType.MsgReadIndex) this.inlineWrites.otherWork();
    // A follower's forwarded proposals: it answers its clients once it applies
    // them, so the notice that commits them is not held back (commit-notices.ts).
    const r = this.raw.raft;
    if (m.type === MessageType.MsgProp && m.from !== r.id && r.state === StateType.Leader) {
      const last = r.raftLog.lastIndex();
      this.out.awaitCommit(m.from, last);
      // ...and unless this leader's word that its copy is on disk lets that
      // follower commit them, its entries go through the pool: inline-writes.ts.
      if (!persistedHintAllowed(r, m.from)) this.inlineWrites.forwarded(last);
    }
    this.kick();
  }

  /**
   * The commit moved while this leader's own write is in flight: acknowledgements
   * of entries already on its disk, or of the entries being written from enough
   * followers to make a majority without the leader's copy (with three members,
   * both followers: the leader counts its copy only once it is on disk). The
   * appends that tell the followers (Raft broadcasts them on every commit advance)
   * go now instead of after the write, so a follower answering a client whose
   * proposal it forwarded, and its watchers, learn the commit without waiting for
   * the leader's fsync. The leader itself applies in the next Ready, as before;
   * only its appends move (RawNode.takeLeaderAppends).
   */
  private announceCommit(): void {
    const appends = this.raw.takeLeaderAppends();
    if (appends.length === 0) return;
    stage('early-com');
    this.out.send(joinAppends(appends, this.raw.maxMsgSize));
  }

  /** Whether this member is the leader, in `term`, with no leadership transfer under way. */
  leadsUndisturbed(term: number): boolean {
    const r = this.raw.raft;
    return r.state === StateType.Leader && r.term === term && !this.raw.transferring;
  }

  /**
   * The commit index the core knows now (a leader's is ahead of the last
   * Ready's while it is written), or, on a leader, the highest index it told a
   * follower is on its disk if that is higher: the follower may have committed
   * it and answered its client already (raft/persisted-hint.ts).
   */
  get committedNow(): number {
    return readFloor(this.raw.raft);
  }

  /** The core's current term. */
  get termNow(): number {
    return this.raw.raft.term;
  }

  /**
   * Sends the commit notices held back (commit-notices.ts) now: for a change the
   * followers should apply without waiting for the next append or the delay.
   */
  flushCommitNotices(): void {
    this.out.flushNotices();
  }

  /** The transport dropped messages to `id`: Raft slows down probing it. */
  reportUnreachable(id: bigint): void {
    this.raw.reportUnreachable(id);
    this.kick();
  }

  reportSnapshot(id: bigint, ok: boolean): void {
    this.raw.reportSnapshot(id, ok);
    this.kick();
  }

  transferLeadership(to: bigint): void {
    this.raw.transferLeadership(to);
    this.kick();
  }

  campaign(): void {
    this.raw.campaign();
    this.kick();
  }

  /** The core may have a Ready: the loop handles it in a microtask (ReadyLoop.kick). */
  kick(): void {
    this.ready.kick();
  }

  /**
   * No more ticks, no more Readies; resolves once the Ready in progress (if any)
   * is done: its write finished, its messages sent, its entries handed over.
   */
  async stop(): Promise<void> {
    const readiesDone = this.ready.stop();
    this.cancelTicks?.();
    this.cancelTicks = undefined;
    await readiesDone;
    // After the last Ready: a commit notice it held would otherwise go out once
    // its timer fired, from a member that has stopped.
    this.out.discard();
  }

  /** After stop(): flush and close the log. */
  async closeStorage(): Promise<void> {
    await this.ready.closeLog();
  }
}
