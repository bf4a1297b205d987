// The request side of leases: what the Lease API (api/lease.ts) calls.
//
// - Grant and revoke are proposals; the applier changes the lessor.
// - Keep-alive and time-to-live are the leader's answers (only it keeps
//   deadlines): on the leader from its lessor, on a follower forwarded to the
//   leader over the peer port (peer-protocol.ts, keep-alives in batches through
//   renew-forwarder.ts; the leader's side is peer-service.ts), asked again while
//   leadership moves, within a request timeout.

import {
  type Lessor, LeaseError, leaseIdFromRequestId, MAX_LEASE_TTL, monotonicClock, toLeaseId, type LeaseId,
} from '../../lease/index.js';
import { Code, ErrNoLeader, ErrTimeout, EtcdError } from '../errors.js';
import type { RequestCaller } from '../../pb/index.js';
import type { LeaseHost } from './host.js';
import { RENEW_AGAIN, TIME_TO_LIVE_PATH, ttlReq, ttlRes } from './peer-protocol.js';
import { RenewForwarder } from './renew-forwarder.js';

export const ErrLeaseTtlTooLarge = (): EtcdError => new EtcdError(Code.OUT_OF_RANGE, 'etcdserver: too large lease TTL');

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

/** How often a follower asks again about an expired lease whose revoke is pending (the leader's own wait, below). */
const EXPIRED_RETRY_MS = 50;

export class LeaseCoordinator {
  private readonly forwarder: RenewForwarder;

  constructor(
    private readonly host: LeaseHost,
    private lessorRef: () => Lessor,
  ) {
    this.forwarder = new RenewForwarder(host);
  }

  get lessor(): Lessor {
    return this.lessorRef();
  }

  /** `revision`: the store's revision when the grant applied (what etcd's response header carries). */
  async grant(ttl: bigint, id: bigint): Promise<{ id: LeaseId; ttl: number; revision: number }> {
    // etcd refuses a too-large TTL before proposing; the applier checks again.
    if (ttl > BigInt(MAX_LEASE_TTL)) throw ErrLeaseTtlTooLarge();
    let leaseId = id;
    while (leaseId === 0n) leaseId = leaseIdFromRequestId(this.host.nextRequestId());
    return (await this.host.propose({ leaseGrant: { TTL: ttl, ID: leaseId } })) as { id: LeaseId; ttl: number; revision: number };
  }

  /** The leases this member has applied (LeaseLeases answers from local state, as etcd does). */
  leases(): LeaseId[] {
    return this.lessor.leases();
  }

  /**
   * `caller` needs write permission on every key attached (checked when applied).
   * Resolves with the store's revision once the revoke (and its keys' deletion) applied.
   */
  async revoke(id: bigint, caller?: RequestCaller): Promise<{ revision: number }> {
    return (await this.host.propose({ leaseRevoke: { ID: id } }, caller)) as { revision: number };
  }

  /** One keep-alive: answered by the leader, forwarded there from a follower. */
  renew(id: bigint): Promise<RenewResult> {
    return this.leaderAnswer(
      (deadline) => this.renewAsLeader(toLeaseId(id), deadline),
      async (leader, deadline) => {
        for (;;) {
          const ttl = await this.forwarder.renew(leader, toLeaseId(id), deadline);
          if (ttl !== RENEW_AGAIN) return ttl === undefined ? undefined : { id: toLeaseId(id), ttl: Number(ttl) };
          if (monotonicClock.now() >= deadline) throw ErrTimeout();
          await sleep(EXPIRED_RETRY_MS);
        }
      },
    );
  }

  /** TimeToLive is the leader's answer (only it keeps deadlines). */
  timeToLive(id: bigint, keys: boolean): Promise<TimeToLiveResult> {
    return this.leaderAnswer(
      () => this.timeToLiveAsLeader(toLeaseId(id), keys),
      async (leader, deadline) => {
        const res = await this.forward(leader, TIME_TO_LIVE_PATH, ttlReq(), ttlRes(), { ID: id, keys }, deadline);
        return res && { id: toLeaseId(id), ttl: Number(res.TTL), grantedTtl: Number(res.grantedTTL), keys: res.keys };
      },
    );
  }

  // --- the leader's answers (also what peer-service.ts serves) ------------------

  /**
   * A renewal on the leader; `deadline` on the monotonic clock. undefined: not
   * the leader (any more); the caller forwards or waits.
   */
  async renewAsLeader(id: LeaseId, deadline: number): Promise<RenewResult | undefined> {
    // A leader cut off from the others keeps believing it leads until check-quorum
    // demotes it (up to two election timeouts), while the others elect a leader and
    // grant and revoke leases it never hears of: its lessor would answer for them
    // ("not found" for a lease granted since). So the leadership is confirmed by a
    // quorum first, which also brings every grant and revoke committed before the
    // call into the lessor (etcd's ensureLeadership and waitAppliedIndex, since
    // etcd-io/etcd#16822; 3.4.23 answers from the lessor at once). Found by the
    // simulation, seed 5047087. Under the leader lease the confirmation needs no
    // round trip (leadership-confirmation.ts, leader-lease.ts).
    try {
      await this.host.confirmLeadership();
    } catch {
      return undefined; // no quorum within the read timeout: not the leader to ask
    }
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
        if (monotonicClock.now() >= deadline) throw ErrTimeout();
        await sleep(EXPIRED_RETRY_MS);
        if (!lessor.has(id)) return { id, ttl: 0 };
      }
    }
  }

  /** TimeToLive on the leader; undefined: not the leader, or not promoted yet (a new leader). */
  async timeToLiveAsLeader(id: LeaseId, keys: boolean): Promise<TimeToLiveResult | undefined> {
    await this.host.waitAppliedCommitted();
    // A new leader answers once its lessor is promoted (its term's first entry applied).
    return this.host.isLeader() && this.lessor.isPrimary ? this.localTimeToLive(id, keys) : undefined;
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

  // --- leader or forward ---------------------------------------------------------

  /**
   * The leader's answer within a request timeout: `local` on the leader, `remote`
   * (a forward) on a follower; either gives undefined when leadership is moving, and
   * the question is asked again once the leader changes (or after 200 ms).
   * Deadlines are on the monotonic clock.
   */
  private async leaderAnswer<T>(
    local: (deadline: number) => Promise<T | undefined>,
    remote: (leader: bigint, deadline: number) => Promise<T | undefined>,
  ): Promise<T> {
    const deadline = monotonicClock.now() + this.host.requestTimeoutMs;
    for (;;) {
      let answer: T | undefined;
      if (this.host.isLeader()) answer = await local(deadline);
      else if (this.host.leader() !== 0n) answer = await remote(this.host.leader(), deadline);
      if (answer !== undefined) return answer;
      if (monotonicClock.now() >= deadline) throw this.host.leader() === 0n ? ErrNoLeader() : ErrTimeout();
      await this.host.leaderChange(Math.min(200, deadline - monotonicClock.now()));
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
      return await this.host.callPeer(leader, path, (r: Req) => reqCodec.encode(r), (b) => resCodec.decode(b), req, Math.max(1, deadline - monotonicClock.now()));
    } catch (err) {
      this.host.logger.debug({ leader: leader.toString(16), path, err: (err as Error).message }, 'lease request to the leader failed; retrying');
      return undefined;
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
