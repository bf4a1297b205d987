// Real RaftNode drivers (src/server/raft-node.ts) over the in-memory ports of
// ports.ts, all in one process: one ManualClock, one MemNetwork, one MemDurableLog
// per member. The applier is a stand-in that records what it was handed. Nothing
// here reads real time, so a run is a function of its inputs and seeds.

import pino from 'pino';
import {
  type Entry,
  type Message,
  type NodeId,
  type ReadState,
  type SoftState,
  EntryType,
  MemoryStorage,
  RawNode,
  StateType,
  decodeConfChange,
  seededRandom,
} from '../../src/raft/index.js';
import { RaftNode } from '../../src/server/raft-node.js';
import { ManualClock, MemDurableLog, MemNetwork } from './ports.js';

const silent = pino({ level: 'silent' });

export interface DriverClusterOptions {
  /** Milliseconds per tick (the driver's tick timer period). */
  tickMs?: number;
  electionTick?: number;
  heartbeatTick?: number;
  checkQuorum?: boolean;
  preVote?: boolean;
  /** Seeds each member's election randomness (with its id). */
  seed?: number;
  /** RaftNodeOptions.holdVotesMs for every member (0: none). */
  holdVotesMs?: number;
}

export class DriverMember {
  readonly storage = new MemoryStorage();
  readonly log = new MemDurableLog();
  readonly raw: RawNode;
  readonly node: RaftNode;
  /** Every entry handed to onCommitted, in order. */
  readonly committed: Entry[] = [];
  readonly readStates: ReadState[] = [];
  readonly softStates: SoftState[] = [];
  fatal: Error | undefined;
  /** Called on every onCommitted, before the entries are recorded (invariant checks). */
  onCommitted?: (member: DriverMember, entries: Entry[]) => void;

  constructor(
    readonly id: NodeId,
    peers: NodeId[],
    clock: ManualClock,
    net: MemNetwork,
    opts: Required<DriverClusterOptions>,
  ) {
    this.raw = new RawNode({
      id,
      electionTick: opts.electionTick,
      heartbeatTick: opts.heartbeatTick,
      storage: this.storage,
      checkQuorum: opts.checkQuorum,
      preVote: opts.preVote,
      random: seededRandom(opts.seed ^ Number(id)),
    });
    this.raw.bootstrap(peers.map((p) => ({ id: p, context: new Uint8Array() })));
    this.node = new RaftNode(
      this.raw,
      this.storage,
      { clock, log: this.log, transport: net.transport(id) },
      {
        onCommitted: (entries) => {
          this.onCommitted?.(this, entries);
          for (const e of entries) {
            if (e.type === EntryType.ConfChange) this.raw.applyConfChange(decodeConfChange(e.data));
            this.committed.push(e);
          }
        },
        installSnapshot: async (snap) => snap,
        prepareSnapshot: async (m: Message) => m,
        onReadStates: (states) => this.readStates.push(...states),
        onSoftState: (s) => this.softStates.push({ ...s }),
        onWalSync: () => {},
        onFatal: (err) => (this.fatal = err),
      },
      opts.tickMs,
      silent,
      { holdVotesMs: opts.holdVotesMs },
    );
    net.attach(id, this.node);
  }

  /** Data of the normal (non-empty) entries handed to the applier, decoded as text. */
  get appliedData(): string[] {
    const dec = new TextDecoder();
    return this.committed.filter((e) => e.type === EntryType.Normal && e.data.length > 0).map((e) => dec.decode(e.data));
  }
}

export class DriverCluster {
  readonly clock = new ManualClock();
  readonly net = new MemNetwork();
  readonly members: DriverMember[];
  readonly opts: Required<DriverClusterOptions>;

  constructor(ids: NodeId[], opts: DriverClusterOptions = {}) {
    this.opts = {
      tickMs: 100,
      electionTick: 10,
      heartbeatTick: 1,
      checkQuorum: true,
      preVote: true,
      seed: 1,
      holdVotesMs: 0,
      ...opts,
    };
    this.members = ids.map((id) => new DriverMember(id, ids, this.clock, this.net, this.opts));
  }

  member(id: NodeId): DriverMember {
    const m = this.members.find((x) => x.id === id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }

  start(): void {
    for (const m of this.members) m.node.start();
  }

  /**
   * Runs everything that is ready without time passing: drains microtasks (Ready
   * loops, resolved saves) and delivers messages, until no message is in flight.
   * Saves held open stay open.
   */
  async settle(maxRounds = 10_000): Promise<void> {
    for (let i = 0; i < maxRounds; i++) {
      // A macrotask runs only once every queued microtask (and those they queue) ran.
      await new Promise<void>((r) => setImmediate(r));
      if (this.net.pending === 0) return;
      this.net.deliver();
    }
    throw new Error(`cluster did not settle in ${maxRounds} rounds`);
  }

  /** Advances the clock `n` ticks, settling after each. */
  async tick(n = 1): Promise<void> {
    for (let i = 0; i < n; i++) {
      this.clock.advance(this.opts.tickMs);
      await this.settle();
    }
  }

  leaders(): DriverMember[] {
    return this.members.filter((m) => m.raw.status().softState.raftState === StateType.Leader);
  }

  /** Ticks until exactly one leader is known to every member; returns it. */
  async electLeader(maxTicks = 200): Promise<DriverMember> {
    for (let i = 0; i < maxTicks; i++) {
      await this.tick();
      const [leader, ...more] = this.leaders();
      if (leader && more.length === 0 && this.members.every((m) => m.node.leader === leader.id)) return leader;
    }
    throw new Error(`no leader after ${maxTicks} ticks`);
  }

  async stop(): Promise<void> {
    for (const m of this.members) await m.node.stop();
  }
}
