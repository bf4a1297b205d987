// Cluster service: membership listing. Runtime membership changes come later.

import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { EtcdServer } from '../etcd-server.js';
import type * as pb from '../../pb/types.js';
import { unary } from './unary.js';

export function clusterService(server: EtcdServer, logger: Logger): grpc.UntypedServiceImplementation {
  return {
    MemberList: unary<pb.MemberListRequest, pb.Encodable<pb.MemberListResponse>>(logger, async (req) => {
      if (req.linearizable) await server.linearizableReadBarrier();
      return {
        // etcd's ClusterServer fills cluster id, member id and raft term only:
        // no revision in a MemberList header (`member list -w json` shows none).
        header: { ...server.header(), revision: 0n },
        members: server.members().map((m) => ({
          ID: m.id,
          name: m.name,
          peerURLs: m.peerURLs,
          clientURLs: m.clientURLs,
          isLearner: m.isLearner,
        })),
      };
    }),
  };
}
