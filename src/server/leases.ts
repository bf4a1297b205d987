// The server's side of leases: what runs around the lessor (src/lease).
//
// - Grant and revoke are proposals; the applier changes the lessor.
// - The leader alone keeps deadlines. Every 500 ms it proposes revokes for
//   expired leases (at most 1000 a second, as etcd) and one entry carrying the
//   due checkpoints of long leases' remaining TTL.
// - A keep-alive or time-to-live on a follower is forwarded to the leader over
//   the peer port (etcd forwards over its peer HTTP /leases endpoints).

import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  type Lessor, LeaseError, leaseIdFromRequestId, MAX_LEASE_TTL, RateLimiter, toLeaseId, type LeaseId,
} from '../lease/index.js';
import type { MvccStore } from '../mvcc/index.js';
import { LEASE_PREFIX as LEASE_BUCKET } from '../mvcc/keyspace.js';
import { messageCodec } from '../pb/index.js';
import type * as pb from '../pb/types.js';
import { Code, ErrNoLeader, ErrTimeout, EtcdError } from './errors.js';
import type { InternalRequestBody } from './etcd-server.js';

const TICK_MS = 500;
/** Revokes in flight at once (etcd: 16); the rest wait for the next tick. */
const MAX_REVOKES_IN_FLIGHT = 16;
const MAX_CHECKPOINTS_PER_ENTRY = 1000;

export const ErrLeaseTtlTooLarge = (): EtcdError => new EtcdError(Code.OUT_OF_RANGE, 'etcdserver: too large lease TTL');

export const RENEW_PATH = '/etcdts.peer.Lease/Renew';
export const TIME_TO_LIVE_PATH = '/etcdts.peer.Lease/TimeToLive';

/** What the coordinator needs from the server. */
export interface LeaseHost {
  readonly logger: Logger;
  readonly requestTimeoutMs: number;
  isLeader(): boolean;
  leader(): bigint;
  propose(body: InternalRequestBody): Promise<unknown>;
  /** Resolves once this member has applied everything committed when called. */
  waitAppliedCommitted(): Promise<void>;
  nextRequestId(): bigint;
  /** A unary call to a member's peer port. */
  callPeer<Req, Res>(id: bigint, path: string, ser: (r: Req) => Buffer, de: (b: Buffer) => Res, req: Req, timeoutMs: number): Promise<Res>;
  /** Waits (bounded) until a leader is known or the leader changes. */
  leaderChange(timeoutMs: number): Promise<void>;
}

export interface RenewResult {
  id: LeaseId;
  /** Seconds granted; 0 when the lease does not exist (any more). */
  ttl: number;
}

export interface TimeToLiveResult {
  id: LeaseId;
  /** -1 when the lease does not exist, as etcd answers. */
  ttl: number;
  grantedTtl: number;
  keys: Uint8Array[];
}

const keepAliveReq = () => messageCodec<pb.LeaseKeepAliveRequest>('etcdserverpb.LeaseKeepAliveRequest');
const keepAliveRes = () => messageCodec<pb.LeaseKeepAliveResponse>('etcdserverpb.LeaseKeepAliveResponse');
const ttlReq = () => messageCodec<pb.LeaseTimeToLiveRequest>('etcdserverpb.LeaseTimeToLiveRequest');
const ttlRes = () => messageCodec<pb.LeaseTimeToLiveResponse>('etcdserverpb.LeaseTimeToLiveResponse');

export class LeaseCoordinator {
  private timer: NodeJS.Timeout | undefined;
  private readonly revokeLimiter = new RateLimiter(1000, { now: () => Date.now() });
  private revokesInFlight = 0;
  private checkpointInFlight = false;

  constructor(
    private readonly host: LeaseHost,
    private lessorRef: () => Lessor,
  ) {}

