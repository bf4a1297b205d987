// A hostile network for the simulation: messages travel as encoded bytes (so no
// object is shared between members), are delayed, reordered, dropped, duplicated,
// and cut by partitions.

import { type Message, type NodeId, MessageType, decodeMessage, encodeMessage } from '../../../src/raft/index.js';

interface InFlight {
  bytes: Uint8Array;
  from: NodeId;
  to: NodeId;
  at: number;
  snap: boolean;
}

export interface NetworkFaults {
  drop: number;
  duplicate: number;
  maxDelay: number;
}

export class Network {
  private inflight: InFlight[] = [];
  /** Partition group per node; messages between different groups are lost. */
  group = new Map<NodeId, number>();
  faults: NetworkFaults;
  private readonly rng: () => number;
  onSnapLost?: (from: NodeId, to: NodeId) => void;

  constructor(rng: () => number, faults: NetworkFaults) {
    this.rng = rng;
    this.faults = faults;
  }

  send(m: Message, now: number): void {
    const delay = Math.floor(this.rng() * (this.faults.maxDelay + 1));
    this.inflight.push({ bytes: encodeMessage(m), from: m.from, to: m.to, at: now + delay, snap: m.type === MessageType.MsgSnap });
    if (this.rng() < this.faults.duplicate) {
      this.inflight.push({ bytes: encodeMessage(m), from: m.from, to: m.to, at: now + delay + 1 + Math.floor(this.rng() * 3), snap: false });
    }
  }

  private connected(a: NodeId, b: NodeId): boolean {
    return (this.group.get(a) ?? 0) === (this.group.get(b) ?? 0);
  }

  /** Take the messages due by `now`, in random order, after drops and partitions. */
  due(now: number): Message[] {
    const ready: InFlight[] = [];
    const rest: InFlight[] = [];
    for (const f of this.inflight) (f.at <= now ? ready : rest).push(f);
    this.inflight = rest;
    for (let i = ready.length - 1; i > 0; i--) {
      const j = Math.floor(this.rng() * (i + 1));
      const t = ready[i];
      ready[i] = ready[j];
      ready[j] = t;
    }
    const out: Message[] = [];
    for (const f of ready) {
      if (!this.connected(f.from, f.to) || this.rng() < this.faults.drop) {
        // A real transport notices a failed snapshot stream and says so.
        if (f.snap) this.onSnapLost?.(f.from, f.to);
        continue;
      }
      out.push(decodeMessage(f.bytes));
    }
    return out;
  }

  heal(): void {
    this.group.clear();
  }

  pending(): number {
    return this.inflight.length;
  }
}
