// HashKV as etcd 3.4 computes it: CRC-32C over the bucket name "key", then every
// backend record (etcd-format revision key, then the mvccpb.KeyValue bytes) in
// revision order whose revision is in (compactRev, rev], plus the older records
// in the keep set. etcd 3.4.23's HashByRev takes that set at `rev`
// (kvindex.Keep(rev): each live key's latest revision), not at compactRev as 3.5
// does, so an older revision counts only while it is its key's latest; done
// the same way here, the hash of a store with a compaction equals 3.4.23's.
// Values are stored in etcd's byte layout and the key is rebuilt in etcd's
// format, so the result equals a real etcd's.
//
// Unlike etcd, older records are always filtered through the keep set (etcd
// skips the filter when the keep set is empty), so the hash never depends on
// how far a physical compaction has progressed.

import { crc32c } from '../util/crc32c.js';
import type { Backend } from './backend.js';
import { keepSet, type ReadGuard } from './compaction.js';
import { etcdRevBytes, parseRevKey, revKey } from './revision.js';
import type { TreeIndex } from './tree-index.js';

const KEY_BUCKET = new TextEncoder().encode('key');

export async function hashByRev(backend: Backend, index: TreeIndex, guard: ReadGuard, compactRev: number, rev: number): Promise<number> {
  // Synchronous with the caller's revision checks: the index still describes
  // the store at rev. etcd 3.4.23: kvindex.Keep(rev), see above.
  const keep = keepSet(index, rev);
  const ticket = guard.enter();
  try {
    await backend.flush();
    let h = crc32c(KEY_BUCKET);
    const lower = compactRev + 1;
    if (keep.size > 0) {
      const mains = [...keep.keys()].sort((a, b) => a - b);
      const keys: Uint8Array[] = [];
      const revs: [number, number][] = [];
      for (const m of mains) {
        if (m >= lower) continue;
        for (const s of keep.get(m)!.slice().sort((a, b) => a - b)) { keys.push(revKey(m, s)); revs.push([m, s]); }
      }
      const CHUNK = 4096;
      for (let i = 0; i < keys.length; i += CHUNK) {
        const vals = await backend.db.getMany(keys.slice(i, i + CHUNK));
        for (let j = 0; j < vals.length; j++) {
          const v = vals[j];
          if (v === undefined) continue;
          const [m, s] = revs[i + j]!;
          h = crc32c(etcdRevBytes(m, s, false), h);
          h = crc32c(v, h);
        }
      }
    }
    const it = backend.db.iterator({ gte: revKey(Math.max(lower, 0), 0), lt: revKey(rev + 1, 0) });
    try {
      for (;;) {
        const entries = await it.nextv(1000);
        if (entries.length === 0) break;
        for (const [k, v] of entries) {
          const r = parseRevKey(k);
          h = crc32c(etcdRevBytes(r.main, r.sub, r.tombstone), h);
          h = crc32c(v, h);
        }
      }
    } finally {
      await it.close();
    }
    return h >>> 0;
  } finally {
    guard.leave(ticket);
  }
}