  get lessor(): Lessor {
    return this.lessorRef();
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  // --- requests ---------------------------------------------------------------

  async grant(ttl: bigint, id: bigint): Promise<{ id: LeaseId; ttl: number }> {
    // etcd refuses a too-large TTL before proposing; the applier checks again.
    if (ttl > BigInt(MAX_LEASE_TTL)) throw ErrLeaseTtlTooLarge();
    let leaseId = id;
    while (leaseId === 0n) leaseId = leaseIdFromRequestId(this.host.nextRequestId());
    return (await this.host.propose({ leaseGrant: { TTL: ttl, ID: leaseId } })) as { id: LeaseId; ttl: number };
  }

  async revoke(id: bigint): Promise<void> {
    await this.host.propose({ leaseRevoke: { ID: id } });
  }

  /** One keep-alive: answered by the leader, forwarded there from a follower. */
  renew(id: bigint): Promise<RenewResult> {
    return this.leaderAnswer(
      (deadline) => this.renewAsLeader(toLeaseId(id), deadline),
      async (leader, deadline) => {
        const res = await this.forward(leader, RENEW_PATH, keepAliveReq(), keepAliveRes(), { ID: id }, deadline);
        return res && { id: toLeaseId(id), ttl: Number(res.TTL) };
      },
    );
  }

  /** TimeToLive is the leader's answer (only it keeps deadlines). */
  timeToLive(id: bigint, keys: boolean): Promise<TimeToLiveResult> {
    return this.leaderAnswer(
      async () => {
        await this.host.waitAppliedCommitted();
        // A new leader answers once its lessor is promoted (its term's first entry applied).
        return this.host.isLeader() && this.lessor.isPrimary ? this.localTimeToLive(toLeaseId(id), keys) : undefined;
      },
      async (leader, deadline) => {
        const res = await this.forward(leader, TIME_TO_LIVE_PATH, ttlReq(), ttlRes(), { ID: id, keys }, deadline);
        return res && { id: toLeaseId(id), ttl: Number(res.TTL), grantedTtl: Number(res.grantedTTL), keys: res.keys };
      },
    );
  }

  /**
   * The leader's answer within a request timeout: `local` on the leader, `remote`
   * (a forward) on a follower; either gives undefined when leadership is moving, and
   * the question is asked again once the leader changes (or after 200 ms).
   */
  private async leaderAnswer<T>(
    local: (deadline: number) => Promise<T | undefined>,
    remote: (leader: bigint, deadline: number) => Promise<T | undefined>,
  ): Promise<T> {
    const deadline = Date.now() + this.host.requestTimeoutMs;
    for (;;) {
      let answer: T | undefined;
      if (this.host.isLeader()) answer = await local(deadline);
      else if (this.host.leader() !== 0n) answer = await remote(this.host.leader(), deadline);
      if (answer !== undefined) return answer;
      if (Date.now() >= deadline) throw this.host.leader() === 0n ? ErrNoLeader() : ErrTimeout();
      await this.host.leaderChange(Math.min(200, deadline - Date.now()));
    }
  }

  // --- the peer service followers forward to ------------------------------------

  peerService(admit: <R>(call: grpc.ServerUnaryCall<unknown, R>, cb: grpc.sendUnaryData<R>, what: string) => bigint | undefined): [grpc.ServiceDefinition, grpc.UntypedServiceImplementation] {
    const def: grpc.ServiceDefinition = {
      Renew: unaryDef(RENEW_PATH, keepAliveReq(), keepAliveRes()),
      TimeToLive: unaryDef(TIME_TO_LIVE_PATH, ttlReq(), ttlRes()),
    };
    const notLeader = { code: Code.FAILED_PRECONDITION, details: 'etcdserver: not leader' } as grpc.ServiceError;
    const impl: grpc.UntypedServiceImplementation = {
      Renew: (call: grpc.ServerUnaryCall<pb.LeaseKeepAliveRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (admit(call, cb, 'lease renew') === undefined) return;
        if (!this.host.isLeader()) return cb(notLeader, null);
        const deadline = Date.now() + this.host.requestTimeoutMs;
        this.renewAsLeader(toLeaseId(call.request.ID), deadline).then(
          (r) => (r === undefined ? cb(notLeader, null) : cb(null, { ID: call.request.ID, TTL: BigInt(r.ttl) })),
          (err: Error) => cb({ code: Code.UNAVAILABLE, details: err.message } as grpc.ServiceError, null),
        );
      },
      TimeToLive: (call: grpc.ServerUnaryCall<pb.LeaseTimeToLiveRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (admit(call, cb, 'lease time-to-live') === undefined) return;
        if (!this.host.isLeader()) return cb(notLeader, null);
        this.host.waitAppliedCommitted().then(
          () => {
            // Not promoted yet (a new leader): the follower asks again.
            if (!this.host.isLeader() || !this.lessor.isPrimary) return cb(notLeader, null);
            let r: TimeToLiveResult;
            try {
              r = this.localTimeToLive(toLeaseId(call.request.ID), call.request.keys);
            } catch (err) {
              return cb({ code: Code.UNAVAILABLE, details: (err as Error).message } as grpc.ServiceError, null);
            }
            cb(null, { ID: call.request.ID, TTL: BigInt(r.ttl), grantedTTL: BigInt(r.grantedTtl), keys: r.keys });
          },
          (err: Error) => cb({ code: Code.UNAVAILABLE, details: err.message } as grpc.ServiceError, null),
        );
      },
    };
    return [def, impl];
  }

  // --- the leader's loop --------------------------------------------------------

  private tick(): void {
    if (!this.host.isLeader()) return;
    const lessor = this.lessor;
    if (!lessor.isPrimary) return;
    const room = Math.min(this.revokeLimiter.available(), MAX_REVOKES_IN_FLIGHT - this.revokesInFlight);
    if (room > 0) {
      const ids = lessor.expired(room);
      this.revokeLimiter.take(ids.length);
      for (const id of ids) {
        this.revokesInFlight++;
        this.host.logger.info({ lease: id.toString(16) }, 'lease expired; proposing revoke');
        this.revoke(id)
          .catch((err: Error) => {
            // Already gone (revoked meanwhile) is fine; anything else is retried by expired().
            if (!(err instanceof EtcdError && err.code === Code.NOT_FOUND)) {
              this.host.logger.warn({ lease: id.toString(16), err: err.message }, 'failed to revoke expired lease');
            }
          })
          .finally(() => this.revokesInFlight--);
      }
    }
    if (!this.checkpointInFlight) {
      const due = lessor.checkpointsDue(MAX_CHECKPOINTS_PER_ENTRY);
      if (due.length > 0) {
        this.checkpointInFlight = true;
        this.host
          .propose({ leaseCheckpoint: { checkpoints: due.map((c) => ({ ID: c.id, remainingTTL: BigInt(c.remainingTtl) })) } })
          .catch((err: Error) => this.host.logger.warn({ err: err.message, leases: due.length }, 'failed to checkpoint leases'))
          .finally(() => (this.checkpointInFlight = false));
      }
    }
  }

  /** undefined: not the leader (any more); the caller forwards or waits. */
  private async renewAsLeader(id: LeaseId, deadline: number): Promise<RenewResult | undefined> {
    // A renewal must see every grant and revoke committed before it (etcd waits the same way).
    await this.host.waitAppliedCommitted();
    for (;;) {
      if (!this.host.isLeader()) return undefined;
      const lessor = this.lessor;
      try {
        if (lessor.checkpointResetNeeded(id)) {
          // The lease's checkpointed remainder must be cleared in the log first, or a
          // new leader would count from that stale remainder and expire it early.
          await this.host.propose({ leaseCheckpoint: { checkpoints: [{ ID: id, remainingTTL: 0n }] } });
          continue;
        }
        return { id, ttl: lessor.renew(id) };
      } catch (err) {
        if (!(err instanceof LeaseError)) throw err;
        if (err.code === 'not-found') return { id, ttl: 0 };
        if (err.code === 'not-primary') return undefined;
        // Expired, its revoke on the way: answer once it is gone (TTL 0), as etcd does.
        if (Date.now() >= deadline) throw ErrTimeout();
        await new Promise((r) => setTimeout(r, 50));
        if (!lessor.has(id)) return { id, ttl: 0 };
      }
    }
  }

  private localTimeToLive(id: LeaseId, keys: boolean): TimeToLiveResult {
    try {
      const r = this.lessor.timeToLive(id, keys);
      return { id, ttl: r.ttl, grantedTtl: r.grantedTtl, keys: r.keys };
    } catch (err) {
      if (err instanceof LeaseError && err.code === 'not-found') return { id, ttl: -1, grantedTtl: 0, keys: [] };
      throw err;
    }
  }

  /** undefined when the leader said it is not the leader (any more) or could not be reached. */
  private async forward<Req, Res>(
    leader: bigint,
    path: string,
    reqCodec: { encode(r: Req): Buffer },
    resCodec: { decode(b: Uint8Array): Res },
    req: Req,
    deadline: number,
  ): Promise<Res | undefined> {
    try {
      return await this.host.callPeer(leader, path, (r: Req) => reqCodec.encode(r), (b) => resCodec.decode(b), req, Math.max(1, deadline - Date.now()));
    } catch (err) {
      this.host.logger.debug({ leader: leader.toString(16), path, err: (err as Error).message }, 'lease request to the leader failed; retrying');
      return undefined;
    }
  }
}

function unaryDef<Req, Res>(
  path: string,
  req: { encode(r: Req): Buffer; decode(b: Uint8Array): Req },
  res: { encode(r: Res): Buffer; decode(b: Uint8Array): Res },
): grpc.MethodDefinition<Req, Res> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: (r: Req) => req.encode(r),
    requestDeserialize: (b: Buffer) => req.decode(b),
    responseSerialize: (r: Res) => res.encode(r),
    responseDeserialize: (b: Buffer) => res.decode(b),
  };
}

