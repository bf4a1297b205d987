// A local cluster of real member processes for e2e tests, started with the flags an
// operator would write (--initial-cluster a=...,b=...,c=..., a token, state new) on
// free loopback ports, plus a small Maintenance client (Status, HashKV) over grpc-js
// for polling with bounded deadlines.

import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, type TestContext } from 'vitest';
import { apiServices } from '../../../src/server/api/services.js';
import type * as pb from '../../../src/pb/types.js';
import { freePort, Member } from './member.js';

export interface ClusterOptions {
  /** 'etcd-ts' (bin/etcd-ts) or 'etcd' (the real one on PATH, to check the tests themselves). */
  impl?: 'etcd-ts' | 'etcd';
  size?: number;
  names?: string[];
  token?: string;
  extraArgs?: string[];
  startTimeoutMs?: number;
  clientScheme?: 'http' | 'https';
  peerScheme?: 'http' | 'https';
  /** Per-member flags (say, each member's own certificate), after extraArgs. */
  memberArgs?: (name: string) => string[];
  /** The peer port each member is known by (member i: advertisedPeerPorts[i]), when a proxy stands in front of it. */
  advertisedPeerPorts?: number[];
  /** Extra environment per member (ETCD_TS_FAILPOINTS_HTTP, say). */
  memberEnv?: (name: string) => Record<string, string>;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value other than undefined; throws with the last error/value after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
      last = 'not yet';
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last instanceof Error ? last.message : String(last)}`);
    }
    await sleep(intervalMs);
  }
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

export class Cluster {
  private constructor(readonly members: Member[]) {}

  static async create(opts: ClusterOptions = {}): Promise<Cluster> {
    const size = opts.size ?? 3;
    const names = opts.names ?? Array.from({ length: size }, (_, i) => String.fromCharCode(97 + i));
    const ports = await distinctFreePorts(2 * size);
    const advertised = (i: number): number => opts.advertisedPeerPorts?.[i] ?? ports[2 * i + 1]!;
    const initialCluster = names.map((n, i) => `${n}=${opts.peerScheme ?? 'http'}://127.0.0.1:${advertised(i)}`).join(',');
    const members: Member[] = [];
    for (let i = 0; i < size; i++) {
      members.push(
        await Member.create({
          impl: opts.impl,
          name: names[i],
          clientPort: ports[2 * i],
          peerPort: ports[2 * i + 1],
          ...(opts.advertisedPeerPorts ? { advertisedPeerPort: advertised(i) } : {}),
          ...(opts.memberEnv ? { extraEnv: opts.memberEnv(names[i]!) } : {}),
          initialCluster,
          startTimeoutMs: opts.startTimeoutMs ?? 30_000,
          ...(opts.clientScheme ? { clientScheme: opts.clientScheme } : {}),
          ...(opts.peerScheme ? { peerScheme: opts.peerScheme } : {}),
          extraArgs: [
            '--initial-cluster-token', opts.token ?? `etcd-ts-e2e-${process.pid}`,
            '--initial-cluster-state', 'new',
            ...(opts.extraArgs ?? []),
            ...(opts.memberArgs?.(names[i]!) ?? []),
          ],
        }),
      );
    }
    return new Cluster(members);
  }

  /** Starts the given members (default: every stopped one) together: a member is ready only once a quorum has published it. */
  async start(which: Member[] = this.members.filter((m) => !m.running)): Promise<void> {
    const results = await Promise.allSettled(which.map((m) => m.start()));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${which[i]!.name}: ${(r.reason as Error).message}`] : []));
    if (failed.length) throw new Error(`members failed to start:\n${failed.join('\n')}`);
  }

  running(): Member[] {
    return this.members.filter((m) => m.running);
  }

  /** Comma-separated client endpoints (host:port) of every member. */
  endpoints(which: Member[] = this.members): string {
    return which.map((m) => m.endpoint).join(',');
  }

  /** Stops every member by PID and removes the data dirs. */
  async cleanup(): Promise<void> {
    await Promise.allSettled(this.members.map((m) => m.cleanup()));
  }
}

type Unary = (req: unknown, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

/** Maintenance.Status, HashKV, MoveLeader and Defragment against one member, each call with its own deadline. */
export class MaintenanceClient {
  private readonly client: grpc.Client & Record<string, Unary>;

  constructor(endpoint: string) {
    const Ctor = grpc.makeGenericClientConstructor(apiServices().Maintenance, 'Maintenance');
    this.client = new Ctor(endpoint, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      // Members come and go: reconnect quickly once one is back.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 500,
    }) as unknown as grpc.Client & Record<string, Unary>;
  }

  private call<Res>(method: string, req: unknown, timeoutMs: number): Promise<Res> {
    return new Promise((res, rej) => {
      this.client[method]!.call(this.client, req, { deadline: new Date(Date.now() + timeoutMs) }, (err, v) =>
        err ? rej(err) : res(v as Res),
      );
    });
  }

  status(timeoutMs = 2_000): Promise<pb.StatusResponse> {
    return this.call('Status', {}, timeoutMs);
  }

  hashKV(revision: number, timeoutMs = 5_000): Promise<pb.HashKVResponse> {
    return this.call('HashKV', { revision: BigInt(revision) }, timeoutMs);
  }

  moveLeader(targetID: bigint, timeoutMs = 5_000): Promise<pb.DefragmentResponse> {
    return this.call('MoveLeader', { targetID }, timeoutMs);
  }

  defragment(timeoutMs = 60_000): Promise<pb.DefragmentResponse> {
    return this.call('Defragment', {}, timeoutMs);
  }

  close(): void {
    this.client.close();
  }
}

/**
 * The beforeEach of a file sharing one cluster: on failure, print each member's log
 * tail (the current process only); members a failed case left stopped are started
 * again, then `ready` waits (bounded) for a leader.
 */
export function eachCaseOnCluster(cluster: () => Cluster | undefined, ready: () => Promise<unknown>) {
  return async (ctx: TestContext): Promise<void> => {
    const c = cluster();
    if (!c) return;
    ctx.onTestFailed(() => {
      for (const m of c.members) console.error(`--- ${m.name} (${m.running ? 'running' : 'stopped'}) log tail ---\n${m.log().slice(-4_000)}`);
    });
    const stopped = c.members.filter((m) => !m.running);
    if (stopped.length) await c.start(stopped);
    await ready();
  };
}

/** Leader lookups over one MaintenanceClient per member (every call bounded). */
export function leaderLookups(running: () => Member[], maint: Map<Member, MaintenanceClient>) {
  const statusOf = (m: Member, timeoutMs = 2_000): Promise<pb.StatusResponse> => maint.get(m)!.status(timeoutMs);
  return {
    statusOf,
    /** The leader id as every given member sees it, once they all agree on one (not `exclude`). */
    agreedLeader(members: Member[], timeoutMs: number, exclude?: bigint): Promise<bigint> {
      return waitFor(`one leader agreed by ${members.map((m) => m.name).join(',')}`, timeoutMs, async () => {
        const ids = await Promise.all(members.map(async (m) => (await statusOf(m, 1_000)).leader));
        const first = ids[0]!;
        if (first === 0n || first === exclude || ids.some((id) => id !== first)) return undefined;
        return first;
      });
    },
    /** The running member with this id. */
    async memberById(id: bigint): Promise<Member> {
      for (const m of running()) {
        const st = await statusOf(m);
        if (st.header!.memberId === id) return m;
      }
      throw new Error(`no running member has id ${id.toString(16)}`);
    },
  };
}

/**
 * etcdctl's JSON prints 64-bit ids (member, cluster, leader) as bare numbers, which
 * JSON.parse would round; this quotes every integer of 16+ digits first.
 */
export function parseJsonBigIds(text: string): unknown {
  return JSON.parse(text.replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,}\]])/g, '$1"$2"'));
}

/**
 * One cluster shared by the tests of the describe block this is called in:
 * created and started in beforeAll, cleaned up (members stopped by PID, data dirs
 * removed) in afterAll. The returned function gives it to the tests.
 */
export function clusterForBlock(opts: ClusterOptions = {}, startTimeoutMs = 60_000): () => Cluster {
  let cluster: Cluster | undefined;
  beforeAll(async () => {
    cluster = await Cluster.create(opts);
    await cluster.start();
  }, startTimeoutMs);
  afterAll(async () => {
    await cluster?.cleanup();
  });
  return () => {
    if (!cluster) throw new Error('the block\'s cluster is not started (its beforeAll failed)');
    return cluster;
  };
}
