// In-memory implementations of the Raft driver's ports (src/server/raft-ports.ts),
// for running real RaftNode instances in one process, deterministically: a manual
// clock, a log that records what was "fsynced" (and can hold writes open), and a
// network that delivers only when told to. No real timers, no I/O.

import { MemoryStorage } from '../../src/raft/index.js';
import { type Entry, type HardState, type Message, type NodeId, type Snapshot, MessageType } from '../../src/raft/types.js';
import type { Cancel, Clock, DurableLog, Transport } from '../../src/server/raft-ports.js';

/** Time moves only when advance() is called; timers fire in time order, ties in the order they were set. */
export class ManualClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly timers = new Map<number, { next: number; period: number; fn: () => void }>();

  every(ms: number, fn: () => void): Cancel {
    if (!(ms > 0)) throw new Error(`ManualClock.every: period must be > 0, got ${ms}`);
    return this.add(ms, ms, fn);
  }

  /** A one-shot timer (for the simulation's own use, e.g. message delays). */
  after(ms: number, fn: () => void): Cancel {
    return this.add(Math.max(0, ms), 0, fn);
  }

  now(): number {
    return this.t;
  }

  /** Timers not cancelled yet. */
  get timerCount(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, each
   * at its own time. Synchronous: microtasks the timers schedule run afterwards.
   */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let due: [number, { next: number; period: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].next <= end && (!due || entry[1].next < due[1].next)) due = entry;
      if (!due) break;
      const [id, timer] = due;
      this.t = timer.next;
      if (timer.period > 0) timer.next += timer.period;
      else this.timers.delete(id);
      timer.fn();
    }
    this.t = end;
  }

  private add(first: number, period: number, fn: () => void): Cancel {
    const id = ++this.seq;
    this.timers.set(id, { next: this.t + first, period, fn });
    return () => void this.timers.delete(id);
  }
}

/** One write made to a MemDurableLog. */
export type LogWrite =
  | { kind: 'save'; hardState: HardState | undefined; entries: Entry[]; inline: boolean }
  | { kind: 'snapshot'; snapshot: Snapshot };

/**
 * A DurableLog in memory. A write reaches the "disk" (hardState, snapshot, entries,
 * synced) at the moment its promise resolves, in the order writes were made. While
 * held (hold()), writes wait, as if their fsync were slow, until released.
 */
export class MemDurableLog implements DurableLog {
  hardState: HardState = { term: 0, vote: 0n, commit: 0 };
  snapshot: Snapshot | undefined;
  /** Durable entries after the snapshot, in index order. */
  entries: Entry[] = [];
  /** Every write that became durable, in order. */
  readonly synced: LogWrite[] = [];
  closed = false;
  /** The bound on the last write's duration the driver passed to saveNow last (undefined: the log's default). */
  inlineMaxLastMs: number | undefined;
  private held = false;
  private failure: Error | undefined;
  private readonly queue: { write: LogWrite; done: Promise<void>; resolve: () => void }[] = [];

  save(hardState: HardState | undefined, entries: Entry[]): Promise<void> {
    // Copy the containers now, as the WAL does: the caller may reuse them.
    return this.enqueue({ kind: 'save', hardState: hardState && { ...hardState }, entries: entries.slice(), inline: false });
  }

  /** As the WAL's: at once unless writes are held, waiting, failed or closed. */
  saveNow(hardState: HardState | undefined, entries: Entry[], maxLastWriteMs: number | undefined): boolean {
    if (!this.canSaveNow()) return false;
    this.inlineMaxLastMs = maxLastWriteMs;
    this.apply({ kind: 'save', hardState: hardState && { ...hardState }, entries: entries.slice(), inline: true });
    return true;
  }

