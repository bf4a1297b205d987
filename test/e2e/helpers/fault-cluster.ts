// The cluster the fault suite runs on: three bin/etcd-ts members behind a peer
// proxy (peer-proxy.ts: partitions), each with its failpoint HTTP endpoint
// (ETCD_TS_FAILPOINTS_HTTP on a free loopback port), per-member clients for the
// workload, the logs of every process a member ran (a restart starts a new log),
// and the steps around a round: find the leader, crash and restart a member, wait
// for the cluster to settle, read the committed event log, compare hashes, and
// keep the evidence of a failed round.

import * as grpc from '@grpc/grpc-js';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { apiServices } from '../../../src/server/api/services.js';
import type { RevisionEvents } from '../../checkers/history.js';
import { Cluster, MaintenanceClient, sleep, waitFor } from './cluster.js';
import { HistoryRecorder } from './fault-history.js';
import { RecordedWatch, watchServiceClient } from './fault-watch.js';
import type { WorkloadMember } from './fault-workload.js';
import { HistoryClient } from './history-client.js';
import { freePort, type Member } from './member.js';
import { PeerProxy } from './peer-proxy.js';

const CHANNEL = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 500 };

export interface FaultClusterOptions {
  /** --snapshot-count: small, so members snapshot (and feed followers snapshots) within a round. */
  snapshotCount: number;
  /** Deadline of each client call (ms). */
  callTimeoutMs: number;
  /** ETCD_TS_LEADER_LEASE=on or off on every member (undefined: they inherit the variable, if set). */
  leaderLease?: boolean;
}

export class FaultCluster {
  readonly workloadMembers: WorkloadMember[];
  private readonly maint = new Map<Member, MaintenanceClient>();
  /** Logs of the member processes that already ended, per member, oldest first. */
  private readonly pastLogs = new Map<string, string[]>();
  private readonly clusterClients = new Map<Member, grpc.Client>();

  private constructor(
    readonly cluster: Cluster,
    readonly proxy: PeerProxy,
    private readonly failpointPorts: Map<string, number>,
    callTimeoutMs: number,
  ) {
    this.workloadMembers = cluster.members.map((m) => ({
      member: m.name,
      client: new HistoryClient(m.endpoint, callTimeoutMs, CHANNEL),
      watchClient: watchServiceClient(m.endpoint),
    }));
    for (const m of cluster.members) this.maint.set(m, new MaintenanceClient(m.endpoint));
  }

  static async start(opts: FaultClusterOptions): Promise<FaultCluster> {
    const names = ['a', 'b', 'c'];
    const proxyPorts = [await freePort(), await freePort(), await freePort()];
    const fpPorts = new Map<string, number>();
    for (const n of names) fpPorts.set(n, await freePort());
    const cluster = await Cluster.create({
      names,
      advertisedPeerPorts: proxyPorts,
      memberEnv: (name) => ({
        ETCD_TS_FAILPOINTS_HTTP: `127.0.0.1:${fpPorts.get(name)}`,
        ...(opts.leaderLease !== undefined ? { ETCD_TS_LEADER_LEASE: opts.leaderLease ? 'on' : 'off' } : {}),
      }),
      extraArgs: ['--snapshot-count', String(opts.snapshotCount)],
    });
    const proxy = await PeerProxy.start(
      cluster.members.map((m, i) => ({ name: m.name, targetPort: m.peerPort, proxyPort: proxyPorts[i]!, pid: () => m.pid })),
    );
    try {
      await cluster.start();
    } catch (err) {
      await cluster.cleanup();
      await proxy.close();
      throw err;
    }
    return new FaultCluster(cluster, proxy, fpPorts, opts.callTimeoutMs);
  }

  get members(): Member[] {
    return this.cluster.members;
  }

  member(name: string): Member {
    return this.members.find((m) => m.name === name)!;
  }

  async status(m: Member, timeoutMs = 1_000) {
    return this.maint.get(m)!.status(timeoutMs);
  }

