// Cluster service: the member list and runtime membership changes (the
// ClusterApi port proposes them through Raft and answers once applied).

import type { Logger } from 'pino';
import type * as pb from '../../pb/types.js';
import type { ServiceImplementation } from '../grpc/types.js';
import type { AuthInfo } from '../../auth/index.js';
import { callerOf, OPEN_GATE } from './caller.js';
import type { AuthGate, ClusterApi, ClusterMember, HeaderSource } from './ports.js';
import { unary } from './unary.js';

export interface ClusterHandlers {
  MemberList(req: pb.MemberListRequest): Promise<pb.Encodable<pb.MemberListResponse>>;
  /** Membership changes need the root role with auth on (etcd's checkMembershipOperationPermission). */
  MemberAdd(req: pb.MemberAddRequest, who?: AuthInfo): Promise<pb.Encodable<pb.MemberAddResponse>>;
  MemberRemove(req: pb.MemberRemoveRequest, who?: AuthInfo): Promise<pb.Encodable<pb.MembersResponse>>;
  MemberUpdate(req: pb.MemberUpdateRequest, who?: AuthInfo): Promise<pb.Encodable<pb.MembersResponse>>;
  MemberPromote(req: pb.MemberPromoteRequest, who?: AuthInfo): Promise<pb.Encodable<pb.MembersResponse>>;
}

const toPb = (m: ClusterMember): pb.Member => ({
  ID: m.id,
  name: m.name,
  peerURLs: m.peerURLs,
  clientURLs: m.clientURLs,
  isLearner: m.isLearner,
});

/** Each Cluster RPC (the gRPC service and the JSON gateway share these). */
export function clusterHandlers(cluster: ClusterApi, info: HeaderSource, gate: AuthGate = OPEN_GATE): ClusterHandlers {
  // etcd's ClusterServer fills cluster id, member id and raft term only:
  // no revision in its headers (`member list -w json` shows none).
  const header = () => ({ ...info.header(), revision: 0n });
  return {
    MemberList: async (req) => {
      if (req.linearizable) await cluster.linearizableReadBarrier();
      return { header: header(), members: cluster.members().map(toPb) };
    },
    MemberAdd: async (req, who) => {
      gate.checkAdmin(who);
      const { member, members } = await cluster.memberAdd(req.peerURLs, req.isLearner);
      return { header: header(), member: toPb(member), members: members.map(toPb) };
    },
    MemberRemove: async (req, who) => {
      gate.checkAdmin(who);
      return { header: header(), members: (await cluster.memberRemove(req.ID)).map(toPb) };
    },
    MemberUpdate: async (req, who) => {
      gate.checkAdmin(who);
      return { header: header(), members: (await cluster.memberUpdate(req.ID, req.peerURLs)).map(toPb) };
    },
    MemberPromote: async (req, who) => {
      gate.checkAdmin(who);
      return { header: header(), members: (await cluster.memberPromote(req.ID)).map(toPb) };
    },
  };
}

export function clusterService(cluster: ClusterApi, info: HeaderSource, logger: Logger, gate: AuthGate = OPEN_GATE): ServiceImplementation {
  const h = clusterHandlers(cluster, info, gate);
  return {
    MemberList: unary<pb.MemberListRequest, pb.Encodable<pb.MemberListResponse>>(logger, (req) => h.MemberList(req)),
    MemberAdd: unary<pb.MemberAddRequest, pb.Encodable<pb.MemberAddResponse>>(logger, async (req, call) => h.MemberAdd(req, await callerOf(gate, call))),
    MemberRemove: unary<pb.MemberRemoveRequest, pb.Encodable<pb.MembersResponse>>(logger, async (req, call) => h.MemberRemove(req, await callerOf(gate, call))),
    MemberUpdate: unary<pb.MemberUpdateRequest, pb.Encodable<pb.MembersResponse>>(logger, async (req, call) => h.MemberUpdate(req, await callerOf(gate, call))),
    MemberPromote: unary<pb.MemberPromoteRequest, pb.Encodable<pb.MembersResponse>>(logger, async (req, call) => h.MemberPromote(req, await callerOf(gate, call))),
  };
}
