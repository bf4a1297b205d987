// The KV requests the recipes send, in the decoded shape RaftKV takes (every
// field present), so they read like clientv3's ops: OpGet with WithFirstCreate,
// Compare(CreateRevision(k), "=", rev) and so on.

import { CompareResult, CompareTarget, SortOrder, SortTarget } from '../../../pb/types.js';
import type * as pb from '../../../pb/types.js';

const EMPTY = Buffer.alloc(0);

/** clientv3's GetPrefixRangeEnd: the prefix with its last byte below 0xff incremented; "\0" (every key) when none is. */
export function prefixEnd(prefix: Uint8Array): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

export function rangeRequest(key: Uint8Array, opts: Partial<pb.RangeRequest> = {}): pb.RangeRequest {
  return {
    key: Buffer.from(key), rangeEnd: EMPTY, limit: 0n, revision: 0n, sortOrder: SortOrder.NONE, sortTarget: SortTarget.KEY,
    serializable: false, keysOnly: false, countOnly: false,
    minModRevision: 0n, maxModRevision: 0n, minCreateRevision: 0n, maxCreateRevision: 0n,
    ...opts,
  };
}

/** The oldest key under the prefix (clientv3's WithFirstCreate). */
export function firstCreated(prefix: Uint8Array): pb.RangeRequest {
  return rangeRequest(prefix, { rangeEnd: prefixEnd(prefix), sortTarget: SortTarget.CREATE, sortOrder: SortOrder.ASCEND, limit: 1n });
}

/** The newest key under the prefix created at or before `maxCreateRev` (WithLastCreate, WithMaxCreateRev). */
export function lastCreatedUpTo(prefix: Uint8Array, maxCreateRev: number): pb.RangeRequest {
  return rangeRequest(prefix, {
    rangeEnd: prefixEnd(prefix), sortTarget: SortTarget.CREATE, sortOrder: SortOrder.DESCEND, limit: 1n,
    maxCreateRevision: BigInt(maxCreateRev),
  });
}

export function putRequest(key: Uint8Array, value: Uint8Array, lease: bigint): pb.PutRequest {
  return { key: Buffer.from(key), value: Buffer.from(value), lease, prevKv: false, ignoreValue: false, ignoreLease: false };
}

export function deleteRequest(key: Uint8Array): pb.DeleteRangeRequest {
  return { key: Buffer.from(key), rangeEnd: EMPTY, prevKv: false };
}

/** Compare(CreateRevision(key), "=", rev): 0 means the key does not exist. */
export function createRevisionIs(key: Uint8Array, rev: number): pb.Compare {
  return { result: CompareResult.EQUAL, target: CompareTarget.CREATE, key: Buffer.from(key), rangeEnd: EMPTY, createRevision: BigInt(rev) };
}

export const op = {
  range: (r: pb.RangeRequest): pb.RequestOp => ({ requestRange: r }),
  put: (r: pb.PutRequest): pb.RequestOp => ({ requestPut: r }),
  delete: (r: pb.DeleteRangeRequest): pb.RequestOp => ({ requestDeleteRange: r }),
};

export function txnRequest(compare: pb.Compare[], success: pb.RequestOp[], failure: pb.RequestOp[] = []): pb.TxnRequest {
  return { compare, success, failure };
}
