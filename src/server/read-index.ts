// Linearizable reads share ReadIndex rounds: one round is in flight at a time;
// every read that arrives meanwhile joins the next round, so a burst of N reads
// costs two heartbeat quorums, not N. A read may be served once this member has
// applied up to the index its round returned.
//
// Contexts name a round at the leader, next to every other member's: they are
// member id (8 bytes) + a per-boot nonce (8 random bytes) + a counter (8 bytes), so
// two members never collide, and a restarted member never reuses a context the
// leader may still hold pending from its previous life.
//
// Without a leader. etcd's linearizableReadLoop keeps asking (every 500 ms) and
// fails the round with ErrLeaderChanged when a leader is elected, or ErrTimeout
// after the request timeout; a client that asked to require a leader gets
// `etcdserver: no leader` at once. Reads then pile up for the whole request
// timeout. We keep etcd's errors (all Unavailable, so clients retry) but bound the
// wait: reads wait at most `noLeaderWaitMs` (a few election timeouts: long enough
// for an election to finish) after the leader was lost, then fail with
// `etcdserver: no leader`; while still leaderless past that bound, a new read fails
// at once instead of queueing. When a leader is elected the round in flight is
// asked again at once (its earlier request was dropped) rather than failed with
// ErrLeaderChanged: any leader's confirmed index is a valid read point.

import { randomBytes } from 'node:crypto';
import type { ReadState } from '../raft/types.js';
import { ErrNoLeader, ErrTimeout } from './errors.js';
import { Deadlines, type Deferred, deferred } from './waiters.js';
import type { LeaseStamp } from './leader-lease.js';

interface Round {
  ctx: string;
  ctxBytes: Uint8Array;
  waiters: Deferred<void>[];
  retry: NodeJS.Timeout;
  stamp: LeaseStamp | undefined;
}

export interface ReadIndexerOptions {
  /** This member's id, the first 8 bytes of every context. */
  memberId?: bigint;
  /** The leader this member knows (0n: none). Without it, the leader is assumed known. */
  leader?: () => bigint;
  /** How long reads wait for a leader before failing with `etcdserver: no leader`. */
  noLeaderWaitMs?: number;
  /**
   * Called as a round is first asked; a read state answering that round hands what
   * it returned to `onConfirmed` (the leader lease: when a quorum confirmed it).
   */
  stampRound?: () => LeaseStamp | undefined;
  onConfirmed?: (stamp: LeaseStamp) => void;
}

export class ReadIndexer {
  private inflight: Round | undefined;
  private next: Deferred<void>[] = [];
  private seq = 0n;
  private readonly prefix: Buffer;
  private readonly deadlines: Deadlines;
  private readonly leader: () => bigint;
  private readonly noLeaderWaitMs: number;
  private readonly stampRound: (() => LeaseStamp | undefined) | undefined;
  private readonly onConfirmed: ((stamp: LeaseStamp) => void) | undefined;
  /** Date.now() when this member last saw no leader (undefined while one is known). */
  private leaderlessSince: number | undefined;
  private noLeaderTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly requestReadIndex: (ctx: Uint8Array) => void,
    private readonly waitApplied: (index: number) => Promise<void>,
    timeoutMs: number,
    /** A round whose answer is lost (no leader yet, leader change) is asked again after this. */
    private readonly retryMs: number,
    opts: ReadIndexerOptions = {},
  ) {
    this.deadlines = new Deadlines(timeoutMs, ErrTimeout);
    this.prefix = Buffer.alloc(16);
    this.prefix.writeBigUInt64BE(BigInt.asUintN(64, opts.memberId ?? 0n), 0);
    randomBytes(8).copy(this.prefix, 8);
    this.leader = opts.leader ?? (() => 1n);
    this.noLeaderWaitMs = opts.noLeaderWaitMs ?? timeoutMs;
    this.stampRound = opts.stampRound;
    this.onConfirmed = opts.onConfirmed;
    if (this.leader() === 0n) this.leaderlessSince = Date.now();
  }

  barrier(): Promise<void> {
    if (this.leader() === 0n) {
      this.leaderlessSince ??= Date.now();
      if (Date.now() - this.leaderlessSince >= this.noLeaderWaitMs) return Promise.reject(ErrNoLeader());
    }
    const d = deferred<void>();
    if (this.inflight) this.next.push(d);
    else this.startRound([d]);
    this.armNoLeader();
    this.deadlines.track(d);
    return d.promise;
  }

  /** The leader this member knows changed (0n: none). */
  onLeader(lead: bigint): void {
    if (lead === 0n) {
      this.leaderlessSince ??= Date.now();
      this.armNoLeader();
      return;
    }
    this.leaderlessSince = undefined;
    clearTimeout(this.noLeaderTimer);
    this.noLeaderTimer = undefined;
    // The request in flight was dropped or lost with the old leader: ask the new one now.
    if (this.inflight) this.ask(this.inflight.ctxBytes);
  }

  private armNoLeader(): void {
    if (this.noLeaderTimer || this.leaderlessSince === undefined) return;
    if (!this.inflight && this.next.length === 0) return;
    const wait = Math.max(0, this.leaderlessSince + this.noLeaderWaitMs - Date.now());
    this.noLeaderTimer = setTimeout(() => {
      this.noLeaderTimer = undefined;
      if (this.leader() !== 0n) return;
      this.failQueued(ErrNoLeader());
    }, wait);
    this.noLeaderTimer.unref();
  }

  private ask(ctxBytes: Uint8Array): void {
    try {
      this.requestReadIndex(ctxBytes);
    } catch {
      // Dropped for now (no leader); the retry timer asks again.
    }
  }

  private startRound(waiters: Deferred<void>[]): void {
    const ctxBytes = Buffer.alloc(24);
    this.prefix.copy(ctxBytes, 0);
    ctxBytes.writeBigUInt64BE(++this.seq, 16);
    const ctx = ctxBytes.toString('hex');
    const retry = setInterval(() => this.ask(ctxBytes), this.retryMs);
    retry.unref();
    // Stamped before it is asked: the round's heartbeats go out after this time.
    this.inflight = { ctx, ctxBytes, waiters, retry, stamp: this.stampRound?.() };
    this.ask(ctxBytes);
  }

  onReadStates(states: ReadState[]): void {
    for (const s of states) {
      const round = this.inflight;
      if (!round || Buffer.from(s.requestCtx).toString('hex') !== round.ctx) continue;
      clearInterval(round.retry);
      this.inflight = undefined;
      if (round.stamp !== undefined) this.onConfirmed?.(round.stamp);
      this.waitApplied(s.index).then(
        () => round.waiters.forEach((w) => w.resolve()),
        (err: Error) => round.waiters.forEach((w) => w.reject(err)),
      );
      if (this.next.length > 0) this.startRound(this.next.splice(0));
    }
  }

  /** Rejects every read not yet answered (the round in flight and the next one). */
  private failQueued(err: Error): void {
    if (this.inflight) {
      clearInterval(this.inflight.retry);
      this.inflight.waiters.forEach((w) => w.reject(err));
      this.inflight = undefined;
    }
    this.next.splice(0).forEach((w) => w.reject(err));
  }

  failAll(err: Error): void {
    this.deadlines.stop();
    clearTimeout(this.noLeaderTimer);
    this.noLeaderTimer = undefined;
    this.failQueued(err);
  }
}
