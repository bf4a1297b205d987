// Member and cluster ids, computed as etcd computes them so that the same flags
// give the same ids on every member (and the same ids etcd itself would print).

import { createHash } from 'node:crypto';

function first64(data: Buffer): bigint {
  return createHash('sha1').update(data).digest().readBigUInt64BE(0);
}

/** sha1(sorted peer URLs ‖ cluster token), first 8 bytes, big-endian. */
export function memberIdFor(peerUrls: string[], clusterToken: string, nowUnixSeconds?: number): bigint {
  const parts = [...peerUrls].sort();
  let text = parts.join('') + clusterToken;
  if (nowUnixSeconds !== undefined) text += String(nowUnixSeconds);
  return first64(Buffer.from(text));
}

/** sha1 of the sorted member ids as big-endian uint64s, first 8 bytes. */
export function clusterIdFor(memberIds: bigint[]): bigint {
  const sorted = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const buf = Buffer.alloc(8 * sorted.length);
  sorted.forEach((id, i) => buf.writeBigUInt64BE(id, 8 * i));
  return first64(buf);
}

/** Member ids print as 16-digit hex in etcdctl tables and logs. */
export function idHex(id: bigint): string {
  return id.toString(16);
}
