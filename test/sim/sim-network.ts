// The simulated network between whole members: every Raft message travels as
// encoded bytes (no object shared between members), after a delay drawn from the
// run's PRNG; it may be dropped, duplicated or overtaken by a later one, and a
// cut link (a partition, possibly one-way) loses it. Every decision comes from
// the one seeded PRNG, every delivery is an event on the simulated clock.

import { type Message, type NodeId, MessageType, decodeMessage, encodeMessage } from '../../src/raft/index.js';
import type { Transport } from '../../src/server/raft-ports.js';
import type { Scheduler } from './virtual-time.js';

/** What a member's driver takes from the network (RaftNode has these methods). */
export interface NetEndpoint {
  step(m: Message): void;
  reportUnreachable(id: NodeId): void;
  reportSnapshot(id: NodeId, ok: boolean): void;
}

export interface LinkFaults {
  /** Probability a message is lost. */
  drop: number;
  /** Probability a message is delivered twice. */
  duplicate: number;
  /** Delays are uniform in [minDelayMs, maxDelayMs]: different delays reorder messages. */
  minDelayMs: number;
  maxDelayMs: number;
}

export const CALM: LinkFaults = { drop: 0, duplicate: 0, minDelayMs: 1, maxDelayMs: 3 };

export class SimNetwork {
  faults: LinkFaults = { ...CALM };
  /** Messages sent, delivered, lost (counters for the run's summary). */
  readonly stats = { sent: 0, delivered: 0, lost: 0, snapshots: 0 };
  private readonly endpoints = new Map<NodeId, NetEndpoint>();
  /** Directed links that lose everything: "from>to". */
  private readonly cut = new Set<string>();

  constructor(private readonly sched: Scheduler, private readonly rng: () => number) {}

  attach(id: NodeId, endpoint: NetEndpoint): void {
    this.endpoints.set(id, endpoint);
  }

  /** The member is down: what is sent to it is lost. */
  detach(id: NodeId): void {
    this.endpoints.delete(id);
  }

  /** Cuts from → to (one way). */
  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  /** Splits members into groups that cannot talk to each other (both ways). */
  partition(groups: NodeId[][]): void {
    for (const a of groups) for (const b of groups) {
      if (a === b) continue;
      for (const x of a) for (const y of b) this.cutLink(x, y);
    }
  }

  heal(): void {
    this.cut.clear();
    this.faults = { ...CALM };
  }

  get partitioned(): boolean {
    return this.cut.size > 0;
  }

  transport(from: NodeId): Transport {
    return {
      send: (messages) => {
        for (const m of messages) this.send(from, m);
      },
    };
  }

  private send(from: NodeId, m: Message): void {
    // m.from may name another member: a follower forwards a learner's MsgReadIndex
    // to its leader as it came (etcd's raft does the same); links are cut by sender.
    this.stats.sent++;
    const bytes = encodeMessage(m);
    const isSnap = m.type === MessageType.MsgSnap;
    const f = this.faults;
    const delay = () => f.minDelayMs + Math.floor(this.rng() * (f.maxDelayMs - f.minDelayMs + 1));
    const lost = this.rng() < f.drop;
    this.sched.after(delay(), () => this.arrive(from, m.to, bytes, isSnap, lost));
    // Proposals are never duplicated: Raft appends each copy it receives (it has
    // no idea two are the same request), and the peer transport runs over TCP,
    // which delivers a message once. Raft must survive every other duplicate.
    if (!isSnap && m.type !== MessageType.MsgProp && this.rng() < f.duplicate) this.sched.after(delay(), () => this.arrive(from, m.to, bytes, false, false));
  }

  private arrive(from: NodeId, to: NodeId, bytes: Uint8Array, isSnap: boolean, lost: boolean): void {
    const dest = this.endpoints.get(to);
    const sender = this.endpoints.get(from);
    if (lost || !dest || this.cut.has(`${from}>${to}`)) {
      this.stats.lost++;
      sender?.reportUnreachable(to);
      if (isSnap) sender?.reportSnapshot(to, false);
      return;
    }
    this.stats.delivered++;
    dest.step(decodeMessage(bytes));
    if (isSnap) {
      this.stats.snapshots++;
      sender?.reportSnapshot(to, true);
    }
  }
}
