// The whole simulated cluster: one scheduler (simulated time), one seeded PRNG,
// one network, the members (sim-member.ts), and what the run learns about them:
// every revision's events as each member applied them (the reference event log),
// and problems a production member would have stopped on.

import { seededRandom, StateType } from '../../src/raft/index.js';
import { parseArgs, type Config } from '../../src/server/config.js';
import { clusterIdFor, memberIdFor } from '../../src/server/ids.js';
import type { Event } from '../../src/mvcc/types.js';
import type { RevisionEvents, WatchEvent } from '../checkers/history.js';
import { type Birth, type MemberEnv, SimMember } from './sim-member.js';
import { SimNetwork } from './sim-network.js';
import { Scheduler } from './virtual-time.js';

export interface ClusterOptions {
  seed: number;
  members: number;
  /** --snapshot-count: small, so snapshots and log compaction happen. */
  snapshotCount: number;
  /** The leader lease for every member (on by default, as in production; false: ETCD_TS_LEADER_LEASE=off). */
  leaderLease?: boolean;
}

const dec = new TextDecoder();

export function watchEventOf(ev: Event): WatchEvent {
  const kv = (k: Event['kv']) => ({
    key: dec.decode(k.key), value: dec.decode(k.value), createRevision: k.createRevision, modRevision: k.modRevision,
    version: k.version, lease: k.lease.toString(),
  });
  return ev.type === 'PUT'
    ? { type: 'put', kv: kv(ev.kv) }
    : { type: 'delete', kv: { key: dec.decode(ev.kv.key), value: '', createRevision: 0, modRevision: ev.kv.modRevision, version: 0, lease: '0' } };
}

export class SimCluster {
  readonly sched = new Scheduler();
  readonly rng: () => number;
  readonly net: SimNetwork;
  readonly cfg: Config;
  readonly clusterId: bigint;
  readonly members: SimMember[] = [];
  /** Problems found while running (a fatal stop, a refused start, members disagreeing on a revision). */
  readonly problems: string[] = [];
  /** revision → its events as first applied (JSON), and by whom. */
  private readonly applied = new Map<number, { json: string; events: WatchEvent[]; by: bigint }>();
  private readonly env: MemberEnv;
  private nextPeer = 0;

  constructor(readonly opts: ClusterOptions) {
    this.rng = seededRandom(opts.seed);
    this.net = new SimNetwork(this.sched, this.rng);
    const names = Array.from({ length: opts.members }, () => this.newPeer());
    const parsed = parseArgs([
      '--name', names[0]!.name, '--snapshot-count', String(opts.snapshotCount),
      '--initial-advertise-peer-urls', names[0]!.url, '--heartbeat-interval', '100', '--election-timeout', '1000',
      '--initial-cluster', names.map((p) => `${p.name}=${p.url}`).join(','),
      // Half the seeds run small backend batches and short batch intervals, so flushes
      // by size and by time overlap the applies (the defaults are 10,000 ops and 100 ms),
      // and the clients' multi-key entries (up to 13 records) often exceed a batch.
      '--backend-batch-limit', String(this.rng() < 0.5 ? 0 : 1 + Math.floor(this.rng() * 16)),
      '--backend-batch-interval', `${this.rng() < 0.5 ? 0 : 5 + Math.floor(this.rng() * 100)}ms`,
    ]);
    if (parsed.kind !== 'run') throw new Error('unexpected config parse result');
    this.cfg = parsed.config;
    const peers = names.map((p) => ({ id: memberIdFor([p.url], 'etcd-cluster'), name: p.name, peerURLs: [p.url] }));
    this.clusterId = clusterIdFor(peers.map((p) => p.id));
    this.env = {
      sched: this.sched,
      net: this.net,
      rng: this.rng,
      cfg: this.cfg,
      leaderLease: opts.leaderLease !== false,
      clusterId: this.clusterId,
      activeSince: (id) => this.members.find((m) => m.id === id)?.upSince,
      problem: (member, what) => this.problems.push(`member ${member.toString(16)}: ${what}`),
      onEvents: (member, events, revision) => this.recordApplied(member, events, revision),
      onDown: (member) => this.onDown(member),
      serverRevoke: (member, id, run) => this.serverRevoke(member, id, run),
    };
    for (const p of peers) this.members.push(new SimMember(p.id, p.name, p.peerURLs, this.env, { kind: 'founder', peers }));
  }

