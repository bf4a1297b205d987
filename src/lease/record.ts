// The stored form of a lease (proto/leasepb/lease.proto) and the storage
// interface the lessor writes through.
//
// Only id, TTL and the checkpointed remaining TTL are stored. Attached keys are
// not: every KeyValue carries its lease id, so at start-up the attachments are
// rebuilt from the live keys (as etcd does), and a lease and its keys can never
// disagree on disk.

import { WireReader, WireWriter } from '../pb/wire-messages.js';
import type { LeaseId } from './types.js';

export interface LeaseRecord {
  id: LeaseId;
  /** Granted TTL in seconds. */
  ttl: number;
  /** Remaining seconds at the last checkpoint; 0 = none. */
  remainingTtl: number;
}

/**
 * Where the lessor persists lease records. Calls are made on the apply path,
 * so they must land in the same backend batch as the entry's other effects
 * (and its consistent index): a revoke's record delete and its key deletes
 * commit together or not at all.
 */
export interface LeaseStorage {
  put(id: LeaseId, record: Uint8Array): void;
  delete(id: LeaseId): void;
}

/** Storage for tests and for a lessor whose state is not persisted. */
export const noStorage: LeaseStorage = { put: () => {}, delete: () => {} };

const FIELD_ID = 1;
const FIELD_TTL = 2;
const FIELD_REMAINING = 3;
const WIRE_VARINT = 0;

export function encodeLeaseRecord(r: LeaseRecord): Uint8Array {
  // int64 on the wire: the writer stores negatives as 10-byte two's complement.
  return new WireWriter(32)
    .int64(FIELD_ID, r.id)
    .int64(FIELD_TTL, r.ttl)
    .int64(FIELD_REMAINING, r.remainingTtl)
    .finish();
}

export function decodeLeaseRecord(b: Uint8Array): LeaseRecord {
  const rec: LeaseRecord = { id: 0n as LeaseId, ttl: 0, remainingTtl: 0 };
  const r = new WireReader(b);
  while (!r.done()) {
    const [field, wire] = r.tag();
    if (wire !== WIRE_VARINT || (field !== FIELD_ID && field !== FIELD_TTL && field !== FIELD_REMAINING)) {
      r.skip(wire);
      continue;
    }
    const v = r.int64();
    if (field === FIELD_ID) rec.id = v as LeaseId;
    else if (field === FIELD_TTL) rec.ttl = Number(v);
    else rec.remainingTtl = Number(v);
  }
  return rec;
}

/** Backend key of a lease: `prefix` + the id as 8 big-endian bytes (etcd's lease bucket key). */
export function leaseStorageKey(prefix: Uint8Array, id: LeaseId): Uint8Array {
  const key = new Uint8Array(prefix.length + 8);
  key.set(prefix);
  new DataView(key.buffer).setBigUint64(prefix.length, BigInt.asUintN(64, id));
  return key;
}

/** The id in a key made by leaseStorageKey; undefined if the key is not one. */
export function leaseIdFromStorageKey(prefix: Uint8Array, key: Uint8Array): LeaseId | undefined {
  if (key.length !== prefix.length + 8) return undefined;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return undefined;
  const v = new DataView(key.buffer, key.byteOffset, key.byteLength).getBigUint64(prefix.length);
  return BigInt.asIntN(64, v) as LeaseId;
}

/**
 * LeaseStorage over a backend's raw keys: `stage` is the MVCC backend's
 * stageRaw (value null deletes), which commits in the same LevelDB batch as
 * the consistent index.
 */
export function rawLeaseStorage(opts: {
  prefix: Uint8Array;
  stage: (key: Uint8Array, value: Uint8Array | null) => void;
}): LeaseStorage {
  const { prefix, stage } = opts;
  return {
    put: (id, record) => stage(leaseStorageKey(prefix, id), record),
    delete: (id) => stage(leaseStorageKey(prefix, id), null),
  };
}
