// ReadIndex bookkeeping on the leader (ReadOnlySafe). A read is served at the commit
// index it saw on arrival, once a heartbeat round that *left after it arrived* is
// acknowledged by a quorum: that proves nobody else was leader at that moment.
//
// Batching: requests that arrive while the newest round's heartbeats have not yet
// been handed to the driver join that round (it will leave after them). Once a
// round has been handed out, new requests open the next round.
//
// Names: a request's context is its caller's id, unique only per caller, so the
// leader never uses it to name anything shared. A duplicate is the same member
// asking again with the same context (its retry); two members may well pick the same
// bytes. A round is named by the leader itself (a counter; this object lives for one
// term of one leader, and older terms' acknowledgements are dropped by term), so a
// late acknowledgement of a finished round can never count for a newer one.

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
  /** Every request pending, by asker and context, to drop duplicates (the caller's retries). */
  private readonly pendingCtx = new Set<string>();
  private roundSeq = 0;

  /** Queue a request; returns the context of a round to broadcast, or undefined if it joined one. */
  addRequest(index: number, m: Message, selfId: NodeId): Uint8Array | undefined {
    const reqKey = pendingKey(m);
    if (reqKey !== undefined) {
      if (this.pendingCtx.has(reqKey)) return undefined;
      this.pendingCtx.add(reqKey);
    }
    const last = this.queue.length > 0 ? this.queue[this.queue.length - 1] : undefined;
    if (last && !last.sent) {
      last.requests.push({ index, req: m });
      return undefined;
    }
    // The round's own name, echoed back by the followers' heartbeat responses.
    const ctx = new TextEncoder().encode(`\u0000round-${++this.roundSeq}`);
    const key = bytesKey(ctx);
    const round: Round = { key, ctx, requests: [{ index, req: m }], acks: new Set([selfId]), sent: false };
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
        const reqKey = pendingKey(q.req);
        if (reqKey !== undefined) this.pendingCtx.delete(reqKey);
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

/** A request's identity: who asked, and its context; undefined for an empty context (never deduplicated). */
function pendingKey(m: Message): string | undefined {
  const ctx = bytesKey(m.context);
  return ctx === '' ? undefined : `${m.from}:${ctx}`;
}
