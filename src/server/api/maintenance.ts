// Maintenance service: the parts built so far (Status, HashKV, Alarm listing);
// the rest answers UNIMPLEMENTED until its issue lands.

import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ETCD_API_VERSION } from '../../version.js';
import { Code, EtcdError } from '../errors.js';
import type { EtcdServer } from '../etcd-server.js';
import type * as pb from '../../pb/types.js';
import { AlarmAction } from '../../pb/types.js';
import { unary } from './unary.js';

export function maintenanceService(server: EtcdServer, logger: Logger): grpc.UntypedServiceImplementation {
  return {
    Status: unary<pb.StatusRequest, pb.Encodable<pb.StatusResponse>>(logger, async () => {
      const st = await server.status();
      return {
        header: server.header(),
        version: ETCD_API_VERSION,
        dbSize: BigInt(st.dbSize),
        dbSizeInUse: BigInt(st.dbSize),
        leader: st.leader,
        raftIndex: BigInt(st.raftIndex),
        raftTerm: BigInt(st.raftTerm),
        raftAppliedIndex: BigInt(st.raftAppliedIndex),
        errors: [],
        isLearner: st.isLearner,
        dbSizeQuota: BigInt(server.cfg.quotaBackendBytes),
      };
    }),
    HashKV: unary<pb.HashKVRequest, pb.Encodable<pb.HashKVResponse>>(logger, async (req) => {
      const rev = Number(req.revision);
      const res = await server.store.hashKV(rev);
      return {
        header: server.header(),
        hash: res.hash,
        compactRevision: BigInt(res.compactRevision),
        hashRevision: BigInt(res.revision),
      };
    }),
    Alarm: unary<pb.AlarmRequest, pb.Encodable<pb.AlarmResponse>>(logger, async (req) => {
      if (req.action !== AlarmAction.GET) {
        throw new EtcdError(Code.UNIMPLEMENTED, 'etcd-ts: activating or deactivating alarms is not implemented yet');
      }
      // No alarm is ever raised yet (quota and corruption checks come with their issue).
      return { header: server.header(), alarms: [] };
    }),
  };
}
