// Cluster service: membership listing. Runtime membership changes come later
// (they plug into the ClusterApi port).

import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type * as pb from '../../pb/types.js';
import type { ClusterApi, HeaderSource } from './ports.js';
import { unary } from './unary.js';

export interface ClusterHandlers {
  MemberList(req: pb.MemberListRequest): Promise<pb.Encodable<pb.MemberListResponse>>;
}

/** Each Cluster RPC (the gRPC service and the JSON gateway share these). */
export function clusterHandlers(cluster: ClusterApi, info: HeaderSource): ClusterHandlers {
  return {
    MemberList: async (req) => {
      if (req.linearizable) await cluster.linearizableReadBarrier();
      return {
        // etcd's ClusterServer fills cluster id, member id and raft term only:
        // no revision in a MemberList header (`member list -w json` shows none).
        header: { ...info.header(), revision: 0n },
        members: cluster.members().map((m) => ({
          ID: m.id,
          name: m.name,
          peerURLs: m.peerURLs,
          clientURLs: m.clientURLs,
          isLearner: m.isLearner,
        })),
      };
    },
  };
}

export function clusterService(cluster: ClusterApi, info: HeaderSource, logger: Logger): grpc.UntypedServiceImplementation {
  const h = clusterHandlers(cluster, info);
  return {
    MemberList: unary<pb.MemberListRequest, pb.Encodable<pb.MemberListResponse>>(logger, (req) => h.MemberList(req)),
  };
}
