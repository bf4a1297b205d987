// What an etcd 3.4 normal entry's data is. etcd's applier tries
// etcdserverpb.InternalRaftRequest first and, when that does not unmarshal, takes
// the bytes as a v2 etcdserverpb.Request (3.4 still proposes those: a member
// publishing its name and client URLs, PUT /0/members/<id>/attributes, and the
// cluster version, PUT /0/version). Both messages share field 1 (ID); field 2 is
// the v2 Method string in a Request and the nested V2 Request in an
// InternalRaftRequest, which is how the two are told apart here: a field 2 that
// does not decode as a Request makes the whole entry a Request.

import { decodeInternalRequest } from '../../pb/internal.js';
import type { InternalRaftRequest } from '../../pb/types.js';
import { WireType } from '../../pb/wire.js';
import { WireReader } from '../../pb/wire-messages.js';

/** The v2 Request fields a v3 member's log can still carry. */
export interface V2Request {
  id: bigint;
  method: string;
  path: string;
  val: string;
}

export type EtcdPayload =
  | { kind: 'empty' }
  | { kind: 'v3'; request: InternalRaftRequest }
  | { kind: 'v2'; request: V2Request };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes a v2 Request strictly (throws on anything a Request cannot hold). */
export function decodeV2Request(b: Uint8Array): V2Request {
  const r = new WireReader(b);
  const req: V2Request = { id: 0n, method: '', path: '', val: '' };
  while (!r.done()) {
    const [f, wt] = r.tag();
    const str = (): string => {
      if (wt !== WireType.LEN) throw new Error(`v2 request: field ${f} has wire type ${wt}`);
      return utf8.decode(r.bytes());
    };
    if (f === 1) req.id = r.bigVarint();
    else if (f === 2) req.method = str();
    else if (f === 3) req.path = str();
    else if (f === 4) req.val = str();
    else if (f >= 5 && f <= 17) r.skip(wt);
    else throw new Error(`v2 request: unknown field ${f}`);
  }
  return req;
}

/** The nested field 2 of the entry, if it has one. */
function field2(b: Uint8Array): Uint8Array | undefined {
  const r = new WireReader(b);
  while (!r.done()) {
    const [f, wt] = r.tag();
    if (f === 2 && wt === WireType.LEN) return r.bytes();
    r.skip(wt);
  }
  return undefined;
}

export function classifyPayload(data: Uint8Array): EtcdPayload {
  if (data.length === 0) return { kind: 'empty' };
  let nested: Uint8Array | undefined;
  try {
    nested = field2(data);
  } catch {
    nested = undefined;
  }
  if (nested !== undefined) {
    // InternalRaftRequest.V2 holds a whole Request; a Request's Method is a short
    // word such as "PUT", which never decodes as one (its bytes are not valid tags).
    try {
      const inner = decodeV2Request(nested);
      if (inner.method !== '') return { kind: 'v2', request: inner };
    } catch {
      /* not a nested Request: the entry is a Request itself */
    }
    return { kind: 'v2', request: decodeV2Request(data) };
  }
  return { kind: 'v3', request: decodeInternalRequest(data) };
}
