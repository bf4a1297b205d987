// ReadIndex bookkeeping on the leader (ReadOnlySafe). A read is served at the commit
// index it saw on arrival, once a heartbeat round that *left after it arrived* is
// acknowledged by a quorum: that proves nobody else was leader at that moment.
//
// Batching: requests that arrive while the newest round's heartbeats have not yet
// been handed to the driver join that round (it will leave after them). Once a
// round has been handed out, new requests open the next round.

import type { Message, NodeId } from './types.js';
import { bytesKey } from './util.js';

export interface ReadRequest {
  index: number;
  /** The original request: from (who asked) and context (the caller's id for it). */
  req: Message;
}

interface Round {
  key: string;
  ctx: Uint8Array;
  requests: ReadRequest[];
  acks: Set<NodeId>;
  sent: boolean;
}

export class ReadOnly {
  private readonly rounds = new Map<string, Round>();
  private readonly queue: Round[] = [];
  /** Every request context pending, to drop duplicates (the caller's retries). */
  private readonly pendingCtx = new Set<string>();
  private anonRounds = 0;

  /** Queue a request; returns the context of a round to broadcast, or undefined if it joined one. */
  addRequest(index: number, m: Message, selfId: NodeId): Uint8Array | undefined {
    let key = bytesKey(m.context);
    if (key !== '') {
      if (this.pendingCtx.has(key)) return undefined;
      this.pendingCtx.add(key);
    }
    const last = this.queue.length > 0 ? this.queue[this.queue.length - 1] : undefined;
    if (last && !last.sent) {
      last.requests.push({ index, req: m });
      return undefined;
    }
    // A round needs a non-empty id to be echoed back; invent one for an empty context.
    let ctx = m.context;
    if (key === '') {
      ctx = new TextEncoder().encode(`\u0000round-${++this.anonRounds}`);
      key = bytesKey(ctx);
    }
    const round: Round = { key, ctx: ctx!, requests: [{ index, req: m }], acks: new Set([selfId]), sent: false };
    this.rounds.set(key, round);
    this.queue.push(round);
    return round.ctx;
  }

  /** The driver has taken the pending messages: the newest round's heartbeats are out. */
  markSent(): void {
    if (this.queue.length > 0) this.queue[this.queue.length - 1].sent = true;
  }

  /** Record a heartbeat acknowledgement; returns the number of acks for the round, 0 if unknown. */
  recvAck(id: NodeId, ctx: Uint8Array | undefined): Set<NodeId> | undefined {
    const r = this.rounds.get(bytesKey(ctx));
    if (!r) return undefined;
    r.acks.add(id);
    return r.acks;
  }

  /** The round for ctx is confirmed: it and all older rounds are released. */
  advance(ctx: Uint8Array | undefined): ReadRequest[] {
    const key = bytesKey(ctx);
    const target = this.rounds.get(key);
    if (!target) return [];
    const out: ReadRequest[] = [];
    let n = 0;
    for (; n < this.queue.length; n++) {
      const r = this.queue[n];
      for (const q of r.requests) {
        out.push(q);
        this.pendingCtx.delete(bytesKey(q.req.context));
      }
      this.rounds.delete(r.key);
      if (r === target) break;
    }
    this.queue.splice(0, n + 1);
    return out;
  }

  lastPendingRequestCtx(): Uint8Array | undefined {
    return this.queue.length > 0 ? this.queue[this.queue.length - 1].ctx : undefined;
  }

  pendingCount(): number {
    return this.pendingCtx.size;
  }
}
