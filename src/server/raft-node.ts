// The driver around the pure Raft core: it owns time (ticks), the disk (WAL and
// snapshot files) and the network (a Transport), and runs the Ready loop:
// persist → send → hand committed entries to the applier → advance.
//
// All three come in as ports (raft-ports.ts): real timers, the WAL and the peer
// transport in production; a manual clock, an in-memory log and an in-memory
// network in the deterministic simulation (test/sim/), which runs this same class.
// The loop itself is scheduled as a microtask (runSoon), not through the Clock: a
// microtask involves no time and runs in a deterministic order, so a simulation
// needs no control over it (it drains it, e.g. by awaiting setImmediate).
//
// Batching falls out of the loop's shape: while one Ready is being fsync'ed,
// proposals keep arriving and pile up in the core, and the next Ready carries
// them all in one WAL write, one fsync and one append message per follower.

import type { Logger } from 'pino';
import { isTransferCampaign, persistedHintAllowed, readFloor, type MemoryStorage, type RawNode } from '../raft/index.js';
import type { ConfChange, Entry, HardState, Message, Ready, SoftState } from '../raft/types.js';
import { MessageType, StateType } from '../raft/types.js';
import type { Cancel, RaftNodeHandlers, RaftNodeOptions, RaftNodePorts } from './raft-ports.js';
import { joinAppends } from './join-appends.js';
import { committedAfter, committedOnDisk, NO_ENTRIES } from './ready-commits.js';
import { goesBeforeSave, onlyAcknowledgements, splitBeforeSave } from './send-before-save.js';
import { InlineWritePolicy } from './inline-writes.js';
import { RaftOutbox } from './raft-outbox.js';
import { runSoon } from '../util/microtask.js';
import { stage } from '../util/stage-trace.js';
import { FAILPOINTS_ON, failpointAsync } from '../util/failpoints.js';

export type { Cancel, Clock, DurableLog, RaftNodeHandlers, RaftNodeOptions, RaftNodePorts, Transport } from './raft-ports.js';

export class RaftNode {
  private cancelTicks: Cancel | undefined;
  /** Until then (clock ms), vote requests are dropped (RaftNodeOptions.holdVotesMs). */
  private holdVotesUntil: number | undefined;
  private running = false;
  /** The Ready loop in progress (it never rejects: failures go to onFatal). */
  private looping: Promise<void> = Promise.resolve();
  private scheduled = false;
  /** A leader's Ready is waiting for its own write (see announceCommit). */
  private leaderWriting = false;
  private stopped = false;
  private softState: SoftState;
  private term = 0;
  private commitIndex = 0;
  /** Latest hard state not yet written (commit-index-only changes wait for the next write). */
  private unsavedHardState: HardState | undefined;
  /** Last log index written to the WAL (entries up to here may be applied before the next write). */
  private persistedIndex: number;
  /** Where messages leave: commit notices held back briefly, snapshots filled in (raft-outbox.ts). */
  private readonly out: RaftOutbox;
  private readonly inlineWrites = new InlineWritePolicy();
  /** This Ready's write may be made on this thread (the policy's decision in outgoing)... */
  private writeInline = false;
  /** ...while the last write took under this many ms (undefined: the log's own bound). */
  private inlineBound: number | undefined;

  constructor(
    readonly raw: RawNode,
    private readonly storage: MemoryStorage,
    private readonly ports: RaftNodePorts,
    private readonly handlers: RaftNodeHandlers,
    private readonly tickMs: number,
    private readonly logger: Logger,
    opts: RaftNodeOptions = {},
  ) {
    if (opts.holdVotesMs !== undefined && opts.holdVotesMs > 0) this.holdVotesUntil = ports.clock.now() + opts.holdVotesMs;
    const st = raw.status();
    this.softState = { ...st.softState };
    this.term = st.hardState.term;
    this.commitIndex = st.hardState.commit;
    this.persistedIndex = storage.lastIndex();
    this.out = new RaftOutbox(ports.transport, ports.clock, {
      prepare: (m) => handlers.prepareSnapshot(m),
      failed: (to, err) => {
        this.logger.warn({ err: err.message, to: to.toString(16) }, 'failed to prepare a snapshot for a follower');
        this.reportSnapshot(to, false);
      },
    });
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
    if (this.stopped) return;
    for (let i = 0; i < n; i++) this.raw.tick();
    this.kick();
  }

