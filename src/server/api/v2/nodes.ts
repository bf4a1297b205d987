// v3 key-values as v2 nodes: path and kind from the layout, indexes from the
// revisions, expiration and TTL from the key's lease (TTL keys are leases).

import type * as pb from '../../../pb/types.js';
import type { LeaseApi } from '../ports.js';
import type { V2Layout } from './layout.js';
import type { V2Node } from './node.js';

export interface Expiry {
  expiration: Date;
  /** Seconds left, rounded up as etcd's v2 store does. */
  ttl: number;
}

/** Looks up each lease once per request (a listing may show many keys of one lease). */
export class LeaseExpiries {
  private readonly memo = new Map<bigint, Promise<Expiry | undefined>>();

  constructor(
    private readonly lease: Pick<LeaseApi, 'timeToLive'>,
    private readonly now: () => number = Date.now,
  ) {}

  of(id: bigint): Promise<Expiry | undefined> {
    if (id === 0n) return Promise.resolve(undefined);
    let p = this.memo.get(id);
    if (!p) {
      p = this.lease.timeToLive(id, false).then(
        (r) => {
          if (r.ttl < 0) return undefined; // gone: its keys are being deleted
          // The lessor truncates the seconds left; etcd's v2 store rounds them up.
          const ttl = Math.min(r.ttl + 1, Math.max(r.grantedTtl, 1));
          return { expiration: new Date(this.now() + ttl * 1000), ttl };
        },
        () => undefined,
      );
      this.memo.set(id, p);
    }
    return p;
  }
}

/** A fresh TTL as a write answers it: the full TTL from now. */
export function freshExpiry(ttl: number, now: number = Date.now()): Expiry {
  return { expiration: new Date(now + ttl * 1000), ttl };
}

/** A key-value as the KV API (pb) or a watch (mvcc) carries it. */
export type KvLike = Pick<pb.KeyValue, 'lease'> & {
  key: Uint8Array;
  value: Uint8Array;
  createRevision: bigint | number;
  modRevision: bigint | number;
};

export const utf8 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');

export interface NodeOptions {
  /**
   * The lease of the node's parent directory: a node under a directory with a
   * TTL holds that lease so that it goes with the directory (as in the v2 store),
   * but has no TTL of its own to show.
   */
  parentLease?: bigint;
  /** false: do not look the lease up (the caller knows the TTL to show). */
  ownLease?: boolean;
}

export async function kvToNode(layout: V2Layout, kv: KvLike, expiries: LeaseExpiries, opts: NodeOptions = {}): Promise<V2Node> {
  const n = layout.nodeOf(utf8(kv.key));
  if (!n) throw new Error(`not a v2 key: ${utf8(kv.key)}`);
  const node: V2Node = {
    key: n.path,
    ...(n.dir ? { dir: true } : { value: utf8(kv.value) }),
    modifiedIndex: Number(kv.modRevision),
    createdIndex: Number(kv.createRevision),
  };
  const own = opts.ownLease !== false && kv.lease !== (opts.parentLease ?? 0n);
  const e = own ? await expiries.of(kv.lease) : undefined;
  if (e) {
    node.expiration = e.expiration;
    node.ttl = e.ttl;
  }
  return node;
}
