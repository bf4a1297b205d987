// The leader's side of forwarded lease requests: the peer-port service
// (peer-protocol.ts) a follower's coordinator calls with keep-alives and
// time-to-live requests. A member that is not the leader (or not promoted yet)
// answers "not leader" and the follower asks again.

import type * as grpc from '@grpc/grpc-js';
import { monotonicClock, toLeaseId } from '../../lease/index.js';
import type * as pb from '../../pb/types.js';
import { Code } from '../errors.js';
import type { LeaseCoordinator } from './coordinator.js';
import type { LeaseHost } from './host.js';
import { peerLeaseServiceDefinition, RENEW_AGAIN, RENEW_NOT_LEADER } from './peer-protocol.js';

/** Checks a peer call or stream (the transport's admit); undefined: refused, and answered already. */
export type AdmitPeerCall = <R>(call: Pick<grpc.ServerUnaryCall<unknown, R>, 'metadata' | 'getPeer'>, cb: grpc.sendUnaryData<R>, what: string) => bigint | undefined;

export function leasePeerService(
  host: Pick<LeaseHost, 'isLeader' | 'requestTimeoutMs'>,
  leader: Pick<LeaseCoordinator, 'renewAsLeader' | 'timeToLiveAsLeader'>,
  admit: AdmitPeerCall,
): [grpc.ServiceDefinition, grpc.UntypedServiceImplementation] {
  const notLeader = { code: Code.FAILED_PRECONDITION, details: 'etcdserver: not leader' } as grpc.ServiceError;
  const unavailable = (err: Error) => ({ code: Code.UNAVAILABLE, details: err.message }) as grpc.ServiceError;
  /**
   * One RenewStream message: [sequence number, lease ids…] → [sequence number,
   * result per id…]. The renewals confirm the leadership together: concurrent
   * confirmations share one ReadIndex round.
   */
  const renewBatch = (msg: bigint[]): Promise<bigint[]> => {
    const out: bigint[] = new Array<bigint>(msg.length);
    out[0] = msg[0]!;
    if (!host.isLeader()) {
      out.fill(RENEW_NOT_LEADER, 1);
      return Promise.resolve(out);
    }
    const renewals: Promise<void>[] = [];
    // Deadline now: an expired lease whose revoke is pending answers RENEW_AGAIN at
    // once instead of holding up the batch; its follower asks again (coordinator.ts).
    const now = monotonicClock.now();
    for (let i = 1; i < msg.length; i++) {
      renewals.push(
        leader.renewAsLeader(toLeaseId(msg[i]!), now).then(
          (r) => void (out[i] = r === undefined ? RENEW_NOT_LEADER : BigInt(r.ttl)),
          () => void (out[i] = RENEW_AGAIN),
        ),
      );
    }
    return Promise.all(renewals).then(() => out);
  };
  const impl: grpc.UntypedServiceImplementation = {
    Renew: (call: grpc.ServerUnaryCall<pb.LeaseKeepAliveRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      if (admit(call, cb, 'lease renew') === undefined) return;
      if (!host.isLeader()) return cb(notLeader, null);
      const deadline = monotonicClock.now() + host.requestTimeoutMs;
      leader.renewAsLeader(toLeaseId(call.request.ID), deadline).then(
        (r) => (r === undefined ? cb(notLeader, null) : cb(null, { ID: call.request.ID, TTL: BigInt(r.ttl) })),
        (err: Error) => cb(unavailable(err), null),
      );
    },
    RenewStream: (call: grpc.ServerDuplexStream<bigint[], bigint[]>) => {
      // A refusal ends the stream with its status (grpc-js sends an emitted error as the status).
      if (admit(call, (err) => err && call.emit('error', err), 'lease renew stream') === undefined) return;
      call.on('data', (msg: bigint[]) => {
        if (msg.length === 0) return;
        void renewBatch(msg).then((answer) => call.write(answer));
      });
      call.on('end', () => call.end());
      call.on('error', () => {}); // the follower went away: nothing to answer
    },
    TimeToLive: (call: grpc.ServerUnaryCall<pb.LeaseTimeToLiveRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      if (admit(call, cb, 'lease time-to-live') === undefined) return;
      if (!host.isLeader()) return cb(notLeader, null);
      leader.timeToLiveAsLeader(toLeaseId(call.request.ID), call.request.keys).then(
        // Not the leader any more, or not promoted yet (a new leader): the follower asks again.
        (r) => (r === undefined
          ? cb(notLeader, null)
          : cb(null, { ID: call.request.ID, TTL: BigInt(r.ttl), grantedTTL: BigInt(r.grantedTtl), keys: r.keys })),
        (err: Error) => cb(unavailable(err), null),
      );
    },
  };
  return [peerLeaseServiceDefinition(), impl];
}