  get leader(): bigint {
    return this.softState.lead;
  }

  get isLeader(): boolean {
    return this.softState.raftState === StateType.Leader;
  }

  get currentTerm(): number {
    return this.term;
  }

  get committedIndex(): number {
    return this.commitIndex;
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
    if (this.leaderWriting && this.raw.committed > committedBefore) this.announceCommit();
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

  /**
   * Schedules the Ready loop as a microtask: it runs as soon as the current
   * callback returns (everything stepped or proposed in that callback goes into one
   * Ready), not after a further turn of the event loop. That turn cost a put about
   * 0.2 ms on each hop (leader → follower → leader). Batching under load does not
   * depend on it: while a Ready's WAL write is in flight, proposals pile up in the
   * core and the next Ready takes them all.
   */
  kick(): void {
    if (this.running || this.scheduled || this.stopped) return;
    this.scheduled = true;
    runSoon(this.startLoop);
  }

  /**
   * kick's microtask, made once. A Ready that waits for nothing (a follower's
   * forwarded proposal, its commit notice, its append when the write can be made
   * on this thread; see earlyIfAtOnce) is handled right here; the first one that
   * must wait starts the async loop, which then goes on to the Readies after
   * it. An async call costs a frame for every local of the loop (~0.5 KB a
   * Ready) even when it never awaits.
   */
  private readonly startLoop = (): void => {
    this.scheduled = false;
    if (this.running || this.stopped) return;
    this.running = true;
    let rd: Ready | undefined;
    try {
      while (!this.stopped && this.raw.hasReady()) {
        rd = this.raw.ready();
        const early = this.earlyIfAtOnce(rd);
        if (early === undefined) break;
        this.handleAtOnce(rd, early);
        rd = undefined;
      }
    } catch (err) {
      this.fail(err);
      rd = undefined;
    }
    this.running = false;
    if (rd !== undefined) this.looping = this.loop(rd);
  };

  /**
   * For a Ready whose handling reaches no await of the loop, the committed
   * entries it applies early (committedOnDisk); undefined for any other. It
   * must change no role, carry no snapshot, write nothing unless it is a
   * follower's write the log can make on this thread now (a follower always
   * writes inline: inline-writes.ts), send nothing before a write or before
   * early entries (those messages leave in a microtask, and would wait behind
   * the write or the apply); and failpoints must be off.
   */
  private earlyIfAtOnce(rd: Ready): Entry[] | undefined {
    if (FAILPOINTS_ON || rd.softState) return undefined;
    if (rd.snapshot && rd.snapshot.metadata.index > 0) return undefined;
    const leader = this.isLeader;
    const writes = rd.entries.length > 0 || rd.mustSync;
    if (writes && (leader || this.ports.log.canSaveNow?.(rd.entries, this.inlineWrites.maxLastWriteMs(false)) !== true)) return undefined;
    const early = committedOnDisk(rd, this.persistedIndex);
    if (writes || early.length > 0) {
      for (const m of rd.messages) if (goesBeforeSave(m, leader)) return undefined;
    }
    return early;
  }

  /** The loop's body for a Ready earlyIfAtOnce accepts (`early`: what it gave), step for step. */
  private handleAtOnce(rd: Ready, early: Entry[]): void {
    if (rd.entries.length > 0) stage('ready-ent');
    if (rd.committedEntries.length > 0) stage('ready-com');
    const leader = this.isLeader;
    const later = this.sendBeforeSave(this.outgoing(rd, leader), leader);
    if (rd.hardState) this.unsavedHardState = rd.hardState;
    let unapplied = NO_ENTRIES;
    if (rd.entries.length > 0 || rd.mustSync) {
      stage('save');
      // earlyIfAtOnce asked the log, and nothing since could have changed its answer.
      if (!this.saveAtOnce(rd)) throw new Error('raft: the log refused a write it had said it could make now');
      unapplied = early;
    } else if (early.length > 0) {
      this.handlers.onCommitted(early);
    }
    this.afterWrite(rd);
    this.sendAndAdvance(rd, leader, early, committedAfter(rd, early), later, unapplied);
  }

  private async loop(first: Ready): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      for (let rd: Ready | undefined = first; rd !== undefined; rd = !this.stopped && this.raw.hasReady() ? this.raw.ready() : undefined) {
        if (rd.entries.length > 0) stage('ready-ent');
        if (rd.committedEntries.length > 0) stage('ready-com');
        if (rd.softState) {
          const changed =
            rd.softState.lead !== this.softState.lead || rd.softState.raftState !== this.softState.raftState;
          this.softState = { ...rd.softState };
          if (changed) this.handlers.onSoftState(this.softState);
        }
        if (rd.snapshot && rd.snapshot.metadata.index > 0) {
          // Application state first, then the snapshot file, then the WAL marker: after a
          // crash at any point, whatever the WAL names is backed by what is on disk.
          // What is kept is the member's own form of it (membership only, no store image).
          if (FAILPOINTS_ON) await failpointAsync('applyBeforeOpenSnapshot');
          const local = await this.handlers.installSnapshot(rd.snapshot);
          if (FAILPOINTS_ON) await failpointAsync('raftBeforeSaveSnap');
          await this.ports.log.saveSnapshot(local);
          if (FAILPOINTS_ON) await failpointAsync('raftAfterSaveSnap');
          if (FAILPOINTS_ON) await failpointAsync('raftBeforeApplySnap');
          this.storage.applySnapshot(local);
          if (FAILPOINTS_ON) await failpointAsync('raftAfterApplySnap');
          this.persistedIndex = rd.snapshot.metadata.index;
        }
        // Committed entries already on disk are applied while this Ready's entries are
        // written (as etcd does): a write then waits for one fsync, not two (ready-commits.ts).
        const early = committedOnDisk(rd, this.persistedIndex);
        const committed = committedAfter(rd, early);
        const leader = this.isLeader;
        let messages = this.outgoing(rd, leader);
        if (FAILPOINTS_ON && messages.length > 0 && leader) await failpointAsync('raftBeforeLeaderSend');
        const later = this.sendBeforeSave(messages, leader);
        const sentEarly = later !== messages;
        messages = later;
        if (rd.hardState) this.unsavedHardState = rd.hardState;
        let unapplied = NO_ENTRIES;
        if (rd.entries.length > 0 || rd.mustSync) {
          // A hard state whose only change is the commit index need not be on disk
          // (a restarted member learns the commit again); it rides along with the next
          // write instead of costing a write of its own.
          if (FAILPOINTS_ON) await failpointAsync('raftBeforeSave');
          stage('save');
          // A write on this thread lets what was sent before it (a leader's appends)
          // leave first: the streams write their sockets in a microtask.
          if (sentEarly && this.writeInline) await Promise.resolve();
          if (this.saveAtOnce(rd)) {
            unapplied = early;
          } else {
            const t0 = this.ports.clock.now();
            const saved = this.ports.log.save(this.unsavedHardState, rd.entries);
            this.leaderWriting = leader;
            if (early.length > 0) {
              // The early entries are applied only once the sends and this write are under
              // way (both start from microtasks queued above): applying runs synchronously
              // up to the first store promise, and a batch of it ahead of them would hold
              // back the followers' appends and this member's own fsync.
              await Promise.resolve();
              this.handlers.onCommitted(early);
            }
            await saved;
            this.leaderWriting = false;
            this.savedSince(t0);
          }
          if (FAILPOINTS_ON) await failpointAsync('raftAfterSave');
        } else if (early.length > 0) {
          // What this Ready sent (a leader's notice of the commit to a follower whose
          // client waits for it) leaves first: the streams write their sockets in a
          // microtask, and applying runs synchronously up to its first store promise.
          if (sentEarly) await Promise.resolve();
          this.handlers.onCommitted(early);
        }
        this.afterWrite(rd);
        if (FAILPOINTS_ON && messages.length > 0 && !this.isLeader) await failpointAsync('raftBeforeFollowerSend');
        this.sendAndAdvance(rd, leader, early, committed, messages, unapplied);
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.running = false;
      this.leaderWriting = false;
    }
    if (!this.stopped && this.raw.hasReady()) this.kick();
  }