  /** The member every running member agrees leads (bounded). */
  async leader(timeoutMs = 15_000): Promise<Member> {
    const running = this.cluster.running();
    return waitFor('an agreed leader', timeoutMs, async () => {
      const sts = await Promise.all(running.map((m) => this.status(m)));
      const lead = sts[0]!.leader;
      if (lead === 0n || sts.some((s) => s.leader !== lead)) return undefined;
      const i = sts.findIndex((s) => s.header!.memberId === lead);
      return i >= 0 ? running[i] : undefined;
    });
  }

  async memberId(m: Member): Promise<bigint> {
    return (await this.status(m, 2_000)).header!.memberId;
  }

  /** Arms a failpoint on a running member through its HTTP endpoint. */
  async setFailpoint(m: Member, name: string, term: string): Promise<void> {
    const res = await fetch(`http://127.0.0.1:${this.failpointPorts.get(m.name)}/${name}`, { method: 'PUT', body: term, signal: AbortSignal.timeout(2_000) });
    if (res.status !== 204) throw new Error(`setting failpoint ${name}=${term} on ${m.name}: HTTP ${res.status} ${await res.text()}`);
  }

  async clearFailpoint(m: Member, name: string): Promise<void> {
    if (!m.running) return;
    await fetch(`http://127.0.0.1:${this.failpointPorts.get(m.name)}/${name}`, { method: 'DELETE', signal: AbortSignal.timeout(2_000) }).catch(() => {});
  }

  /** Resolves true once the member's process has exited, false after `ms`. */
  async exited(m: Member, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (m.running && Date.now() < deadline) await sleep(20);
    return !m.running;
  }

  private keepLog(m: Member): void {
    const logs = this.pastLogs.get(m.name) ?? [];
    logs.push(m.log());
    this.pastLogs.set(m.name, logs);
  }

  async kill9(m: Member): Promise<void> {
    await m.kill9();
  }

  /** Starts a member that exited (its log so far is kept). */
  async restart(m: Member): Promise<void> {
    if (m.running) return;
    this.keepLog(m);
    await m.start();
  }

  /** Every member's whole log: the processes that ended, then the current one. */
  logs(m: Member): string {
    return [...(this.pastLogs.get(m.name) ?? []), m.log()].map((l, i) => `=== process ${i + 1} ===\n${l}`).join('\n');
  }

  /** Whether a member's current log names the failpoint as fired. */
  firedIn(m: Member, name: string): boolean {
    const all = [...(this.pastLogs.get(m.name) ?? []), m.log()].join('');
    return all.includes(`"msg":"failpoint fired","failpoint":"${name}"`);
  }

  /** MemberUpdate of `target` to the peer URL it already has: a conf change that changes nothing. */
  async memberUpdateSame(via: Member, target: Member, timeoutMs = 5_000): Promise<void> {
    let client = this.clusterClients.get(via);
    if (!client) {
      const Ctor = grpc.makeGenericClientConstructor(apiServices().Cluster, 'Cluster');
      client = new Ctor(via.endpoint, grpc.credentials.createInsecure(), CHANNEL);
      this.clusterClients.set(via, client);
    }
    const id = await this.memberId(target);
    await new Promise<void>((res, rej) =>
      (client as unknown as Record<string, (r: unknown, o: grpc.CallOptions, cb: (e: Error | null) => void) => void>).MemberUpdate!.call(
        client,
        { ID: id, peerURLs: [target.advertisedPeerUrl] },
        { deadline: new Date(Date.now() + timeoutMs) },
        (e) => (e ? rej(e) : res()),
      ),
    );
  }

  async defragment(m: Member, timeoutMs = 10_000): Promise<void> {
    await this.maint.get(m)!.defragment(timeoutMs);
  }

