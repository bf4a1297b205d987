// Writes an etcd 3.4 backend file (what `etcdctl snapshot save` stores and
// `etcdctl snapshot restore` reads) from an EtcdImageSource: etcd's ten
// buckets, in etcd's encodings (etcd-buckets.ts), bulk-loaded by
// bbolt/writer.ts.
//
// Two ways out:
//   - writeEtcdSnapshotFile(path, src): one pass, pages written at their
//     offsets, the metas last, then fsync.
//   - prepareEtcdSnapshotStream(src): a counting pass first (the size must be
//     known before the first byte: Maintenance.Snapshot sends remaining_bytes),
//     then the bytes in file order. The source is read twice and must yield
//     the same data both times (a LevelDB snapshot does).
// Memory: a few pages per tree level plus one read batch of the source.

import { open } from 'node:fs/promises';
import { BboltBulkWriter, type BboltPlan, FIRST_DATA_PGID, metaPages } from './bbolt/writer.js';
import {
  AUTH_KEYS,
  BUCKET,
  be64,
  bytesOf,
  CLUSTER_VERSION_KEY,
  encodeAlarmMember,
  encodeMemberJson,
  type EtcdAlarm,
  type EtcdMember,
  leaseKey,
  memberKey,
  META_KEYS,
  REMOVED_MARK,
  revisionBytes,
} from './etcd-buckets.js';

/** One record of the key bucket as the writer takes it: the stored mvccpb.KeyValue bytes. */
export interface RevisionRecordBytes {
  revMain: number;
  revSub: number;
  tombstone: boolean;
  raw: Uint8Array;
}

/** A lease record: the stored leasepb.Lease bytes. */
export interface LeaseRecordBytes {
  id: bigint;
  raw: Uint8Array;
}

/** What goes into the file. The iterables are called once per pass and must yield in order. */
export interface EtcdImageSource {
  consistentIndex: number;
  /** 0: never scheduled (the key is left out, as etcd does). */
  scheduledCompactRev: number;
  /** 0: never compacted. */
  finishedCompactRev: number;
  /** In revision order. */
  revisions(): AsyncIterable<RevisionRecordBytes[]>;
  /** In id order (BE64 signed bytes: non-negative ids). */
  leases(): AsyncIterable<LeaseRecordBytes[]>;
  members: EtcdMember[];
  membersRemoved: bigint[];
  /** undefined: the cluster bucket stays empty. */
  clusterVersion: string | undefined;
  alarms: EtcdAlarm[];
  auth: {
    /** undefined: never enabled nor disabled (etcd writes the key on the first enable). */
    enabled: boolean | undefined;
    revision: number;
    /** authpb.User bytes by name. */
    users: { name: Uint8Array; raw: Uint8Array }[];
    roles: { name: Uint8Array; raw: Uint8Array }[];
  };
}

export const DEFAULT_PAGE_SIZE = 4096;

type Pair = [Uint8Array, Uint8Array];

const sorted = (pairs: Pair[]): Pair[] => pairs.sort((a, b) => Buffer.compare(a[0], b[0]));

/** Small buckets, built in memory: each is a handful of keys. */
function smallBuckets(src: EtcdImageSource): Map<string, Pair[]> {
  const meta: Pair[] = [[bytesOf(META_KEYS.consistentIndex), be64(src.consistentIndex)]];
  // etcd stores the compaction marks as revision bytes {main: rev, sub: 0}.
  if (src.scheduledCompactRev > 0) meta.push([bytesOf(META_KEYS.scheduledCompactRev), revisionBytes(src.scheduledCompactRev, 0, false)]);
  if (src.finishedCompactRev > 0) meta.push([bytesOf(META_KEYS.finishedCompactRev), revisionBytes(src.finishedCompactRev, 0, false)]);
  const auth: Pair[] = [[bytesOf(AUTH_KEYS.revision), be64(src.auth.revision)]];
  if (src.auth.enabled !== undefined) auth.push([bytesOf(AUTH_KEYS.enabled), Uint8Array.of(src.auth.enabled ? 1 : 0)]);
  return new Map<string, Pair[]>([
    [BUCKET.alarm, sorted(src.alarms.map((a) => [encodeAlarmMember(a), new Uint8Array(0)]))],
    [BUCKET.auth, sorted(auth)],
    [BUCKET.authRoles, sorted(src.auth.roles.map((r) => [r.name, r.raw]))],
    [BUCKET.authUsers, sorted(src.auth.users.map((u) => [u.name, u.raw]))],
    [BUCKET.cluster, src.clusterVersion === undefined ? [] : [[bytesOf(CLUSTER_VERSION_KEY), bytesOf(src.clusterVersion)]]],
    [BUCKET.members, sorted(src.members.map((m) => [memberKey(m.id), encodeMemberJson(m)]))],
    [BUCKET.membersRemoved, sorted(src.membersRemoved.map((id) => [memberKey(id), bytesOf(REMOVED_MARK)]))],
    [BUCKET.meta, sorted(meta)],
  ]);
}

