// Maintenance service: Status, HashKV, Hash, Alarm, MoveLeader, Defragment and
// Snapshot (a server stream: snapshot-send.ts).

import type { Logger } from 'pino';
import { ETCD_API_VERSION } from '../../version.js';
import { alarmText } from '../alarms.js';
import type * as pb from '../../pb/types.js';
import type { ServiceImplementation } from '../grpc/types.js';
import type { AuthInfo } from '../../auth/index.js';
import { type CallWithMetadata, callerOf, OPEN_GATE, unconvertedAuthErrors } from './caller.js';
import type { ApiLimits, AuthGate, HeaderSource, MaintenanceApi } from './ports.js';
import { unary } from './unary.js';
import { sendSnapshot } from './snapshot-send.js';
import type { StreamCall } from '../grpc/types.js';
import { EtcdError, toEtcdError } from '../errors.js';

export interface MaintenanceHandlers {
  Status(req: pb.StatusRequest): Promise<pb.Encodable<pb.StatusResponse>>;
  /** HashKV, Hash and Defragment need the root role with auth on (etcd 3.4's authMaintenanceServer). */
  HashKV(req: pb.HashKVRequest, who?: AuthInfo): Promise<pb.Encodable<pb.HashKVResponse>>;
  Alarm(req: pb.AlarmRequest): Promise<pb.Encodable<pb.AlarmResponse>>;
  /** `deadline`: the call's deadline in epoch ms (Infinity: none). */
  MoveLeader(req: pb.MoveLeaderRequest, deadline: number): Promise<pb.Encodable<pb.DefragmentResponse>>;
  Defragment(req: Record<string, never>, who?: AuthInfo): Promise<pb.Encodable<pb.DefragmentResponse>>;
  Hash(req: pb.HashRequest, who?: AuthInfo): Promise<pb.Encodable<pb.HashResponse>>;
}

/** How long a MoveLeader without a deadline may wait (etcdctl always sends one: --command-timeout). */
const MOVE_LEADER_DEFAULT_MS = 5000;

/** Each Maintenance RPC built so far (the gRPC service and the JSON gateway share these). */
export function maintenanceHandlers(
  m: MaintenanceApi,
  info: HeaderSource,
  limits: Pick<ApiLimits, 'quotaBackendBytes'>,
  gate: AuthGate = OPEN_GATE,
): MaintenanceHandlers {
  return {
    Status: async () => {
      const st = await m.status();
      return {
        header: info.header(),
        version: ETCD_API_VERSION,
        dbSize: BigInt(st.dbSize),
        dbSizeInUse: BigInt(Math.min(st.dbSizeInUse ?? st.dbSize, st.dbSize)),
        leader: st.leader,
        raftIndex: BigInt(st.raftIndex),
        raftTerm: BigInt(st.raftTerm),
        raftAppliedIndex: BigInt(st.raftAppliedIndex),
        errors: m.alarms().map(alarmText),
        isLearner: st.isLearner,
        dbSizeQuota: BigInt(limits.quotaBackendBytes),
      };
    },
    HashKV: async (req, who) => {
      await unconvertedAuthErrors(() => gate.checkAdmin(who));
      const rev = Number(req.revision);
      const res = await m.hashKV(rev);
      return {
        header: info.header(),
        hash: res.hash,
        compactRevision: BigInt(res.compactRevision),
        hashRevision: BigInt(res.revision),
      };
    },
    Hash: async (_req, who) => {
      await unconvertedAuthErrors(() => gate.checkAdmin(who));
      const res = await m.hash();
      return { header: info.header(res.revision), hash: res.hash };
    },
    Alarm: async (req) => {
      const alarms = await m.alarm(req);
      // etcd 3.4 answers Alarm without a header (recorded: `alarm list -w json` prints {} with no alarm).
      return { header: undefined, alarms: alarms.map((a) => ({ memberID: a.memberID, alarm: a.alarm })) };
    },
    MoveLeader: async (req, deadline) => {
      await m.moveLeader(BigInt(req.targetID), Number.isFinite(deadline) ? deadline : Date.now() + MOVE_LEADER_DEFAULT_MS);
      // etcd 3.4 answers MoveLeader and Defragment without a header (recorded through its gateway: {}).
      return { header: undefined };
    },
    Defragment: async (_req, who) => {
      await unconvertedAuthErrors(() => gate.checkAdmin(who));
      await m.defragment();
      return { header: undefined };
    },
  };
}

export function maintenanceService(
  m: MaintenanceApi,
  info: HeaderSource,
  limits: Pick<ApiLimits, 'quotaBackendBytes'>,
  logger: Logger,
  gate: AuthGate = OPEN_GATE,
): ServiceImplementation {
  const h = maintenanceHandlers(m, info, limits, gate);
  const who = (call: CallWithMetadata) => unconvertedAuthErrors(() => callerOf(gate, call));
  return {
    Status: unary<pb.StatusRequest, pb.Encodable<pb.StatusResponse>>(logger, (req) => h.Status(req)),
    HashKV: unary<pb.HashKVRequest, pb.Encodable<pb.HashKVResponse>>(logger, async (req, call) => h.HashKV(req, await who(call))),
    Alarm: unary<pb.AlarmRequest, pb.Encodable<pb.AlarmResponse>>(logger, (req) => h.Alarm(req)),
    MoveLeader: unary<pb.MoveLeaderRequest, pb.Encodable<pb.DefragmentResponse>>(logger, (req, call) =>
      h.MoveLeader(req, call.getDeadline()),
    ),
    Defragment: unary<Record<string, never>, pb.Encodable<pb.DefragmentResponse>>(logger, async (req, call) => h.Defragment(req, await who(call))),
    Hash: unary<pb.HashRequest, pb.Encodable<pb.HashResponse>>(logger, async (req, call) => h.Hash(req, await who(call))),
    // etcd 3.4's authMaintenanceServer.Snapshot: root only when auth is on, the auth error unconverted.
    Snapshot: (call: StreamCall<Record<string, never>, pb.Encodable<pb.SnapshotResponse>>) => {
      void (async () => {
        try {
          const caller = await who(call);
          await unconvertedAuthErrors(() => gate.checkAdmin(caller));
          const snap = await m.snapshot();
          if (call.cancelled) return void (await snap.close());
          await sendSnapshot(call, snap, logger);
        } catch (err) {
          const e = toEtcdError(err);
          if (!(err instanceof EtcdError)) logger.error({ err }, 'snapshot failed');
          call.fail({ code: e.code, details: e.message });
        }
      })();
    },
  };
}
