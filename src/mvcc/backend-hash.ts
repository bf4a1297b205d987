// Maintenance.Hash: CRC-32C over the whole backend, as etcd's backend.Hash does
// over its bbolt buckets (bucket name, then every key and value), with the same
// ignored key (meta consistent_index, which members may write at different
// times). Our buckets are one LevelDB keyspace (keyspace.ts), so each key is
// hashed with its bucket byte; the result agrees between our members holding the
// same state, not with a real etcd's bbolt file.

import { crc32c } from '../util/crc32c.js';
import type { Backend } from './backend.js';
import { META_CONSISTENT_INDEX } from './keyspace.js';

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export async function hashBackend(backend: Backend): Promise<number> {
  await backend.flush();
  const snapshot = backend.db.snapshot();
  const it = backend.db.iterator({ snapshot });
  let h = 0;
  try {
    for (;;) {
      const batch = await it.nextv(1000);
      if (batch.length === 0) break;
      for (const [k, v] of batch) {
        if (same(k, META_CONSISTENT_INDEX)) continue;
        h = crc32c(v, crc32c(k, h));
      }
    }
  } finally {
    await it.close();
    await snapshot.close();
  }
  return h;
}