  /**
   * This Ready's write made on this thread, if the policy said so for it and
   * the log can now (DurableLog.saveNow). False: nothing was written. Its early
   * entries are then the caller's to apply, once the messages that waited for
   * the write are on their way (sendAndAdvance).
   */
  private saveAtOnce(rd: Ready): boolean {
    const log = this.ports.log;
    if (!this.writeInline || log.saveNow === undefined) return false;
    const t0 = this.ports.clock.now();
    if (!log.saveNow(this.unsavedHardState, rd.entries, this.inlineBound)) return false;
    this.savedSince(t0);
    return true;
  }

  /** This Ready's write, started at clock time `t0`, is on disk. */
  private savedSince(t0: number): void {
    stage('saved');
    this.unsavedHardState = undefined;
    this.handlers.onWalSync((this.ports.clock.now() - t0) / 1000);
  }

  /** A failed fsync or a broken WAL leaves no safe way forward: stop rather than lose writes. */
  private fail(err: unknown): void {
    this.logger.fatal({ err }, 'raft loop failed');
    this.stopped = true;
    this.handlers.onFatal(err as Error);
  }

  /** This Ready's messages, a leader's appends to one follower joined; and whether its write may go inline. */
  private outgoing(rd: Ready, leader: boolean): Message[] {
    // Small appends are written on this thread by a follower, and by a leader
    // serving one request at a time (inline-writes.ts).
    this.writeInline = this.inlineWrites.decide(leader, rd.entries, this.raw.committed);
    this.inlineBound = this.inlineWrites.maxLastWriteMs(leader);
    return leader ? joinAppends(rd.messages, this.raw.maxMsgSize) : rd.messages;
  }

