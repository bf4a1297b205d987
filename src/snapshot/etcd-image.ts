// The decoded content of an etcd backend file (member/snap/db, or a snapshot
// `etcdctl snapshot save` wrote): what a restore needs, in etcd's terms.
//
// Everything but the key history is small and read at open. The key history
// (possibly gigabytes) is streamed: `revisions()` walks the `key` bucket anew on
// every call, in revision order (the bucket's key order), holding one page per
// tree level, so a consumer can write it out in batches with bounded memory.

import { BboltError, BboltFile, type BucketRef } from './bbolt/reader.js';
import {
  AUTH_KEYS,
  BUCKET,
  bytesOf,
  CLUSTER_VERSION_KEY,
  decodeAlarmMember,
  decodeMemberJson,
  type EtcdAlarm,
  type EtcdMember,
  leaseIdOfKey,
  memberIdOfKey,
  META_KEYS,
  parseRevisionBytes,
  readMetaNumber,
} from './etcd-buckets.js';
import { decodeKeyValue } from '../mvcc/kv-codec.js';
import type { KeyValue } from '../mvcc/types.js';
import { decodeLeaseRecord } from '../lease/record.js';
import { decodeRole, decodeUser } from '../auth/records.js';
import type { Role, User } from '../auth/types.js';

export type { EtcdAlarm, EtcdMember } from './etcd-buckets.js';

/** One record of the `key` bucket: a revision and what it wrote. */
export interface EtcdRevisionRecord {
  revMain: number;
  revSub: number;
  /** A delete: kv holds only the key (and mod revision), as etcd stores it. */
  tombstone: boolean;
  kv: KeyValue;
  /** The stored mvccpb.KeyValue bytes, unchanged (our LevelDB keeps the same encoding). */
  raw: Uint8Array;
}

export interface EtcdLease {
  id: bigint;
  ttl: number;
  /** Checkpointed remaining TTL in seconds; 0 = none. */
  remainingTTL: number;
}

export interface EtcdAuthUser {
  user: User;
  /** The stored authpb.User bytes. */
  raw: Uint8Array;
}

export interface EtcdAuthRole {
  role: Role;
  /** The stored authpb.Role bytes. */
  raw: Uint8Array;
}

export interface EtcdAuth {
  enabled: boolean;
  revision: number;
  users: EtcdAuthUser[];
  roles: EtcdAuthRole[];
}

export interface EtcdImage {
  /** The file's bbolt page size and tx.Size() (what `snapshot status` calls total size). */
  pageSize: number;
  size: number;
  /** meta/consistent_index; 0 when absent. */
  consistentIndex: number;
  /** meta/scheduledCompactRev; 0 when never scheduled. */
  scheduledCompactRev: number;
  /** meta/finishedCompactRev; 0 when never compacted. */
  finishedCompactRev: number;
  leases: EtcdLease[];
  members: EtcdMember[];
  membersRemoved: bigint[];
  /** cluster/clusterVersion ("3.4.0"), undefined when absent. */
  clusterVersion: string | undefined;
  alarms: EtcdAlarm[];
  auth: EtcdAuth;
  /** The highest main revision in the key bucket (0 when empty). */
  lastRevision: number;
  /** Streams the key bucket in revision order (a fresh walk per call). */
  revisions(): AsyncGenerator<EtcdRevisionRecord, void, undefined>;
  close(): Promise<void>;
}

/** The content is not what etcd writes (a bucket missing is not an error: etcd creates them lazily). */
export class EtcdImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EtcdImageError';
  }
}

