// The ports of the Raft driver (raft-node.ts): its clock, its log storage and its
// transport, and the handlers it calls back (the server's applier, snapshot
// installer, ...). Production plugs in real timers, the WAL + snapshot files and the
// peer transport; the deterministic simulation (test/sim/) plugs in a manual clock,
// an in-memory log and an in-memory network, and runs the very same driver.

import type { Entry, HardState, Message, ReadState, Snapshot, SoftState } from '../raft/types.js';
import type { Snapshotter, WAL } from '../wal/index.js';

/** Stops a timer started by Clock.every or Clock.after. Calling it twice is harmless. */
export type Cancel = () => void;

/** Time as the driver sees it: the tick timer and a clock to measure durations. */
export interface Clock {
  /** Calls `fn` every `ms` milliseconds until cancelled. */
  every(ms: number, fn: () => void): Cancel;
  /** Calls `fn` once, `ms` milliseconds from now, unless cancelled first. */
  after(ms: number, fn: () => void): Cancel;
  /** Monotonic milliseconds (only differences mean anything). */
  now(): number;
}

/**
 * The member's durable Raft state, as the driver writes it. Every method resolves
 * only once what it wrote is on disk (fsync), and writes become durable in the
 * order they were made.
 */
export interface DurableLog {
  /**
   * Appends `entries` (an entry at an index already written replaces it and
   * everything after it), then `hardState` unless undefined.
   */
  save(hardState: HardState | undefined, entries: Entry[]): Promise<void>;
  /**
   * Makes `snapshot` the base of the log: the snapshot itself first, then the
   * log's record of it, so whatever the log names is backed by what is on disk.
   */
  saveSnapshot(snapshot: Snapshot): Promise<void>;
  /** Waits for pending writes, then closes; later writes fail. */
  close(): Promise<void>;
  /**
   * Writes as save() does, but on the calling thread, durable when it returns
   * true, if the log can do that now (WAL.saveNow: nothing of its own in
   * flight, a small write, its last write took under `maxLastWriteMs`, or the
   * log's own bound when undefined); otherwise writes nothing and returns false.
   * Throws what save() would reject with. Optional: a log without it is only
   * ever written through save().
   */
  saveNow?(hardState: HardState | undefined, entries: Entry[], maxLastWriteMs: number | undefined): boolean;
  /** Whether saveNow would write `entries` now (with the same bound); present with saveNow. */
  canSaveNow?(entries: readonly Entry[], maxLastWriteMs: number | undefined): boolean;
}

/** Outgoing Raft messages. What comes back (messages, unreachable peers, snapshot status) goes to RaftNode's methods. */
export interface Transport {
  send(messages: Message[]): void;
  /**
   * Sends `messages` once the work already queued on this thread is done (a
   * client's answer written first); optional, `send` is used when absent.
   */
  sendSoon?(messages: Message[]): void;
  /**
   * Writes what send() has queued to the sockets now, instead of from the
   * microtask that would (a follower's acknowledgement ahead of the entries it
   * applies next); optional, the microtask writes it when absent.
   */
  writeQueued?(): void;
}

/** Real timers; `now` is performance.now(). */
export const systemClock: Clock = {
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
  now: () => performance.now(),
};

/** The production DurableLog: the WAL, plus snapshot files written by the Snapshotter. */
export function walLog(wal: WAL, snapshotter: Snapshotter): DurableLog {
  return {
    save: (hardState, entries) => wal.save(hardState, entries),
    saveSnapshot: async (snapshot) => {
      await snapshotter.save(snapshot);
      await wal.saveSnapshot({ index: snapshot.metadata.index, term: snapshot.metadata.term });
    },
    close: () => wal.close(),
    saveNow: (hardState, entries, maxLastWriteMs) => wal.saveNow(hardState, entries, maxLastWriteMs),
    canSaveNow: (entries, maxLastWriteMs) => wal.canSaveNow(entries, maxLastWriteMs),
  };
}

/** What the driver reaches the outside world through. */
export interface RaftNodePorts {
  clock: Clock;
  log: DurableLog;
  transport: Transport;
}

export interface RaftNodeHandlers {
  /** Committed entries, in log order; called once per Ready, never concurrently with itself. */
  onCommitted(entries: Entry[]): void;
  /**
   * A snapshot from the leader is about to be installed: bring the application
   * state to it first. It runs before anything of the snapshot is persisted, so a
   * failure leaves the member's disk state as it was.
   */
  installSnapshot(snapshot: Snapshot): Promise<Snapshot>;
  /** An outgoing MsgSnap gets the application state it must carry (the driver sends the result). */
  prepareSnapshot(m: Message): Promise<Message>;
  onReadStates(states: ReadState[]): void;
  onSoftState(state: SoftState): void;
  /** Seconds one WAL write + fsync took (a Ready's worth of entries). */
  onWalSync(seconds: number): void;
  onFatal(err: Error): void;
}

export interface RaftNodeOptions {
  /**
   * Vote requests (other than a leadership transfer's) are dropped for this long
   * after start. For a member restarted from its data: before the crash it may
   * have acknowledged a leader's heartbeat, promising (check-quorum's stickiness)
   * to vote for no one else for an election timeout, and a leader lease counts on
   * that promise (leader-lease.ts). A restart forgets who the leader was, so
   * without the hold it could vote at once.
   */
  holdVotesMs?: number;
}
