// Cluster service: the member list and runtime membership changes (the
// ClusterApi port proposes them through Raft and answers once applied).

import type { Logger } from 'pino';
import type * as pb from '../../pb/types.js';
import type { ServiceImplementation } from '../grpc/types.js';
import type { ClusterApi, ClusterMember, HeaderSource } from './ports.js';
import { unary } from './unary.js';

export interface ClusterHandlers {
  MemberList(req: pb.MemberListRequest): Promise<pb.Encodable<pb.MemberListResponse>>;
  MemberAdd(req: pb.MemberAddRequest): Promise<pb.Encodable<pb.MemberAddResponse>>;
  MemberRemove(req: pb.MemberRemoveRequest): Promise<pb.Encodable<pb.MembersResponse>>;
  MemberUpdate(req: pb.MemberUpdateRequest): Promise<pb.Encodable<pb.MembersResponse>>;
  MemberPromote(req: pb.MemberPromoteRequest): Promise<pb.Encodable<pb.MembersResponse>>;
}

const toPb = (m: ClusterMember): pb.Member => ({
  ID: m.id,
  name: m.name,
  peerURLs: m.peerURLs,
  clientURLs: m.clientURLs,
  isLearner: m.isLearner,
});

/** Each Cluster RPC (the gRPC service and the JSON gateway share these). */
export function clusterHandlers(cluster: ClusterApi, info: HeaderSource): ClusterHandlers {
  // etcd's ClusterServer fills cluster id, member id and raft term only:
  // no revision in its headers (`member list -w json` shows none).
  const header = () => ({ ...info.header(), revision: 0n });
  return {
    MemberList: async (req) => {
      if (req.linearizable) await cluster.linearizableReadBarrier();
      return { header: header(), members: cluster.members().map(toPb) };
    },
    MemberAdd: async (req) => {
      const { member, members } = await cluster.memberAdd(req.peerURLs, req.isLearner);
      return { header: header(), member: toPb(member), members: members.map(toPb) };
    },
    MemberRemove: async (req) => ({ header: header(), members: (await cluster.memberRemove(req.ID)).map(toPb) }),
    MemberUpdate: async (req) => ({
      header: header(),
      members: (await cluster.memberUpdate(req.ID, req.peerURLs)).map(toPb),
    }),
    MemberPromote: async (req) => ({ header: header(), members: (await cluster.memberPromote(req.ID)).map(toPb) }),
  };
}

export function clusterService(cluster: ClusterApi, info: HeaderSource, logger: Logger): ServiceImplementation {
  const h = clusterHandlers(cluster, info);
  return {
    MemberList: unary<pb.MemberListRequest, pb.Encodable<pb.MemberListResponse>>(logger, (req) => h.MemberList(req)),
    MemberAdd: unary<pb.MemberAddRequest, pb.Encodable<pb.MemberAddResponse>>(logger, (req) => h.MemberAdd(req)),
    MemberRemove: unary<pb.MemberRemoveRequest, pb.Encodable<pb.MembersResponse>>(logger, (req) => h.MemberRemove(req)),
    MemberUpdate: unary<pb.MemberUpdateRequest, pb.Encodable<pb.MembersResponse>>(logger, (req) => h.MemberUpdate(req)),
    MemberPromote: unary<pb.MemberPromoteRequest, pb.Encodable<pb.MembersResponse>>(logger, (req) => h.MemberPromote(req)),
  };
}
