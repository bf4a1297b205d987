// Alarm requests (GET, ACTIVATE, DEACTIVATE), and what an active alarm does to
// the requests applied after it, as etcd's appliers do (server/etcdserver/apply.go):
// - NOSPACE (applierV3Capped): a Put, a Txn with a put in it, a LeaseGrant fail
//   with "etcdserver: mvcc: database space exceeded"; deletes, compaction, lease
//   revokes and reads still work, so an operator can free space.
// - CORRUPT (applierV3Corrupt): every KV and lease write fails with
//   "etcdserver: corrupt cluster".
// The alarm list is replicated, so every member refuses alike: a deterministic answer.

import { type InternalRaftRequest, AlarmAction, AlarmType, type TxnRequest } from '../../pb/types.js';
import type { AlarmStore } from '../alarms.js';
import { Code, EtcdError, ErrNoSpace } from '../errors.js';
import type { RequestHandler } from './handler.js';

export const ErrCorrupt = (): EtcdError => new EtcdError(Code.DATA_LOSS, 'etcdserver: corrupt cluster');

export function alarmHandler(req: InternalRaftRequest, alarms: AlarmStore): RequestHandler | undefined {
  const ar = req.alarm;
  if (!ar) return undefined;
  return {
    name: 'alarm',
    run: ({ store }, index) => {
      const stage = (k: Uint8Array, v: Uint8Array | null): void => store.backend.stageRaw(k, v);
      const out = [];
      const a = { memberID: ar.memberID, alarm: ar.alarm };
      switch (ar.action) {
        case AlarmAction.GET:
          out.push(...alarms.get(ar.alarm));
          break;
        case AlarmAction.ACTIVATE: {
          const m = alarms.activate(a, stage);
          if (m) out.push(m);
          break;
        }
        case AlarmAction.DEACTIVATE: {
          const m = alarms.deactivate(a, stage);
          if (m) out.push(m);
          break;
        }
        default:
          break;
      }
      store.setConsistentIndex(index); // same batch as the alarm record
      return out;
    },
  };
}

/** A Txn adds data when either branch (or a nested txn) holds a put (etcd: quota cost > 0). */
export function txnHasPut(t: TxnRequest): boolean {
  for (const op of [...t.success, ...t.failure]) {
    if (op.requestPut) return true;
    if (op.requestTxn && txnHasPut(op.requestTxn)) return true;
  }
  return false;
}

/** The refusal an active alarm gives request `req` at apply time, if any. */
export function alarmRefusal(req: InternalRaftRequest, alarms: AlarmStore): EtcdError | undefined {
  if (alarms.has(AlarmType.CORRUPT)) {
    if (req.put || req.deleteRange || req.txn || req.compaction || req.leaseGrant || req.leaseRevoke) return ErrCorrupt();
  }
  if (alarms.has(AlarmType.NOSPACE)) {
    if (req.put || req.leaseGrant || (req.txn && txnHasPut(req.txn))) return ErrNoSpace();
  }
  return undefined;
}