/**
 * Feeds every bucket, in bbolt's name order, into a bulk writer and yields the
 * finished pages after each source batch (so a slow consumer holds the source
 * back: nothing piles up); returns the layout the metas must describe.
 */
async function* loadPages(src: EtcdImageSource, pageSize: number, countOnly = false): AsyncGenerator<Uint8Array[], BboltPlan, undefined> {
  let pending: Uint8Array[] = [];
  const w = new BboltBulkWriter(pageSize, countOnly ? null : (p) => pending.push(p));
  const take = (): Uint8Array[] => {
    const out = pending;
    pending = [];
    return out;
  };
  const small = smallBuckets(src);
  const names = [...Object.values(BUCKET)].sort((a, b) => Buffer.compare(bytesOf(a), bytesOf(b)));
  for (const name of names) {
    w.bucket(bytesOf(name));
    if (name === BUCKET.key) {
      for await (const batch of src.revisions()) {
        for (const r of batch) w.put(revisionBytes(r.revMain, r.revSub, r.tombstone), r.raw);
        yield take();
      }
    } else if (name === BUCKET.lease) {
      for await (const batch of src.leases()) {
        for (const l of batch) w.put(leaseKey(l.id), l.raw);
        yield take();
      }
    } else {
      for (const [k, v] of small.get(name)!) w.put(k, v);
    }
  }
  const plan = w.finish();
  yield take();
  return plan;
}

/** Runs loadPages to the end, handing each batch of pages to `each`. */
async function drive(src: EtcdImageSource, pageSize: number, each: ((pages: Uint8Array[]) => Promise<void> | void) | null): Promise<BboltPlan> {
  const gen = loadPages(src, pageSize, each === null);
  try {
    for (;;) {
      const r = await gen.next();
      if (r.done) return r.value;
      if (each) await each(r.value);
    }
  } finally {
    await gen.return(undefined as never);
  }
}

/** Writes the file at `path` (created or truncated) and fsyncs it; returns its layout. */
export async function writeEtcdSnapshotFile(path: string, src: EtcdImageSource, pageSize = DEFAULT_PAGE_SIZE): Promise<BboltPlan> {
  const fh = await open(path, 'w', 0o600);
  try {
    let offset = (FIRST_DATA_PGID - 1) * pageSize;
    const plan = await drive(src, pageSize, async (pages) => {
      for (const p of pages) {
        await fh.write(p, 0, p.length, offset);
        offset += p.length;
      }
    });
    await fh.write(metaPages(plan), 0, pageSize * 2, 0);
    await fh.sync();
    return plan;
  } finally {
    await fh.close();
  }
}

export interface EtcdSnapshotStream {
  /** Bytes the stream will yield (tx.Size() of the file). */
  size: number;
  plan: BboltPlan;
  /** The file's bytes in order, in pieces of whole pages. Run once. */
  bytes(): AsyncGenerator<Uint8Array, void, undefined>;
}

/**
 * Plans the file with a counting pass over `src`, then streams it with a
 * second pass. Throws if the second pass lays out differently (the source
 * changed between passes).
 */
export async function prepareEtcdSnapshotStream(src: EtcdImageSource, pageSize = DEFAULT_PAGE_SIZE): Promise<EtcdSnapshotStream> {
  const plan = await drive(src, pageSize, null);
  return {
    size: plan.pgid * pageSize,
    plan,
    async *bytes() {
      yield metaPages(plan);
      const gen = loadPages(src, pageSize);
      try {
        let r = await gen.next();
        while (!r.done) {
          yield* r.value;
          r = await gen.next();
        }
        if (r.value.pgid !== plan.pgid || r.value.rootPgid !== plan.rootPgid) {
          throw new Error(`etcd snapshot: the source changed between the planning and the writing pass (${plan.pgid} pages planned, ${r.value.pgid} written)`);
        }
      } finally {
        // A consumer that stops early (the client went away) ends the source's scan too.
        await gen.return(undefined as never);
      }
    },
  };
}
