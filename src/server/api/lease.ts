// Lease service: grant and revoke go through Raft; keep-alives and time-to-live
// are answered by the leader (forwarded from a follower, see ../lease/coordinator.ts);
// LeaseLeases is answered from this member's applied state. All of it behind the
// LeaseApi port.

import type { Logger } from 'pino';
import { type EtcdError, toEtcdError } from '../errors.js';
import type * as pb from '../../pb/types.js';
import type { ServiceImplementation, StreamCall } from '../grpc/types.js';
import type { AuthInfo } from '../../auth/index.js';
import { callerOf, OPEN_GATE } from './caller.js';
import type { AuthGate, HeaderSource, LeaseApi } from './ports.js';
import { unary } from './unary.js';

/** Renewals of one LeaseKeepAlive stream running at once (see LeaseKeepAlive). */
const MAX_RENEWALS_IN_FLIGHT = 64;

export interface LeaseHandlers {
  LeaseGrant(req: pb.LeaseGrantRequest): Promise<pb.LeaseGrantResponse>;
  /** With auth on, `who` needs WRITE on every key attached (checked when applied). */
  LeaseRevoke(req: pb.LeaseRevokeRequest, who?: AuthInfo): Promise<pb.LeaseRevokeResponse>;
  /** With auth on, `who` needs WRITE on every key attached (as for a revoke). */
  LeaseTimeToLive(req: pb.LeaseTimeToLiveRequest, who?: AuthInfo): Promise<pb.LeaseTimeToLiveResponse>;
  LeaseLeases(req: pb.LeaseLeasesRequest): Promise<pb.LeaseLeasesResponse>;
}

/** Each unary Lease RPC (the gRPC service and the JSON gateway share these). */
export function leaseHandlers(leases: LeaseApi, info: HeaderSource, gate: AuthGate = OPEN_GATE): LeaseHandlers {
  return {
    LeaseGrant: async (req) => {
      const r = await leases.grant(req.TTL, req.ID);
      return { header: info.header(), ID: r.id, TTL: BigInt(r.ttl), error: '' };
    },
    LeaseRevoke: async (req, who) => {
      await leases.revoke(req.ID, who);
      return { header: info.header() };
    },
    LeaseTimeToLive: async (req, who) => {
      gate.checkLeaseKeys(who, req.ID);
      const r = await leases.timeToLive(req.ID, req.keys);
      return {
        header: info.header(),
        ID: req.ID,
        TTL: BigInt(r.ttl),
        grantedTTL: BigInt(r.grantedTtl),
        keys: r.keys.map((k) => Buffer.from(k.buffer, k.byteOffset, k.byteLength)),
      };
    },
    LeaseLeases: async () => ({
      header: info.header(),
      leases: leases.leases().map((ID) => ({ ID })),
    }),
  };
}

export function leaseService(leases: LeaseApi, info: HeaderSource, logger: Logger, gate: AuthGate = OPEN_GATE): ServiceImplementation {
  const h = leaseHandlers(leases, info, gate);
  return {
    // A grant checks nothing (etcd 3.4), but a bad token still fails.
    LeaseGrant: unary<pb.LeaseGrantRequest, pb.LeaseGrantResponse>(logger, async (req, call) => (await callerOf(gate, call), h.LeaseGrant(req))),
    LeaseRevoke: unary<pb.LeaseRevokeRequest, pb.LeaseRevokeResponse>(logger, async (req, call) => h.LeaseRevoke(req, await callerOf(gate, call))),
    LeaseTimeToLive: unary<pb.LeaseTimeToLiveRequest, pb.LeaseTimeToLiveResponse>(logger, async (req, call) =>
      h.LeaseTimeToLive(req, await callerOf(gate, call)),
    ),
    LeaseLeases: unary<pb.LeaseLeasesRequest, pb.LeaseLeasesResponse>(logger, (req) => h.LeaseLeases(req)),
    LeaseKeepAlive: (call: StreamCall<pb.LeaseKeepAliveRequest, pb.Encodable<pb.LeaseKeepAliveResponse>>) => {
      // Answers go out in request order even though renewals may finish out of order.
      let chain: Promise<void> = Promise.resolve();
      let ended = false;
      const end = (err?: EtcdError): void => {
        if (ended) return;
        ended = true;
        if (err) call.fail({ code: err.code, details: err.message });
        else call.end();
      };
      // A client may send a burst (clientv3 renews every due lease in one tick): at
      // most this many requests are being renewed or answered at once per stream,
      // then reading pauses and HTTP/2 flow control holds the rest at the client.
      // Unbounded, a burst of thousands on a follower becomes thousands of
      // concurrent calls to the leader, which starve both members' Raft heartbeats.
      // (etcd answers one request of a stream at a time.) Answers respect the
      // stream's backpressure too: once write() reports a full buffer (a client
      // that does not read), nothing more is written until 'drain', and no more
      // requests are read, so what a stream holds stays bounded.
      let inFlight = 0;
      let paused = false;
      let drained: Promise<void> | undefined;
      const pauseOrResume = (): void => {
        const stop = inFlight >= MAX_RENEWALS_IN_FLIGHT || drained !== undefined;
        if (stop && !paused) {
          paused = true;
          call.pause();
        } else if (paused && !drained && inFlight <= MAX_RENEWALS_IN_FLIGHT / 2) {
          paused = false;
          call.resume();
        }
      };
      const answered = (): void => {
        inFlight--;
        pauseOrResume();
      };
      const waitDrain = (): Promise<void> =>
        (drained ??= new Promise<void>((resolve) => {
          const done = (): void => {
            call.off('drain', done);
            call.off('close', done);
            drained = undefined;
            resolve();
            pauseOrResume();
          };
          call.on('drain', done);
          call.on('close', done);
        }));
      call.on('data', (req: pb.LeaseKeepAliveRequest) => {
        const renewed = leases.renew(req.ID);
        renewed.catch(() => {}); // seen (and answered) in request order below
        inFlight++;
        pauseOrResume();
        chain = chain.then(async () => {
          try {
            if (ended) return;
            const r = await renewed;
            if (drained) await drained;
            if (ended) return;
            if (!call.write({ header: info.header(), ID: req.ID, TTL: BigInt(r.ttl) })) {
              void waitDrain();
              pauseOrResume();
            }
          } catch (err) {
            end(toEtcdError(err));
          } finally {
            answered();
          }
        });
      });
      call.on('end', () => void chain.then(() => end()));
      call.on('cancelled', () => (ended = true));
    },
  };
}
