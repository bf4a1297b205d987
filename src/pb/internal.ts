// Encoding of the Raft log payload (etcdserverpb.InternalRaftRequest, see
// proto/etcdserverpb/internal.proto). Same conventions as the API codecs.

import { lenFieldSize, tagSize, varintSize } from './wire.js';
import { WireWriter } from './wire-messages.js';
import { messageCodec } from './registry.js';
import type { Encodable, InternalRaftRequest } from './types.js';

const codec = () => messageCodec<InternalRaftRequest>('etcdserverpb.InternalRaftRequest');

export function encodeInternalRequest(r: Encodable<InternalRaftRequest>): Uint8Array {
  // Pooled memory is fine: the Raft log does not keep these bytes. Its own encoding
  // of the entry (raft/codec.ts encodeEntry, made before the entry is written or
  // sent) takes a copy, and the entry's data becomes a view into that.
  return codec().encode(r);
}

export function decodeInternalRequest(b: Uint8Array): InternalRaftRequest {
  return codec().decode(b);
}

/** The user (and auth revision checked against) a request is proposed for: RequestHeader.username / auth_revision. */
export interface RequestCaller {
  username: string;
  revision: number;
}

/** Field numbers of InternalRaftRequest (proto/etcdserverpb/internal.proto). */
export const INTERNAL_FIELD = { header: 100, put: 4, deleteRange: 5, txn: 6 } as const;

/**
 * An InternalRaftRequest holding a header with `id` and one request given as the
 * wire bytes it arrived in: it decodes exactly as what encodeInternalRequest would
 * write for the decoded request (fields in another order), without a second encode.
 */
export function encodeInternalRequestRaw(id: bigint, field: number, request: Uint8Array, caller?: RequestCaller): Uint8Array {
  // Sized exactly and written once, in pooled memory: the bytes live only until
  // the Raft log's own encoding of the entry replaces them (raft/codec.ts encodeEntry).
  // RequestHeader.username (2) and auth_revision (3): who the apply-time auth check is for.
  const username = caller ? Buffer.from(caller.username, 'utf8') : undefined;
  const header =
    (id === 0n ? 0 : tagSize(1) + varintSize(id)) +
    (username && username.length > 0 ? lenFieldSize(2, username.length) : 0) +
    (caller && caller.revision !== 0 ? tagSize(3) + varintSize(caller.revision) : 0);
  return WireWriter.exact(lenFieldSize(INTERNAL_FIELD.header, header) + lenFieldSize(field, request.length))
    .sizedMessage(INTERNAL_FIELD.header, header, (h) => {
      h.uint64(1, id);
      if (caller) h.bytes(2, username!).uint64(3, caller.revision);
    })
    .bytes(field, request, true)
    .finish();
}