  /**
   * Every member runs, agrees on a leader, and has applied everything committed,
   * twice in a row 300 ms apart (no straggling proposal still in flight). Returns
   * the revision every member then holds.
   */
  async settle(timeoutMs = 30_000): Promise<number> {
    for (const m of this.members) if (!m.running) await this.restart(m);
    let last = '';
    return waitFor('the cluster to settle (one leader, everything committed applied on every member)', timeoutMs, async () => {
      const sts = await Promise.all(this.members.map((m) => this.status(m)));
      const lead = sts[0]!.leader;
      const revs = await Promise.all(this.members.map((m) => this.workloadMembers.find((w) => w.member === m.name)!.client.kv.range({ key: Buffer.from('\0'), serializable: true, limit: 1n })));
      const same =
        lead !== 0n &&
        sts.every((s) => s.leader === lead && s.raftAppliedIndex === sts[0]!.raftAppliedIndex && s.raftIndex === s.raftAppliedIndex) &&
        revs.every((r) => r.header!.revision === revs[0]!.header!.revision);
      const now = `${sts.map((s) => s.raftAppliedIndex).join(',')}/${revs[0]!.header!.revision}`;
      const stable = same && now === last;
      last = same ? now : '';
      return stable ? Number(revs[0]!.header!.revision) : undefined;
    }, 300);
  }

  /**
   * Every event committed in (from, to], per revision, read by a watch on `m`
   * (every key, prev_kv). Throws when the events do not arrive within the bound.
   */
  async readEvents(m: Member, from: number, to: number, timeoutMs = 15_000): Promise<RevisionEvents[]> {
    if (to <= from) return [];
    const rec = new HistoryRecorder();
    const w = new RecordedWatch(this.workloadMembers.find((x) => x.member === m.name)!.watchClient, rec, -1, m.name, {
      key: '\0',
      end: '\0',
      startRevision: from + 1,
      prevKv: true,
    });
    try {
      if (!(await w.waitForRevision(to, timeoutMs))) throw new Error(`the event log (${from}, ${to}] did not arrive from ${m.name} in ${timeoutMs} ms (last revision ${w.lastRevision}; ${w.error ?? 'stream open'})`);
    } finally {
      w.close();
    }
    const byRev = new Map<number, RevisionEvents>();
    for (const r of w.record.responses) {
      for (const e of r.events) {
        const rev = e.kv.modRevision;
        if (rev > to) continue;
        let re = byRev.get(rev);
        if (!re) byRev.set(rev, (re = { revision: rev, events: [] }));
        re.events.push(e);
      }
    }
    return [...byRev.values()].sort((a, b) => a.revision - b.revision);
  }

  /** The compacted revision (-1 before the first compaction, as the checkers' model has it). */
  async compactRevision(): Promise<number> {
    const leader = await this.leader();
    const c = Number((await this.maint.get(leader)!.hashKV(0, 10_000)).compactRevision);
    return c > 0 ? c : -1;
  }

  /** HashKV at `revision` on every member; a problem per member that disagrees with the first. */
  async hashProblems(revision: number): Promise<string[]> {
    const hashes = await Promise.all(this.members.map(async (m) => [m.name, await this.maint.get(m)!.hashKV(revision, 10_000)] as const));
    const [firstName, first] = hashes[0]!;
    return hashes
      .filter(([, h]) => h.hash !== first.hash || h.compactRevision !== first.compactRevision)
      .map(([n, h]) => `HashKV at revision ${revision}: ${n} has hash ${h.hash} (compact ${h.compactRevision}), ${firstName} has ${first.hash} (compact ${first.compactRevision})`);
  }

  /** Copies every member's data dir and logs, and writes `files`, into `dir`. */
  async keepEvidence(dir: string, files: Record<string, string>): Promise<void> {
    await mkdir(dir, { recursive: true });
    for (const m of this.members) {
      await cp(m.dataDir, join(dir, `${m.name}.data`), { recursive: true }).catch(() => {});
      await writeFile(join(dir, `${m.name}.log`), this.logs(m));
    }
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  }

  async close(): Promise<void> {
    for (const w of this.workloadMembers) {
      w.client.close();
      w.watchClient.close();
    }
    for (const c of this.maint.values()) c.close();
    for (const c of this.clusterClients.values()) c.close();
    await this.cluster.cleanup();
    await this.proxy.close();
  }
}