  /** A fresh peer name and URL (URLs only name members here; nothing listens on them). */
  newPeer(): { name: string; url: string } {
    const n = this.nextPeer++;
    return { name: `m${n}`, url: `http://sim-${n}:2380` };
  }

  /** Starts every member (their start-up runs as the scheduler is driven: its I/O is simulated). */
  start(): void {
    for (const m of this.members) void m.start();
  }

  /** A member the cluster agreed to add (MemberAdd answered): it starts empty and joins. */
  addJoiner(id: bigint, name: string, url: string): SimMember {
    const birth: Birth = { kind: 'joiner' };
    const m = new SimMember(id, name, [url], this.env, birth);
    this.members.push(m);
    return m;
  }

  up(): SimMember[] {
    return this.members.filter((m) => m.up);
  }

  /**
   * The leader of the newest term. A leader cut off by a partition goes on
   * believing it leads until its election timeout; keep-alives it answers come
   * from its own, possibly stale, lessor (etcd 3.4 answers them the same way,
   * with no quorum check), which the checkers' model rejects.
   */
  leader(): SimMember | undefined {
    let best: SimMember | undefined;
    for (const m of this.members) {
      if (!m.up || !m.current!.raft.isLeader) continue;
      if (!best || m.current!.raft.currentTerm > best.current!.raft.currentTerm) best = m;
    }
    return best;
  }

  private leaseBreached = false;

  /**
   * The leader lease's promise (src/server/leader-lease.ts): while a member holds
   * a lease for term T, no member leads in a later term. Checked after every event
   * of a run (run-seed.ts), so a breach is found whether or not a client happened
   * to ask the stale leader in that window; the first one is reported.
   */
  checkLeaderLeases(): void {
    // Without the lease no member holds one: nothing to look at after every event.
    if (this.opts.leaderLease === false || this.leaseBreached) return;
    for (const holder of this.members) {
      if (!holder.up) continue;
      const lease = holder.current!.server.leaderLeaseNow();
      if (lease.remainingMs <= 0) continue;
      for (const other of this.members) {
        if (other === holder || !other.up) continue;
        const core = other.current!.raft.raw.raft;
        if (core.state !== StateType.Leader || core.term <= lease.term) continue;
        this.leaseBreached = true;
        this.problems.push(
          `leader lease: member ${holder.id.toString(16)} holds a lease of term ${lease.term} for ${lease.remainingMs.toFixed(0)} ms more ` +
            `while member ${other.id.toString(16)} leads in term ${core.term} (at ${this.sched.now()} ms)`,
        );
        return;
      }
    }
  }

  /** Set by the run: told when a member goes down. */
  onDown: (member: SimMember) => void = () => {};
  /** Set by the run: records a revoke the leader's lease expiry proposed. */
  serverRevoke: (member: SimMember, id: bigint, run: () => Promise<unknown>) => Promise<unknown> = (_m, _id, run) => run();

  private recordApplied(member: bigint, events: Event[], revision: number): void {
    const evs = events.map(watchEventOf);
    const json = JSON.stringify(evs);
    const seen = this.applied.get(revision);
    if (!seen) this.applied.set(revision, { json, events: evs, by: member });
    else if (seen.json !== json) {
      this.problems.push(
        `revision ${revision}: member ${member.toString(16)} applied ${json}, member ${seen.by.toString(16)} applied ${seen.json}`,
      );
    }
  }

  /** Every revision's events, in order (what the members applied; checked equal across members as they went). */
  eventLog(): RevisionEvents[] {
    return [...this.applied.entries()].sort((a, b) => a[0] - b[0]).map(([revision, v]) => ({ revision, events: v.events }));
  }
}