  canSaveNow(): boolean {
    return !this.held && this.queue.length === 0 && this.failure === undefined && !this.closed;
  }

  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return this.enqueue({ kind: 'snapshot', snapshot });
  }

  async close(): Promise<void> {
    this.closed = true;
    // Like the WAL: writes already made still complete (once released).
    await Promise.all(this.queue.map((q) => q.done));
  }

  /** Later writes wait until release() or releaseOne(). */
  hold(): void {
    this.held = true;
  }

  /** Completes every waiting write, in order, and stops holding. */
  release(): void {
    this.held = false;
    while (this.queue.length > 0) this.releaseOne();
  }

  /** Completes the oldest waiting write (still holding the rest). */
  releaseOne(): boolean {
    const q = this.queue.shift();
    if (!q) return false;
    this.apply(q.write);
    q.resolve();
    return true;
  }

  /** The next write fails with `err` (a broken disk), as does every one after it. */
  fail(err: Error): void {
    this.failure = err;
  }

  /** Writes made but not yet durable. */
  get pending(): LogWrite[] {
    return this.queue.map((q) => q.write);
  }

  get lastIndex(): number {
    return this.entries.at(-1)?.index ?? this.snapshot?.metadata.index ?? 0;
  }

  /** The durable entry at `index`, if the disk has it. */
  entry(index: number): Entry | undefined {
    return this.entries.find((e) => e.index === index);
  }

  /** What a restarted member would read back (as bootstrap.ts rebuilds it from the WAL). */
  toStorage(): MemoryStorage {
    const storage = new MemoryStorage();
    if (this.snapshot) storage.applySnapshot(this.snapshot);
    const hs = { ...this.hardState };
    if (this.snapshot && hs.commit < this.snapshot.metadata.index) hs.commit = this.snapshot.metadata.index;
    storage.setHardState(hs);
    storage.append(this.entries.map((e) => ({ ...e })));
    return storage;
  }

  private enqueue(write: LogWrite): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('log is closed'));
    if (!this.held) {
      this.apply(write);
      return Promise.resolve();
    }
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    this.queue.push({ write, done, resolve });
    return done;
  }

  private apply(write: LogWrite): void {
    if (write.kind === 'snapshot') {
      const { index } = write.snapshot.metadata;
      this.snapshot = write.snapshot;
      this.entries = this.entries.filter((e) => e.index > index);
    } else {
      if (write.entries.length > 0) {
        const first = write.entries[0]!.index;
        this.entries = this.entries.filter((e) => e.index < first).concat(write.entries);
      }
      if (write.hardState) this.hardState = { ...write.hardState };
    }
    this.synced.push(write);
  }
}

/** What a network endpoint hands back to its driver (RaftNode has these methods). */
export interface Endpoint {
  step(m: Message): void;
  reportUnreachable(id: NodeId): void;
  reportSnapshot(id: NodeId, ok: boolean): void;
}

/**
 * An in-memory network. send() only queues; deliver() hands every queued message
 * to its destination, in the order sent. A message to a detached member, or one
 * `drop` rejects, is lost and reported unreachable to its sender (as the peer
 * transport does); a delivered snapshot is reported as sent.
 */
export class MemNetwork {
  /** Every message handed to a transport, in order (delivered or not). */
  readonly sent: Message[] = [];
  /** Messages for which this returns true are dropped (partitions, lossy links). */
  drop: (m: Message) => boolean = () => false;
  /** Sees every message as it is sent (invariant checks: what had to be durable by now?). */
  onSend: (m: Message) => void = () => {};
  /**
   * Whether sendSoon() waits for a macrotask (setImmediate, as the peer
   * transport's does) before sending; off, it sends at once, like send().
   */
  soonWaits = false;
  /**
   * Whether send() leaves its messages to a microtask, as the peer streams
   * write their sockets (writeQueued() writes them at once); off, send() sends
   * at once.
   */
  writesWait = false;
  private readonly endpoints = new Map<NodeId, Endpoint>();
  private inFlight: Message[] = [];
  /** sendSoon() calls waiting for their macrotask. */
  private soonPending = 0;

  attach(id: NodeId, endpoint: Endpoint): void {
    this.endpoints.set(id, endpoint);
  }

  detach(id: NodeId): void {
    this.endpoints.delete(id);
  }

  /** The Transport port of member `from`. */
  transport(from: NodeId): Transport {
    const send = (messages: Message[]): void => {
      for (const m of messages) {
        if (m.from !== from) throw new Error(`member ${from} sent a message from ${m.from}`);
        this.onSend(m);
        this.sent.push(m);
        this.inFlight.push(m);
      }
    };
    let unwritten: Message[] = [];
    const writeQueued = (): void => {
      const batch = unwritten;
      unwritten = [];
      if (batch.length > 0) send(batch);
    };
    return {
      send: (messages) => {
        if (!this.writesWait) return send(messages);
        if (unwritten.length === 0) queueMicrotask(writeQueued);
        unwritten.push(...messages);
      },
      writeQueued,
      sendSoon: (messages) => {
        if (!this.soonWaits) return send(messages);
        const copy = messages.slice();
        this.soonPending++;
        setImmediate(() => {
          this.soonPending--;
          send(copy);
        });
      },
    };
  }

  /** Messages in flight, and sendSoon() calls still to send theirs. */
  get pending(): number {
    return this.inFlight.length + this.soonPending;
  }

  /** Delivers what is in flight now (messages sent meanwhile wait for the next call); returns how many were. */
  deliver(): number {
    const batch = this.inFlight;
    this.inFlight = [];
    for (const m of batch) {
      const to = this.endpoints.get(m.to);
      const from = this.endpoints.get(m.from);
      if (!to || this.drop(m)) {
        from?.reportUnreachable(m.to);
        if (m.type === MessageType.MsgSnap) from?.reportSnapshot(m.to, false);
        continue;
      }
      to.step(m);
      if (m.type === MessageType.MsgSnap) from?.reportSnapshot(m.to, true);
    }
    return batch.length;
  }
}
