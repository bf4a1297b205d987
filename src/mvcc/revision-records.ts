// The stored form of revisions: one LevelDB record per revision, keyed by the
// revision (revision.ts) and holding the KeyValue as etcd's mvccpb encodes it
// (kv-codec.ts); a deletion is a tombstone record holding only the key.

import { encodedLeaseBytes, encodedSize, encodeInto } from './kv-codec.js';
import { revKeyInto, REV_KEY_LEN } from './revision.js';
import type { StagedBatch } from './db.js';
import type { KeyValue } from './types.js';

/** A stored revision: tombstones are KeyValues with createRevision 0 (as in etcd's events). */
export const isTombstoneKv = (kv: KeyValue): boolean => kv.createRevision === 0;

const EMPTY = new Uint8Array(0);

// Encodes the records of the given revisions into one slab and puts them into
// `batch` (which copies them): one allocation per call instead of two per record
// keeps the garbage collector out of the write path.
export function encodeRevisions(overlay: Map<number, KeyValue[]>, mains: number[], batch: Pick<StagedBatch, 'put'>): void {
  let size = 0;
  const leases: (Uint8Array | undefined)[] = [];
  for (const main of mains) {
    for (const kv of overlay.get(main)!) {
      const lb = isTombstoneKv(kv) ? undefined : encodedLeaseBytes(kv);
      leases.push(lb);
      size += REV_KEY_LEN + 1 + (isTombstoneKv(kv) ? encodedSize(tombRecord(kv), undefined) : encodedSize(kv, lb));
    }
  }
  const slab = new Uint8Array(size);
  let o = 0, li = 0;
  for (const main of mains) {
    const kvs = overlay.get(main)!;
    for (let sub = 0; sub < kvs.length; sub++) {
      const kv = kvs[sub]!;
      const tomb = isTombstoneKv(kv);
      const kl = revKeyInto(slab, o, main, sub, tomb);
      const key = slab.subarray(o, o + kl);
      o += kl;
      // etcd stores a tombstone as a KeyValue holding only the key.
      const end = encodeInto(tomb ? tombRecord(kv) : kv, leases[li++], slab, o);
      batch.put(key, slab.subarray(o, end));
      o = end;
    }
  }
}

const tombRecord = (kv: KeyValue): KeyValue => ({ key: kv.key, createRevision: 0, modRevision: 0, version: 0, value: EMPTY, lease: 0n });

