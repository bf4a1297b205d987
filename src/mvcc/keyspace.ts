// The backend keyspace: every key in member/db (LevelDB) begins with one byte
// naming its bucket (etcd's bbolt buckets, flattened into one ordered keyspace).
// This file is the only place that says which byte is which.
//
//   byte       bucket     key                                          value
//   'a' 0x61   alarms     'a' + BE64(member id) + alarm type (1 byte)     the same 9 bytes (src/server/alarms.ts)
//   'k' 0x6b   revisions  'k' + BE64(main) + BE64(sub) [+ 't' tombstone]  mvccpb.KeyValue (revision.ts, kv-codec.ts)
//   'l' 0x6c   leases     'l' + BE64(lease id)                           leasepb.Lease (src/lease/record.ts)
//   'm' 0x6d   meta       'm' + name (consistent_index, authEnabled, …)  BE64 numbers (authEnabled: 1 byte)
//   'r' 0x72   auth roles 'r' + role name                              authpb.Role (src/auth/records.ts)
//   'u' 0x75   auth users 'u' + user name                              authpb.User (src/auth/records.ts)
//
// What relies on the order (LevelDB compares keys bytewise):
//   - Within the revisions bucket, big-endian main then sub makes key order
//     revision order: compaction, index rebuild, hashing and event reads walk
//     revisions by iterating a key range.
//   - A bucket is exactly the range [byte, byte + 1): start-up rebuilds the index
//     from [REV_PREFIX, REVISIONS_END), state transfer finds the last revision by
//     reading that range backwards, and Backend.scanRaw(prefix) reads one bucket.
//     So no key of another bucket may begin with a bucket's byte, and a new bucket
//     (auth, members, alarms …) takes a new byte of its own here.
//   - The state image (state-transfer.ts) copies every key whatever its bucket,
//     so a new bucket travels in snapshots without changes there.

/**
 * Alarms: 'a'. The alarm list (NOSPACE, CORRUPT per member) is replicated state,
 * like etcd's `alarm` bucket: it must survive a restart (a member that was out of
 * space stays capped until an operator disarms it) and travel in store images, so
 * it lives in the backend, written in the batch of the entry that changed it.
 */
export const ALARM_PREFIX = 0x61;
/** Revisions: 'k'. */
export const REV_PREFIX = 0x6b;
/** Lease records: 'l'. */
export const LEASE_PREFIX = 0x6c;
/** Meta keys (consistent index, compaction marks): 'm'. */
export const META_PREFIX = 0x6d;

/**
 * Auth roles 'r' and users 'u' (etcd's authRoles / authUsers buckets): replicated
 * like the keys, written in the batch of the entry that changed them, so they
 * survive restarts and travel in store images. The enabled flag and the auth
 * revision are meta keys (META_AUTH_*).
 */
export const AUTH_ROLE_PREFIX = 0x72;
export const AUTH_USER_PREFIX = 0x75;

/** Every bucket, by name (tools, tests). */
export const BUCKETS = {
  alarm: ALARM_PREFIX,
  revisions: REV_PREFIX,
  lease: LEASE_PREFIX,
  meta: META_PREFIX,
  authRoles: AUTH_ROLE_PREFIX,
  authUsers: AUTH_USER_PREFIX,
} as const;

/** Exclusive upper bound of a bucket's keys: the first key of the next byte. */
export function bucketEnd(prefix: number): Uint8Array {
  return new Uint8Array([prefix + 1]);
}

/** Exclusive upper bound of the revision keys. */
export const REVISIONS_END: Uint8Array = bucketEnd(REV_PREFIX);

const enc = new TextEncoder();

/** A meta key: 'm' + name. */
export const metaKey = (name: string): Uint8Array => enc.encode(String.fromCharCode(META_PREFIX) + name);
export const META_CONSISTENT_INDEX = metaKey('consistent_index');
export const META_SCHEDULED_COMPACT = metaKey('scheduledCompactRev');
export const META_FINISHED_COMPACT = metaKey('finishedCompactRev');
/** Auth enabled flag (1 byte: 1 or 0) and auth revision (BE64), etcd's auth bucket keys. */
export const META_AUTH_ENABLED = metaKey('authEnabled');
export const META_AUTH_REVISION = metaKey('authRevision');
