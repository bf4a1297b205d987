// A deterministic, synchronous cluster for scenario tests: every Ready is processed
// and every message delivered in FIFO order until the cluster is quiet, except for
// messages cut by a partition or a drop filter.

import { type Message, type NodeId, MessageType } from '../../../src/raft/index.js';
import { type NodeOptions, SimNode } from './node.js';

const enc = new TextEncoder();
export const bytes = (s: string): Uint8Array => enc.encode(s);

export class Cluster {
  readonly nodes = new Map<NodeId, SimNode>();
  queue: Message[] = [];
  private cut = new Set<string>();
  /** Return true to drop a message. */
  dropFn?: (m: Message) => boolean;
  /** Every delivered message, for assertions. */
  log: Message[] = [];

  constructor(ids: number[], opts: NodeOptions = {}, voters: number[] = ids) {
    const peers = voters.map((id) => ({ id: BigInt(id), context: new Uint8Array(0) }));
    for (const id of ids) {
      const n = new SimNode(BigInt(id), opts);
      if (voters.includes(id)) n.rn.bootstrap(peers);
      this.nodes.set(BigInt(id), n);
    }
  }

  add(id: number, opts: NodeOptions = {}): SimNode {
    const n = new SimNode(BigInt(id), opts);
    this.nodes.set(BigInt(id), n);
    return n;
  }

  n(id: number | bigint): SimNode {
    const n = this.nodes.get(BigInt(id));
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  isolate(id: number): void {
    for (const other of this.nodes.keys()) {
      if (other !== BigInt(id)) this.cutLink(id, Number(other));
    }
  }

  cutLink(a: number, b: number): void {
    this.cut.add(`${a}-${b}`);
    this.cut.add(`${b}-${a}`);
  }

  /** Split into groups; messages cross no group boundary. */
  partition(...groups: number[][]): void {
    for (const g of groups) for (const h of groups) if (g !== h) for (const a of g) for (const b of h) this.cutLink(a, b);
  }

  heal(): void {
    this.cut.clear();
    this.dropFn = undefined;
  }

  private deliverable(m: Message): boolean {
    if (this.cut.has(`${m.from}-${m.to}`)) return false;
    if (this.dropFn && this.dropFn(m)) return false;
    const to = this.nodes.get(m.to);
    return to !== undefined && to.alive;
  }

  /** Process Readies and deliver messages until nothing moves. */
  process(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      for (const n of this.nodes.values()) {
        const out = n.handleReady();
        if (out.length > 0 || n.rn.hasReady()) moved = true;
        for (const m of out) this.queue.push(m);
      }
      const q = this.queue;
      this.queue = [];
      for (const m of q) {
        moved = true;
        if (!this.deliverable(m)) continue;
        this.log.push(m);
        this.n(m.to).rn.step(m);
        // The transport reports a delivered snapshot, as etcd's does.
        if (m.type === MessageType.MsgSnap) {
          const from = this.nodes.get(m.from);
          if (from && from.alive) from.rn.reportSnapshot(m.to, true);
        }
      }
      if (!moved) return;
    }
    throw new Error('cluster did not quiesce');
  }

  tick(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const n of this.nodes.values()) if (n.alive) n.rn.tick();
      this.process();
    }
  }

  /** Tick until pred holds; fails after max ticks. */
  tickUntil(pred: () => boolean, max = 1000): number {
    for (let i = 0; i < max; i++) {
      if (pred()) return i;
      this.tick();
    }
    if (pred()) return max;
    throw new Error('condition not reached');
  }

  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.alive && n.isLeader() && (!best || n.raft.term > best.raft.term)) best = n;
    }
    return best;
  }

  electLeader(): SimNode {
    this.tickUntil(() => this.leader() !== undefined);
    return this.leader()!;
  }

  propose(id: number | bigint, data: string): void {
    this.n(id).rn.propose(bytes(data));
    this.process();
  }

  count(type: MessageType): number {
    return this.log.filter((m) => m.type === type).length;
  }
}
