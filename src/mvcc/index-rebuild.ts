// At start-up the key index is rebuilt from the stored revisions: one ordered
// scan of every revision record, replaying each key's puts and tombstones into
// its generations. Compaction leaves a key's history partial, so its first
// surviving record starts the key (KeyIndex.restore), and a tombstone kept alone
// by a compaction at its revision is indexed too, so that compaction, resumed
// after a crash, keeps it again.

import type { KvDb } from './db.js';
import { REVISIONS_END } from './keyspace.js';
import { decodeKeyValue } from './kv-codec.js';
import { toSkey } from './keys.js';
import { parseRevKey, revKey } from './revision.js';
import type { TreeIndex } from './tree-index.js';

/** Fills `index` from the revision records in `db`; returns the highest main revision stored (1 if none). */
export async function rebuildKeyIndex(db: KvDb, index: TreeIndex): Promise<number> {
  let maxMain = 1;
  const it = db.iterator({ gte: revKey(0, 0), lt: REVISIONS_END });
  try {
    for (;;) {
      const entries = await it.nextv(10_000);
      if (entries.length === 0) break;
      for (const [k, v] of entries) {
        const r = parseRevKey(k);
        maxMain = r.main;
        const kv = decodeKeyValue(v);
        const skey = toSkey(kv.key);
        const ki = index.get(skey);
        if (ki !== undefined) {
          if (r.tombstone) ki.tombstone(r.main, r.sub);
          else ki.put(r.main, r.sub);
        } else if (!r.tombstone) {
          // First surviving record of a key: earlier history may be compacted away.
          index.getOrCreate(skey).restore(kv.createRevision, r.main, r.sub, kv.version);
        } else {
          // A tombstone alone: a compaction at its revision kept it (KeyIndex.compact).
          // Indexed, so that compaction, resumed after a crash, keeps it again.
          index.getOrCreate(skey).restoreTombstone(r.main, r.sub);
        }
      }
    }
  } finally {
    await it.close();
  }
  return maxMain;
}
