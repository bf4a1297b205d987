// A member's Raft log on a simulated disk: what the WAL and the snapshot files
// hold, with the loss rules of a real disk at a power cut. Writes complete (their
// fsync returns) one after another, each after a latency drawn from the run's
// PRNG. A crash keeps what was synced, plus any prefix of the writes still in
// flight (the OS may have written them out already), and may tear the next one
// (a prefix of its entries, nothing after them), as the WAL's torn-tail repair
// would find it.
//
// Why not the real WAL over a simulated file system: src/wal writes through
// node:fs directly (segments, preallocation, directory fsyncs), and a file port
// there was more than this change could take on safely. This disk keeps the
// WAL's record order (entries, then hard state; snapshot file, then its marker)
// and its replay rule (only entries after the newest snapshot named by a marker
// whose file exists), which is what recovery depends on.

import { MemoryStorage } from '../../src/raft/index.js';
import type { Entry, HardState, Snapshot } from '../../src/raft/types.js';
import type { DurableLog } from '../../src/server/raft-ports.js';

type Rec =
  | { kind: 'entries'; entries: Entry[] }
  | { kind: 'hardState'; hardState: HardState }
  | { kind: 'marker'; index: number; term: number }
  | { kind: 'snapFile'; snapshot: Snapshot };

interface Write {
  recs: Rec[];
  resolve: () => void;
}

export interface DiskFaults {
  minLatencyMs: number;
  maxLatencyMs: number;
  /** Probability that a crash tears the first write that did not survive whole. */
  tear: number;
}

/** What a restarted member reads back (bootstrap.ts's restart branch, over this disk). */
export interface Recovered {
  storage: MemoryStorage;
  snapshot: Snapshot | undefined;
  hardState: HardState;
}

export class SimRaftDisk {
  /** Records on disk, in the order written (the WAL, plus snapshot files). */
  private durable: Rec[] = [];
  private queue: Write[] = [];
  private busy = false;
  /** Writes from a crashed incarnation never complete. */
  private epoch = 0;
  readonly stats = { writes: 0, lostAtCrash: 0, torn: 0 };

  constructor(
    private readonly after: (ms: number, fn: () => void) => void,
    private readonly rng: () => number,
    readonly faults: DiskFaults,
  ) {}

  /** The DurableLog port of the current incarnation. */
  log(): DurableLog & {
    wal: { saveSnapshot(s: { index: number; term: number }): Promise<void>; releaseTo(index: number, max?: number): Promise<void> };
    snapshotter: { save(s: Snapshot): Promise<void>; purge(keep: number): Promise<void> };
  } {
    const epoch = this.epoch;
    const write = (recs: Rec[]): Promise<void> => this.write(epoch, recs);
    return {
      save: (hardState, entries) => {
        const recs: Rec[] = [];
        if (entries.length > 0) recs.push({ kind: 'entries', entries: entries.slice() });
        if (hardState) recs.push({ kind: 'hardState', hardState: { ...hardState } });
        return recs.length > 0 ? write(recs) : Promise.resolve();
      },
      saveSnapshot: async (snapshot) => {
        await write([{ kind: 'snapFile', snapshot }]);
        await write([{ kind: 'marker', index: snapshot.metadata.index, term: snapshot.metadata.term }]);
      },
      close: async () => {},
      wal: {
        saveSnapshot: (s) => write([{ kind: 'marker', index: s.index, term: s.term }]),
        // Replay starts at the newest marker anyway; old records are only space.
        releaseTo: async () => {},
      },
      snapshotter: {
        save: (snapshot) => write([{ kind: 'snapFile', snapshot }]),
        purge: async () => {},
      },
    };
  }

  /**
   * The member's process dies. 'power': keeps a random prefix of the writes in
   * flight, maybe a torn one, loses the rest. 'process' (kill -9): every write
   * was handed to the OS before its fsync began, so all of them survive.
   */
  crash(kind: 'power' | 'process'): void {
    this.epoch++;
    const pending = this.queue;
    this.queue = [];
    this.busy = false;
    const kept = kind === 'process' ? pending.length : Math.floor(this.rng() * (pending.length + 1));
    for (let i = 0; i < kept; i++) this.durable.push(...pending[i]!.recs);
    const next = pending[kept];
    if (next && this.rng() < this.faults.tear) {
      const first = next.recs[0];
      if (first?.kind === 'entries' && first.entries.length > 1) {
        this.durable.push({ kind: 'entries', entries: first.entries.slice(0, Math.floor(this.rng() * first.entries.length)) });
        this.stats.torn++;
      }
    }
    this.stats.lostAtCrash += pending.length - kept;
  }

  /** The newest snapshot named by a marker whose file is on disk, the last hard state, and the entries after the snapshot. */
  recover(): Recovered {
    const files = new Map<number, Snapshot>();
    for (const r of this.durable) if (r.kind === 'snapFile') files.set(r.snapshot.metadata.index, r.snapshot);
    let snapshot: Snapshot | undefined;
    for (const r of this.durable) {
      if (r.kind === 'marker' && files.has(r.index) && r.index >= (snapshot?.metadata.index ?? 0)) snapshot = files.get(r.index);
    }
    const base = snapshot?.metadata.index ?? 0;
    let hardState: HardState = { term: 0, vote: 0n, commit: 0 };
    let entries: Entry[] = [];
    for (const r of this.durable) {
      if (r.kind === 'hardState') hardState = { ...r.hardState };
      else if (r.kind === 'entries' && r.entries.length > 0) {
        const first = r.entries[0]!.index;
        entries = entries.filter((e) => e.index < first).concat(r.entries);
      }
    }
    entries = entries.filter((e) => e.index > base);
    // Entries must follow the snapshot without a gap (the WAL's replay refuses one).
    if (entries.length > 0 && entries[0]!.index !== base + 1) entries = [];
    const storage = new MemoryStorage();
    if (snapshot) storage.applySnapshot(snapshot);
    if (snapshot && hardState.commit < base) hardState.commit = base;
    storage.setHardState(hardState);
    storage.append(entries.map((e) => ({ ...e })));
    return { storage, snapshot, hardState };
  }

  /** Whether anything was ever written (a member that never started has nothing to recover). */
  get empty(): boolean {
    return this.durable.length === 0 && this.queue.length === 0;
  }

  private write(epoch: number, recs: Rec[]): Promise<void> {
    if (epoch !== this.epoch) return new Promise<void>(() => {}); // a dead incarnation: never completes
    this.stats.writes++;
    return new Promise<void>((resolve) => {
      this.queue.push({ recs, resolve });
      this.pump();
    });
  }

  private pump(): void {
    if (this.busy || this.queue.length === 0) return;
    this.busy = true;
    const epoch = this.epoch;
    const f = this.faults;
    this.after(f.minLatencyMs + this.rng() * (f.maxLatencyMs - f.minLatencyMs), () => {
      if (epoch !== this.epoch) return;
      const w = this.queue.shift()!;
      this.durable.push(...w.recs);
      this.busy = false;
      w.resolve();
      this.pump();
    });
  }
}