/** Backend key prefix of lease records ('l': after the revision keys 'k…', before meta 'm…'). */
export const LEASE_PREFIX = LEASE_BUCKET;

/**
 * Binds the lessor to a store (at start-up and after a snapshot replaced the
 * store): puts check their lease against it, applied puts and deletes move keys
 * between leases, and its state is rebuilt from the store's lease records and the
 * lease field of every live key, as etcd recovers its lessor.
 */
export async function bindLessor(lessor: Lessor, store: MvccStore, logger: Logger): Promise<void> {
  store.setLeaseChecker((lease) => lessor.has(toLeaseId(lease)));
  store.onEvents((events) => {
    for (const ev of events) {
      if (ev.type === 'PUT') lessor.keyPut(ev.kv.key, toLeaseId(ev.kv.lease));
      else lessor.keyDeleted(ev.kv.key);
    }
  });
  const records = await store.backend.scanRaw(LEASE_PREFIX);
  const attached: [Uint8Array, LeaseId][] = [];
  if (records.length > 0) {
    const all = await store.range({
      key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), limit: 0, revision: 0, sortOrder: 0, sortTarget: 0,
      serializable: true, keysOnly: true, countOnly: false,
      minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0,
    });
    for (const kv of all.kvs) if (kv.lease !== 0n) attached.push([kv.key, toLeaseId(kv.lease)]);
  }
  const summary = lessor.restore(records, attached);
  if (summary.leases > 0 || summary.orphans.length > 0) {
    logger.info({ leases: summary.leases, attachedKeys: summary.attachedKeys }, 'restored leases');
  }
  for (const [key, id] of summary.orphans) {
    logger.warn({ key: Buffer.from(key).toString(), lease: id.toString(16) }, 'key attached to a lease that does not exist; left unattached');
  }
}
