// The Ready loop: what the driver does with each Ready the core hands out.
// Persist → send → hand committed entries to the applier → advance, with the
// orderings that matter for latency: a leader's appends leave before its own
// write, committed entries already on disk are applied while the write is in
// flight, a follower's acknowledgement leaves before its apply.
//
// It owns the loop's state (whether a loop runs or is scheduled, the hard state
// not yet written, how far the log is on disk, the current Ready's inline-write
// decision, and the node's view of the last Ready: its soft state, term and
// commit); raft-node.ts owns the node's API (proposals, steps, ticks, stop) and
// kicks this loop whenever the core may have a Ready.
//
// The loop is scheduled as a microtask (runSoon), not through the Clock: a
// microtask involves no time and runs in a deterministic order, so a simulation
// needs no control over it (it drains it, e.g. by awaiting setImmediate).
// Batching falls out of its shape: while one Ready is being fsync'ed,
// proposals keep arriving and pile up in the core, and the next Ready carries
// them all in one WAL write, one fsync and one append message per follower.

import type { Logger } from 'pino';
import type { MemoryStorage, RawNode } from '../raft/index.js';
import type { Entry, HardState, Message, Ready, SoftState } from '../raft/types.js';
import { StateType } from '../raft/types.js';
import type { RaftNodeHandlers, RaftNodePorts } from './raft-ports.js';
import { joinAppends } from './join-appends.js';
import { committedAfter, committedOnDisk, NO_ENTRIES } from './ready-commits.js';
import { goesBeforeSave, onlyAcknowledgements, splitBeforeSave } from './send-before-save.js';
import type { InlineWritePolicy } from './inline-writes.js';
import type { RaftOutbox } from './raft-outbox.js';
import { runSoon } from '../util/microtask.js';
import { stage } from '../util/stage-trace.js';
import { FAILPOINTS_ON, failpointAsync } from '../util/failpoints.js';

export class ReadyLoop {
  private running = false;
  /** The async loop in progress (it never rejects: failures go to onFatal). */
  private looping: Promise<void> = Promise.resolve();
  private scheduled = false;
  private halted = false;
  /** A leader's Ready is waiting for its own write (RaftNode.announceCommit). */
  private writing = false;
  private soft: SoftState;
  private lastTerm: number;
  private lastCommit: number;
  /** Latest hard state not yet written (commit-index-only changes wait for the next write). */
  private unsavedHardState: HardState | undefined;
  /** Last log index written to the WAL (entries up to here may be applied before the next write). */
  private persistedIndex: number;
  /** This Ready's write may be made on this thread (the policy's decision in outgoing)... */
  private writeInline = false;
  /** ...while the last write took under this many ms (undefined: the log's own bound). */
  private inlineBound: number | undefined;

  constructor(
    private readonly raw: RawNode,
    private readonly storage: MemoryStorage,
    private readonly ports: RaftNodePorts,
    private readonly handlers: RaftNodeHandlers,
    /** Where messages leave: commit notices held back briefly, snapshots filled in (raft-outbox.ts). */
    private readonly out: RaftOutbox,
    private readonly inlineWrites: InlineWritePolicy,
    private readonly logger: Logger,
  ) {
    const st = raw.status();
    this.soft = { ...st.softState };
    this.lastTerm = st.hardState.term;
    this.lastCommit = st.hardState.commit;
    this.persistedIndex = storage.lastIndex();
  }

  /** The soft state of the last Ready handled (who leads, in which role this member is). */
  get softState(): SoftState {
    return this.soft;
  }

  get isLeader(): boolean {
    return this.soft.raftState === StateType.Leader;
  }

  /** The term and commit index of the last hard state handled. */
  get term(): number {
    return this.lastTerm;
  }

  get commitIndex(): number {
    return this.lastCommit;
  }

  /** A leader's Ready is waiting for its own write (its commit can move meanwhile). */
  get leaderWriting(): boolean {
    return this.writing;
  }

  /** No more Readies: stopped, or failed. */
  get stopped(): boolean {
    return this.halted;
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
    if (this.running || this.scheduled || this.halted) return;
    this.scheduled = true;
    runSoon(this.startLoop);
  }

  /** No more Readies; resolves once the one in progress (if any) is done. */
  async stop(): Promise<void> {
    this.halted = true;
    while (this.running) await this.looping;
  }

  /** After stop(): writes the hard state still unwritten, then closes the log. */
  async closeLog(): Promise<void> {
    if (this.unsavedHardState) await this.ports.log.save(this.unsavedHardState, []);
    await this.ports.log.close();
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
    if (this.running || this.halted) return;
    this.running = true;
    let rd: Ready | undefined;
    try {
      while (!this.halted && this.raw.hasReady()) {
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
    if (this.running || this.halted) return;
    this.running = true;
    try {
      for (let rd: Ready | undefined = first; rd !== undefined; rd = !this.halted && this.raw.hasReady() ? this.raw.ready() : undefined) {
        if (rd.entries.length > 0) stage('ready-ent');
        if (rd.committedEntries.length > 0) stage('ready-com');
        if (rd.softState) {
          const changed = rd.softState.lead !== this.soft.lead || rd.softState.raftState !== this.soft.raftState;
          this.soft = { ...rd.softState };
          if (changed) this.handlers.onSoftState(this.soft);
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
            this.writing = leader;
            if (early.length > 0) {
              // The early entries are applied only once the sends and this write are under
              // way (both start from microtasks queued above): applying runs synchronously
              // up to the first store promise, and a batch of it ahead of them would hold
              // back the followers' appends and this member's own fsync.
              await Promise.resolve();
              this.handlers.onCommitted(early);
            }
            await saved;
            this.writing = false;
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
      this.writing = false;
    }
    if (!this.halted && this.raw.hasReady()) this.kick();
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
    this.halted = true;
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
      this.lastTerm = rd.hardState.term;
      this.lastCommit = rd.hardState.commit;
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
}
