// What a Raft snapshot's data holds. A member's own snapshots carry only the
// membership: its KV state is already in LevelDB. A snapshot sent to a follower
// that fell behind the leader's log also carries an image of the leader's MVCC
// store, which the follower installs in place of its own.
//
// Layout: version byte (1) · u32 BE membership length · membership JSON · image bytes
// (the rest; empty for a member's own snapshots).

import { mkdtemp, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import { MvccStore, recoverStoreDir, replaceStoreDir, type MvccOptions } from '../mvcc/index.js';

const VERSION = 1;
const HEADER = 5;

export interface SnapshotData {
  membership: Uint8Array;
  /** An MVCC image (see src/mvcc/state-format.ts); absent in a member's own snapshots. */
  image?: Uint8Array;
}

export function encodeSnapshotData(d: SnapshotData): Uint8Array {
  const image = d.image ?? new Uint8Array(0);
  const out = new Uint8Array(HEADER + d.membership.length + image.length);
  const view = new DataView(out.buffer);
  out[0] = VERSION;
  view.setUint32(1, d.membership.length);
  out.set(d.membership, HEADER);
  out.set(image, HEADER + d.membership.length);
  return out;
}

export function decodeSnapshotData(data: Uint8Array): SnapshotData {
  if (data.length < HEADER || data[0] !== VERSION) {
    throw new Error(`snapshot data: unknown format (version byte ${data[0]}, ${data.length} bytes)`);
  }
  const len = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(1);
  if (HEADER + len > data.length) throw new Error('snapshot data: truncated membership');
  const membership = data.subarray(HEADER, HEADER + len);
  const rest = data.subarray(HEADER + len);
  return rest.length > 0 ? { membership, image: rest } : { membership };
}

/** The whole store as one image (held in memory: the transport sends it as one payload). */
export async function exportStoreImage(store: MvccStore): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of store.exportState()) chunks.push(c);
  return Buffer.concat(chunks);
}

/**
 * Replaces the store in `dbDir` with `image`: restored and CRC-checked in a
 * temporary directory first, then swapped in by renames that a crash rolls forward
 * (src/mvcc/store-dir.ts), which makes it durable (files and directories fsync'ed)
 * before it returns: the caller records the snapshot only after that. `current`
 * is closed on success; on failure it stays open and untouched. Returns the store
 * opened on the new data with `storeOpts`.
 */
export async function installStoreImage(
  dbDir: string,
  image: Uint8Array,
  current: MvccStore,
  logger: Logger,
  storeOpts: MvccOptions = {},
): Promise<MvccStore> {
  const started = performance.now();
  const tmp = await mkdtemp(`${dirname(dbDir)}/${basename(dbDir)}.tmp-`);
  await rm(tmp, { recursive: true, force: true }); // restoreState wants to create it
  async function* once(): AsyncGenerator<Uint8Array> {
    yield image;
  }
  const restored = await MvccStore.restoreState(tmp, once(), { ...storeOpts, logger });
  await restored.close();
  await current.close();
  await replaceStoreDir(dbDir, tmp);
  await recoverStoreDir(dbDir);
  const reopened = await MvccStore.open(dbDir, { ...storeOpts, logger });
  logger.info(
    {
      bytes: image.length,
      'consistent-index': reopened.consistentIndex(),
      revision: reopened.currentRevision(),
      took: `${(performance.now() - started).toFixed(1)}ms`,
    },
    'installed the leader\'s store image from a snapshot',
  );
  return reopened;
}
