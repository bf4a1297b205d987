// Lease service: grant and revoke go through Raft; keep-alives and time-to-live
// are answered by the leader (forwarded from a follower, see ../lease/coordinator.ts);
// LeaseLeases is answered from this member's applied state. All of it behind the
// LeaseApi port.

import type { Logger } from 'pino';
import type * as pb from '../../pb/types.js';
import type { ServiceImplementation } from '../grpc/types.js';
import type { AuthInfo } from '../../auth/index.js';
import { callerOf, OPEN_GATE } from './caller.js';
import type { AuthGate, HeaderSource, LeaseApi } from './ports.js';
import { keepAliveHandler } from './lease-keepalive.js';
import { unary } from './unary.js';

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
      return { header: info.header(r.revision), ID: r.id, TTL: BigInt(r.ttl), error: '' };
    },
    LeaseRevoke: async (req, who) => {
      const r = await leases.revoke(req.ID, who);
      return { header: info.header(r ? r.revision : undefined) };
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
    LeaseKeepAlive: keepAliveHandler(leases, info),
  };
}
