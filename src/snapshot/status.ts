// What `etcdctl snapshot status` computes (clientv3/snapshot v3Manager.Status):
// bbolt's integrity check first, then a CRC-32C over every top-level bucket's
// name followed by each of its keys and values, the main revision of the `key`
// bucket's last key, the number of keys in all buckets and tx.Size().

import { crc32c } from '../util/crc32c.js';
import { BboltError, BboltFile } from './bbolt/reader.js';
import { parseRevisionBytes } from './etcd-buckets.js';

export interface SnapshotStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
}

/** Computes the status of the bbolt file at `path`; throws BboltError with etcd's text on a bad file. */
export async function snapshotStatus(path: string): Promise<SnapshotStatus> {
  const db = await BboltFile.open(path);
  try {
    const problems = await db.check();
    if (problems.length > 0) {
      throw new BboltError(`snapshot file integrity check failed. ${problems.length} errors found.\n` + problems.join('\n'));
    }
    let hash = 0;
    let revision = 0;
    let totalKey = 0;
    for await (const b of await collectNames(db)) {
      if (!b.isBucket) throw new BboltError(`cannot get hash of bucket ${Buffer.from(b.key).toString('latin1')}`);
      hash = crc32c(b.key, hash);
      const isKey = Buffer.from(b.key).toString('latin1') === 'key';
      for await (const e of db.entries(db.subBucket(b))) {
        hash = crc32c(e.key, hash);
        // A nested bucket's value is nil to bbolt's ForEach: nothing to hash.
        if (!e.isBucket) hash = crc32c(e.value, hash);
        if (isKey) revision = parseRevisionBytes(e.key)?.main ?? bytesToRevMain(e.key);
        totalKey++;
      }
    }
    return { hash: hash >>> 0, revision, totalKey, totalSize: db.size };
  } finally {
    await db.close();
  }
}

// The top-level buckets are few: collect them before walking each one.
async function collectNames(db: BboltFile) {
  const out = [];
  for await (const e of db.entries(db.root)) out.push(e);
  return out;
}

// etcd's bytesToRev reads the first 8 bytes whatever follows.
function bytesToRevMain(k: Uint8Array): number {
  if (k.length < 8) return 0;
  const dv = new DataView(k.buffer, k.byteOffset, 8);
  return dv.getUint32(0) * 0x1_0000_0000 + dv.getUint32(4);
}