  /**
   * Sends what may leave before this Ready's write (a leader's appends:
   * send-before-save.ts) and returns the rest: `messages` itself when nothing went.
   */
  private sendBeforeSave(messages: Message[], leader: boolean): Message[] {
    if (messages.length === 0) return messages;
    const { now, later } = splitBeforeSave(messages, leader);
    if (now.length > 0) this.out.send(now);
    return later;
  }

  /** Once this Ready's write is done: what it wrote becomes the log's, its hard state the node's. */
  private afterWrite(rd: Ready): void {
    if (rd.entries.length > 0) this.persistedIndex = rd.entries[rd.entries.length - 1]!.index;
    if (rd.hardState) {
      this.storage.setHardState(rd.hardState);
      this.term = rd.hardState.term;
      this.commitIndex = rd.hardState.commit;
    }
    if (rd.entries.length > 0) this.storage.append(rd.entries);
  }

  /**
   * The rest of a Ready: messages that waited for the write, the early entries
   * a write on this thread left `unapplied`, read states, entries committed past
   * the write; then advance.
   */
  private sendAndAdvance(rd: Ready, leader: boolean, early: Entry[], committed: Entry[], messages: Message[], unapplied: Entry[]): void {
    if (messages.length > 0) {
      // A follower that applied entries in a Ready that appended none (a commit
      // learnt from a heartbeat or a notice it must answer) answers its waiting
      // clients before its acknowledgements go: nobody waits for those.
      if (!leader && early.length > 0 && rd.entries.length === 0 && onlyAcknowledgements(messages)) this.out.sendSoon(messages);
      else {
        this.out.send(messages);
        // A follower's acknowledgement of what it just wrote is written to the
        // socket before it applies what is committed, not after (the streams
        // would write it from a microtask, behind the apply's synchronous part):
        // the leader's commit, and every client waiting on it, waits for the
        // acknowledgement, and the apply (~35 µs an entry at one client) only
        // for this member's own clients. etcd's follower, too, hands committed
        // entries to another goroutine and sends its messages at once.
        if (!leader && (unapplied.length > 0 || committed.length > 0)) this.out.writeQueued();
      }
    }
    if (unapplied.length > 0) this.handlers.onCommitted(unapplied);
    if (rd.readStates.length > 0) this.handlers.onReadStates(rd.readStates);
    if (committed.length > 0) this.handlers.onCommitted(committed);
    this.raw.advance(rd);
    stage('advanced');
  }

  /**
   * No more ticks, no more Readies; resolves once the Ready in progress (if any)
   * is done: its write finished, its messages sent, its entries handed over.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTicks?.();
    this.cancelTicks = undefined;
    while (this.running) await this.looping;
    // After the last Ready: a commit notice it held would otherwise go out once
    // its timer fired, from a member that has stopped.
    this.out.discard();
  }

  /** After stop(): flush and close the log. */
  async closeStorage(): Promise<void> {
    if (this.unsavedHardState) await this.ports.log.save(this.unsavedHardState, []);
    await this.ports.log.close();
  }
}
