// The fault suite's traffic: several clients, each with one call outstanding at a
// time, spread over the members (a client moves to the next member when its
// member cannot be reached, as a client with several endpoints does), issuing
// puts, deletes, compare-and-swap txns, linearizable, serializable and historical
// ranges, and lease grants, keep-alives, revokes and puts under a lease, on a key
// prefix of the round's own; plus one watch per client (prev_kv) that resumes
// after a broken stream. Everything is recorded by a HistoryRecorder.

import type * as grpc from '@grpc/grpc-js';
import type { Request, Response } from '../../checkers/history.js';
import type { HistoryRecorder, MemberClients } from './fault-history.js';
import { RecordedWatch } from './fault-watch.js';

/** A seeded xorshift generator: a failing round prints its seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    // Scrambled first (murmur3's finaliser): xorshift's first outputs for small,
    // neighbouring seeds are small and alike, so every round picked member a.
    let h = (seed ^ 0x9e3779b9) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    this.s = (h ^ (h >>> 16)) >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 0x1_0000_0000;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

export interface WorkloadMember extends MemberClients {
  watchClient: grpc.Client;
}

export interface WorkloadOptions {
  /** Key prefix of the round ("r7/"): every key the clients touch starts with it. */
  prefix: string;
  /** Lease ids are chosen by the clients: leaseBase + client * 1000 + n (unique across rounds). */
  leaseBase: bigint;
  clients: number;
  keys: number;
  seed: number;
  /** Lease TTL (long: expiry is not part of the model). */
  leaseTtl: number;
  /** Ms to wait after a failed call before the next (a member that is down fails fast). */
  backoffMs: number;
  /** Revision before the round's first write (reads at a past revision stay at or above it). */
  startRevision: number;
}

const WEIGHTS: [string, number][] = [
  ['put', 24],
  ['delete', 5],
  ['cas', 14],
  ['get', 16],
  ['prefix', 4],
  ['serializable', 10],
  ['past', 5],
  ['grant', 3],
  ['putLease', 5],
  ['keepAlive', 3],
  ['revoke', 2],
];
const TOTAL = WEIGHTS.reduce((s, [, w]) => s + w, 0);

function choose(rng: Rng): string {
  let r = rng.int(TOTAL);
  for (const [name, w] of WEIGHTS) {
    if (r < w) return name;
    r -= w;
  }
  return 'get';
}

export class Workload {
  private stopping = false;
  private readonly loops: Promise<void>[] = [];
  private readonly watches: RecordedWatch[] = [];
  /** Calls made, by outcome. */
  readonly counts = { ok: 0, failed: 0, unknown: 0 };

  constructor(
    private readonly recorder: HistoryRecorder,
    private readonly members: () => WorkloadMember[],
    private readonly opts: WorkloadOptions,
  ) {}

  start(): void {
    for (let c = 0; c < this.opts.clients; c++) this.loops.push(this.client(c));
  }

  /** Stops issuing calls and closes the watches; resolves when every outstanding call has returned (each is bounded by its deadline). */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
    for (const w of this.watches) w.close();
  }

  private key(rng: Rng): string {
    return `${this.opts.prefix}k${rng.int(this.opts.keys)}`;
  }

  private async client(id: number): Promise<void> {
    const rng = new Rng(this.opts.seed * 7919 + id);
    let memberIndex = id;
    let seq = 0;
    let leaseSeq = 0;
    const liveLeases: string[] = [];
    const modRevisions = new Map<string, number>();
    let lastRevision = this.opts.startRevision;
    let watch: RecordedWatch | undefined;
    const prefixEnd = `${this.opts.prefix.slice(0, -1)}${String.fromCharCode(this.opts.prefix.charCodeAt(this.opts.prefix.length - 1) + 1)}`;

    while (!this.stopping) {
      const members = this.members();
      const m = members[memberIndex % members.length]!;
      if (!watch || watch.ended) {
        const from = watch ? watch.lastRevision + 1 : this.opts.startRevision + 1;
        watch = new RecordedWatch(m.watchClient, this.recorder, id, m.member, { key: this.opts.prefix, end: prefixEnd, startRevision: from, prevKv: true });
        this.watches.push(watch);
      }
      const key = this.key(rng);
      const value = `c${id}.${seq++}`;
      let request: Request;
      switch (choose(rng)) {
        case 'put':
          request = { kind: 'put', key, value };
          break;
        case 'delete':
          request = { kind: 'delete', key };
          break;
        case 'cas':
          request = {
            kind: 'txn',
            compare: [{ key, target: 'mod', op: '=', operand: modRevisions.get(key) ?? 0 }],
            success: [{ kind: 'put', key, value }],
            failure: [{ kind: 'range', key }],
          };
          break;
        case 'get':
          request = { kind: 'range', key };
          break;
        case 'prefix':
          request = { kind: 'range', key: this.opts.prefix, end: prefixEnd };
          break;
        case 'serializable':
          request = { kind: 'range', key, serializable: true };
          break;
        case 'past':
          request = { kind: 'range', key, revision: this.opts.startRevision + 1 + rng.int(Math.max(1, lastRevision - this.opts.startRevision)) };
          break;
        case 'grant':
          request = { kind: 'leaseGrant', ttl: this.opts.leaseTtl, id: (this.opts.leaseBase + BigInt(id * 1000 + leaseSeq++)).toString() };
          break;
        case 'putLease':
          request = liveLeases.length ? { kind: 'put', key, value, lease: rng.pick(liveLeases) } : { kind: 'put', key, value };
          break;
        case 'keepAlive':
          if (!liveLeases.length) continue;
          request = { kind: 'leaseKeepAlive', id: rng.pick(liveLeases) };
          break;
        case 'revoke':
        default: {
          if (!liveLeases.length) continue;
          const i = rng.int(liveLeases.length);
          request = { kind: 'leaseRevoke', id: liveLeases[i]! };
          liveLeases.splice(i, 1); // revoked or not, it is not used again
          break;
        }
      }
      const res: Response = await this.recorder.call(id, m, request);
      if (res.kind === 'error') {
        if (res.definite) this.counts.failed++;
        else this.counts.unknown++;
        if (!res.definite || /No connection|ECONNREFUSED/.test(res.message)) memberIndex++;
        await new Promise((r) => setTimeout(r, this.opts.backoffMs));
        continue;
      }
      this.counts.ok++;
      if ('revision' in res) lastRevision = Math.max(lastRevision, res.revision);
      if (res.kind === 'leaseGrant') liveLeases.push(res.id);
      if (res.kind === 'range' && request.kind === 'range' && request.end === undefined && !request.revision) {
        modRevisions.set(key, res.kvs[0]?.modRevision ?? 0);
      }
      if (res.kind === 'txn' && res.succeeded) modRevisions.set(key, res.revision);
      if (res.kind === 'txn' && !res.succeeded) {
        const r = res.results[0];
        modRevisions.set(key, r?.kind === 'range' ? (r.kvs[0]?.modRevision ?? 0) : 0);
      }
    }
  }
}
