// etcd 3.4's buckets and the encodings it stores in them (mvcc/kvstore.go,
// lease/lessor.go, etcdserver/api/membership/store.go, auth/store.go,
// etcdserver/api/v3alarm/alarms.go). Pure byte functions, shared by the reader
// (etcd-image.ts) and the writer (etcd-writer.ts).
//
//   key              revision bytes → mvccpb.KeyValue
//                    revision bytes: BE64 main · '_' · BE64 sub [· 't' for a tombstone]
//   meta             consistent_index → BE64; scheduledCompactRev and
//                    finishedCompactRev → revision bytes of {main: rev, sub: 0}
//   lease            BE64 lease id → leasepb.Lease
//   members          member id in hex → JSON {"id", "peerURLs", "isLearner"?, "name"?, "clientURLs"?}
//   members_removed  member id in hex → "removed"
//   cluster          "clusterVersion" → "3.4.0"
//   alarm            etcdserverpb.AlarmMember bytes → empty
//   auth             "authEnabled" → 1 byte (1 or 0); "authRevision" → BE64
//   authUsers        name → authpb.User;  authRoles: name → authpb.Role

import { type ByteCursor, readU32, readU64, skipField, varintSize, writeVarint } from '../pb/wire.js';

const enc = new TextEncoder();

export const BUCKET = {
  alarm: 'alarm',
  auth: 'auth',
  authRoles: 'authRoles',
  authUsers: 'authUsers',
  cluster: 'cluster',
  key: 'key',
  lease: 'lease',
  members: 'members',
  membersRemoved: 'members_removed',
  meta: 'meta',
} as const;

export const META_KEYS = {
  consistentIndex: 'consistent_index',
  scheduledCompactRev: 'scheduledCompactRev',
  finishedCompactRev: 'finishedCompactRev',
} as const;
export const AUTH_KEYS = { enabled: 'authEnabled', revision: 'authRevision' } as const;
export const CLUSTER_VERSION_KEY = 'clusterVersion';
export const REMOVED_MARK = 'removed';

export const bytesOf = (s: string): Uint8Array => enc.encode(s);

const TWO32 = 0x1_0000_0000;

function putBE64(b: Uint8Array, off: number, n: number): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  dv.setUint32(off, Math.floor(n / TWO32));
  dv.setUint32(off + 4, n >>> 0);
}

function getBE64(b: Uint8Array, off: number): number {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return dv.getUint32(off) * TWO32 + dv.getUint32(off + 4);
}

export interface Revision {
  main: number;
  sub: number;
  tombstone: boolean;
}

export const REV_BYTES_LEN = 17;
const TOMBSTONE = 0x74; // 't'

export function revisionBytes(main: number, sub: number, tombstone: boolean): Uint8Array {
  const b = new Uint8Array(tombstone ? REV_BYTES_LEN + 1 : REV_BYTES_LEN);
  putBE64(b, 0, main);
  b[8] = 0x5f; // '_'
  putBE64(b, 9, sub);
  if (tombstone) b[REV_BYTES_LEN] = TOMBSTONE;
  return b;
}

/** Parses a key-bucket key; undefined when it is not etcd's revision bytes. */
export function parseRevisionBytes(k: Uint8Array): Revision | undefined {
  if (k.length < REV_BYTES_LEN || k.length > REV_BYTES_LEN + 1 || k[8] !== 0x5f) return undefined;
  if (k.length === REV_BYTES_LEN + 1 && k[REV_BYTES_LEN] !== TOMBSTONE) return undefined;
  return { main: getBE64(k, 0), sub: getBE64(k, 9), tombstone: k.length === REV_BYTES_LEN + 1 };
}

export function be64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  putBE64(b, 0, n);
  return b;
}

/** A meta number: BE64 (consistent_index) or revision bytes (the compaction marks): the first 8 bytes either way. */
export function readMetaNumber(v: Uint8Array | undefined): number | undefined {
  if (v === undefined || v.length < 8) return undefined;
  return getBE64(v, 0);
}

export function leaseKey(id: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, id);
  return b;
}

export function leaseIdOfKey(k: Uint8Array): bigint | undefined {
  if (k.length !== 8) return undefined;
  return new DataView(k.buffer, k.byteOffset, 8).getBigInt64(0);
}

export interface EtcdMember {
  id: bigint;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

/** The members-bucket key: the id in lowercase hex (types.ID.String()). */
export const memberKey = (id: bigint): Uint8Array => bytesOf(BigInt.asUintN(64, id).toString(16));

export function memberIdOfKey(k: Uint8Array): bigint | undefined {
  const s = Buffer.from(k).toString('latin1');
  return /^[0-9a-f]{1,16}$/.test(s) ? BigInt('0x' + s) : undefined;
}

/** encoding/json of membership.Member, field order and omitempty as Go writes them. */
export function encodeMemberJson(m: EtcdMember): Uint8Array {
  let s = `{"id":${BigInt.asUintN(64, m.id).toString()},"peerURLs":${JSON.stringify(m.peerURLs)}`;
  if (m.isLearner) s += ',"isLearner":true';
  if (m.name) s += `,"name":${JSON.stringify(m.name)}`;
  if (m.clientURLs.length > 0) s += `,"clientURLs":${JSON.stringify(m.clientURLs)}`;
  return bytesOf(s + '}');
}

/** The id comes from the key: the JSON number may exceed 2^53. */
export function decodeMemberJson(id: bigint, v: Uint8Array): EtcdMember {
  const j = JSON.parse(Buffer.from(v).toString('utf8')) as { peerURLs?: string[]; isLearner?: boolean; name?: string; clientURLs?: string[] };
  return { id, name: j.name ?? '', peerURLs: j.peerURLs ?? [], clientURLs: j.clientURLs ?? [], isLearner: j.isLearner ?? false };
}

export interface EtcdAlarm {
  memberID: bigint;
  /** etcdserverpb.AlarmType: 1 NOSPACE, 2 CORRUPT. */
  alarm: number;
}

/** etcdserverpb.AlarmMember: field 1 memberID (uint64), field 2 alarm (enum); zeros omitted. */
export function encodeAlarmMember(a: EtcdAlarm): Uint8Array {
  const id = BigInt.asUintN(64, a.memberID);
  const out = new Uint8Array((id !== 0n ? 1 + varintSize(id) : 0) + (a.alarm !== 0 ? 1 + varintSize(a.alarm) : 0));
  let o = 0;
  if (id !== 0n) { out[o++] = 0x08; o = writeVarint(out, o, id); }
  if (a.alarm !== 0) { out[o++] = 0x10; writeVarint(out, o, a.alarm); }
  return out;
}

export function decodeAlarmMember(b: Uint8Array): EtcdAlarm {
  const a: EtcdAlarm = { memberID: 0n, alarm: 0 };
  const c: ByteCursor = { buf: b, pos: 0 };
  try {
    while (c.pos < b.length) {
      const tag = readU32(c);
      if (tag === 0x08) a.memberID = readU64(c);
      else if (tag === 0x10) a.alarm = readU32(c);
      else skipField(c, tag & 7);
    }
  } catch (err) {
    throw new Error(`etcd alarm bucket: corrupt AlarmMember (${(err as Error).message})`);
  }
  return a;
}
