// Lease service: grant and revoke go through Raft; keep-alives and time-to-live
// are answered by the leader (forwarded from a follower, see ../leases.ts);
// LeaseLeases is answered from this member's applied state.

import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { toEtcdError } from '../errors.js';
import type { EtcdServer } from '../etcd-server.js';
import type * as pb from './codec/types.js';
import { unary } from './unary.js';

export function leaseService(server: EtcdServer, logger: Logger): grpc.UntypedServiceImplementation {
  const leases = server.leases;
  return {
    LeaseGrant: unary<pb.LeaseGrantRequest, pb.LeaseGrantResponse>(logger, async (req) => {
      const r = await leases.grant(req.TTL, req.ID);
      return { header: server.header(), ID: r.id, TTL: BigInt(r.ttl), error: '' };
    }),
    LeaseRevoke: unary<pb.LeaseRevokeRequest, pb.LeaseRevokeResponse>(logger, async (req) => {
      await leases.revoke(req.ID);
      return { header: server.header() };
    }),
    LeaseTimeToLive: unary<pb.LeaseTimeToLiveRequest, pb.LeaseTimeToLiveResponse>(logger, async (req) => {
      const r = await leases.timeToLive(req.ID, req.keys);
      return {
        header: server.header(),
        ID: req.ID,
        TTL: BigInt(r.ttl),
        grantedTTL: BigInt(r.grantedTtl),
        keys: r.keys.map((k) => Buffer.from(k.buffer, k.byteOffset, k.byteLength)),
      };
    }),
    LeaseLeases: unary<pb.LeaseLeasesRequest, pb.LeaseLeasesResponse>(logger, async () => ({
      header: server.header(),
      leases: leases.lessor.leases().map((ID) => ({ ID })),
    })),
    LeaseKeepAlive: (call: grpc.ServerDuplexStream<pb.LeaseKeepAliveRequest, pb.LeaseKeepAliveResponse>) => {
      // Answers go out in request order even though renewals may finish out of order.
      let chain: Promise<void> = Promise.resolve();
      let ended = false;
      const end = (err?: grpc.ServiceError): void => {
        if (ended) return;
        ended = true;
        if (err) call.destroy(err as Error);
        else call.end();
      };
      call.on('data', (req: pb.LeaseKeepAliveRequest) => {
        const renewed = leases.renew(req.ID);
        chain = chain.then(async () => {
          if (ended) return;
          try {
            const r = await renewed;
            if (!ended) call.write({ header: server.header(), ID: req.ID, TTL: BigInt(r.ttl) });
          } catch (err) {
            const e = toEtcdError(err);
            end({ code: e.code, details: e.message, message: e.message, name: 'Error' } as grpc.ServiceError);
          }
        });
        // A renewal that fails is reported through the chain above.
        renewed.catch(() => {});
      });
      call.on('end', () => void chain.then(() => end()));
      call.on('error', () => (ended = true));
      call.on('cancelled', () => (ended = true));
    },
  };
}
