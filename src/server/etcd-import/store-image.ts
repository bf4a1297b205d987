// An etcd backend (decoded by src/snapshot/etcd-image.ts) as an MVCC state image
// (src/mvcc/state-format.ts), which MvccStore.restoreState writes into a new
// LevelDB. Bucket by bucket (src/mvcc/keyspace.ts):
//   key       BE64 main '_' BE64 sub ['t']  →  'k' BE64 main BE64 sub ['t'], same KeyValue bytes
//   lease     BE64 id                       →  'l' BE64 id, same leasepb.Lease
//   authUsers / authRoles name              →  'u' / 'r' name, same authpb bytes
//   auth      authEnabled, authRevision     →  meta keys of the same names and encodings
//   meta      consistent_index (BE64), scheduled/finishedCompactRev (revision bytes)
//             →  meta keys, BE64 main revision
//   alarm     AlarmMember                   →  'a' BE64 member + type
// Members are not part of the store: they go to the Raft side (a snapshot's
// membership, or the conf changes of a new cluster). The key history is
// streamed from the file, so memory stays at about one chunk.

import { encodeLeaseRecord, type LeaseId } from '../../lease/index.js';
import { leaseStorageKey } from '../../lease/record.js';
import {
  LEASE_PREFIX,
  META_AUTH_ENABLED,
  META_AUTH_REVISION,
  META_CONSISTENT_INDEX,
  META_FINISHED_COMPACT,
  META_SCHEDULED_COMPACT,
} from '../../mvcc/keyspace.js';
import { revKey, u64Bytes } from '../../mvcc/revision.js';
import { ChunkWriter, encodeHeader, type ImageSummary } from '../../mvcc/state-format.js';
import { roleKey, userKey } from '../../auth/records.js';
import type { EtcdImage } from '../../snapshot/etcd-image.js';
import { alarmKey } from '../alarms.js';

const LEASE_KEY_PREFIX = new Uint8Array([LEASE_PREFIX]);

export interface StoreImageOptions {
  /** The consistent index the new store starts at (a restore: the new cluster's bootstrap entries). */
  consistentIndex: number;
  chunkBytes?: number;
}

/** What MvccStore derives at open from the pairs below (restoreState checks the two agree). */
export function importedSummary(image: EtcdImage, consistentIndex: number): ImageSummary {
  const scheduled = image.scheduledCompactRev;
  const finished = image.finishedCompactRev > 0 ? image.finishedCompactRev : -1;
  return {
    consistentIndex,
    currentRevision: Math.max(image.lastRevision, finished, scheduled, 1),
    compactRevision: scheduled > 0 && scheduled > finished ? scheduled : finished,
  };
}

/** The image's chunks: header, every pair, trailer with the pair count and CRC. */
export async function* etcdStoreImage(image: EtcdImage, opts: StoreImageOptions): AsyncGenerator<Uint8Array, void, undefined> {
  const w = new ChunkWriter(opts.chunkBytes ?? 256 << 10);
  let count = 0;
  const pair = (k: Uint8Array, v: Uint8Array): void => {
    w.writePair(k, v);
    count++;
  };
  w.write(encodeHeader(importedSummary(image, opts.consistentIndex)));
  pair(META_CONSISTENT_INDEX, u64Bytes(opts.consistentIndex));
  if (image.scheduledCompactRev > 0) pair(META_SCHEDULED_COMPACT, u64Bytes(image.scheduledCompactRev));
  if (image.finishedCompactRev > 0) pair(META_FINISHED_COMPACT, u64Bytes(image.finishedCompactRev));
  for (const l of image.leases) {
    pair(leaseStorageKey(LEASE_KEY_PREFIX, l.id as LeaseId), encodeLeaseRecord({ id: l.id as LeaseId, ttl: l.ttl, remainingTtl: l.remainingTTL }));
  }
  if (image.auth.enabled || image.auth.revision > 0 || image.auth.users.length > 0 || image.auth.roles.length > 0) {
    pair(META_AUTH_ENABLED, Uint8Array.of(image.auth.enabled ? 1 : 0));
    pair(META_AUTH_REVISION, u64Bytes(image.auth.revision));
  }
  for (const u of image.auth.users) pair(userKey(u.user.name), u.raw);
  for (const r of image.auth.roles) pair(roleKey(r.role.name), r.raw);
  // Kept as etcdctl's restore keeps the alarm bucket (an operator disarms them).
  for (const a of image.alarms) {
    const k = alarmKey({ memberID: a.memberID, alarm: a.alarm });
    pair(k, k.subarray(1));
  }
  yield* w.take();
  for await (const rec of image.revisions()) {
    pair(revKey(rec.revMain, rec.revSub, rec.tombstone), rec.raw);
    yield* w.take();
  }
  w.writeTrailer(count);
  yield* w.take();
  const rest = w.rest();
  if (rest !== undefined) yield rest;
}