async function collect(db: BboltFile, ref: BucketRef | undefined): Promise<[Uint8Array, Uint8Array][]> {
  const out: [Uint8Array, Uint8Array][] = [];
  if (!ref) return out;
  for await (const e of db.entries(ref)) if (!e.isBucket) out.push([e.key, e.value]);
  return out;
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

function lookup(pairs: [Uint8Array, Uint8Array][], name: string): Uint8Array | undefined {
  const k = bytesOf(name);
  return pairs.find(([key]) => Buffer.compare(key, k) === 0)?.[1];
}

function decodeRecord(key: Uint8Array, value: Uint8Array): EtcdRevisionRecord {
  const rev = parseRevisionBytes(key);
  if (!rev) throw new EtcdImageError(`key bucket: key ${Buffer.from(key).toString('hex')} is not a revision`);
  let kv: KeyValue;
  try {
    kv = decodeKeyValue(value);
  } catch (err) {
    throw new EtcdImageError(`key bucket: revision ${rev.main}_${rev.sub}: ${(err as Error).message}`);
  }
  return { revMain: rev.main, revSub: rev.sub, tombstone: rev.tombstone, kv, raw: value };
}

async function lastRevision(db: BboltFile, ref: BucketRef | undefined): Promise<number> {
  const k = ref ? await db.lastKey(ref) : undefined;
  return k ? (parseRevisionBytes(k)?.main ?? 0) : 0;
}

/**
 * Opens an etcd backend file and decodes everything but the key history.
 * Throws BboltError (bbolt's texts) for a file bbolt would refuse, and
 * EtcdImageError for bbolt content that is not etcd's.
 */
export async function readEtcdImage(path: string): Promise<EtcdImage> {
  const db = await BboltFile.open(path);
  try {
    const bucket = (name: string) => db.bucket(name);
    const meta = await collect(db, await bucket(BUCKET.meta));
    const leases: EtcdLease[] = [];
    for (const [k, v] of await collect(db, await bucket(BUCKET.lease))) {
      const id = leaseIdOfKey(k);
      if (id === undefined) throw new EtcdImageError(`lease bucket: key of ${k.length} bytes`);
      const r = decodeLeaseRecord(v);
      leases.push({ id: r.id, ttl: r.ttl, remainingTTL: r.remainingTtl });
    }
    const members: EtcdMember[] = [];
    for (const [k, v] of await collect(db, await bucket(BUCKET.members))) {
      const id = memberIdOfKey(k);
      if (id === undefined) throw new EtcdImageError(`members bucket: key ${JSON.stringify(text(k))} is not a member id`);
      members.push(decodeMemberJson(id, v));
    }
    const membersRemoved: bigint[] = [];
    for (const [k] of await collect(db, await bucket(BUCKET.membersRemoved))) {
      const id = memberIdOfKey(k);
      if (id !== undefined) membersRemoved.push(id);
    }
    const cluster = await collect(db, await bucket(BUCKET.cluster));
    const cv = lookup(cluster, CLUSTER_VERSION_KEY);
    const alarms = (await collect(db, await bucket(BUCKET.alarm))).map(([k]) => decodeAlarmMember(k));
    const authPairs = await collect(db, await bucket(BUCKET.auth));
    const enabled = lookup(authPairs, AUTH_KEYS.enabled);
    const users = (await collect(db, await bucket(BUCKET.authUsers))).map(([, v]) => ({ user: decodeUser(v), raw: v }));
    const roles = (await collect(db, await bucket(BUCKET.authRoles))).map(([, v]) => ({ role: decodeRole(v), raw: v }));
    const keyRef = await bucket(BUCKET.key);
    return {
      pageSize: db.pageSize,
      size: db.size,
      consistentIndex: readMetaNumber(lookup(meta, META_KEYS.consistentIndex)) ?? 0,
      scheduledCompactRev: readMetaNumber(lookup(meta, META_KEYS.scheduledCompactRev)) ?? 0,
      finishedCompactRev: readMetaNumber(lookup(meta, META_KEYS.finishedCompactRev)) ?? 0,
      leases,
      members,
      membersRemoved,
      clusterVersion: cv ? text(cv) : undefined,
      alarms,
      auth: { enabled: enabled !== undefined && enabled.length > 0 && enabled[0] === 1, revision: readMetaNumber(lookup(authPairs, AUTH_KEYS.revision)) ?? 0, users, roles },
      lastRevision: await lastRevision(db, keyRef),
      async *revisions() {
        if (!keyRef) return;
        for await (const e of db.entries(keyRef)) {
          if (e.isBucket) throw new EtcdImageError('key bucket: holds a nested bucket');
          yield decodeRecord(e.key, e.value);
        }
      },
      close: () => db.close(),
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}

export { BboltError };
