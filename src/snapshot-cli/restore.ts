// `etcd-ts snapshot restore <file>`: a member data dir of a new cluster from an
// etcd backend snapshot (`etcdctl snapshot save` of a real etcd or of etcd-ts), as
// etcdctl 3.4.23 restores one (clientv3/snapshot v3Manager.Restore): the flags
// checked first, the data dir must not exist, the trailing SHA-256 checked unless
// --skip-hash-check, then every key revision, lease, auth setting and alarm of the
// snapshot with a new membership from the flags. Unlike etcdctl, a failure leaves
// nothing behind: the dir is built beside the target and renamed into place.

import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { encodeConfChange } from '../raft/codec.js';
import { ConfChangeType, type Entry, EntryType } from '../raft/types.js';
import { readEtcdImage } from '../snapshot/etcd-image.js';
import { exists, writeMemberDir } from '../server/etcd-import/member-dir.js';
import { etcdStoreImage } from '../server/etcd-import/store-image.js';
import { encodeMemberContext } from '../server/membership.js';
import { goPathError } from './ctl-args.js';
import { newClusterFromFlags, type NewCluster } from './cluster-flags.js';
import type { RestoreArgs } from './restore-args.js';

const SHA256_BYTES = 32;

/** Go's %v of a byte slice: "[1 2 3]". */
const goBytes = (b: Uint8Array): string => `[${Array.from(b).join(' ')}]`;

/**
 * Checks the SHA-256 etcd appends to a snapshot (its size is then 32 more than a
 * multiple of 512, the bbolt page alignment), as v3Manager.saveDB does.
 */
export async function checkSnapshotHash(file: string, skipHashCheck: boolean): Promise<void> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw new Error(goPathError('open', file, err as NodeJS.ErrnoException));
  }
  try {
    const { size } = await fh.stat();
    if (size < SHA256_BYTES) throw new Error(`seek ${file}: invalid argument`);
    const hasHash = size % 512 === SHA256_BYTES;
    if (!hasHash && !skipHashCheck) throw new Error('snapshot missing hash but --skip-hash-check=false');
    if (!hasHash || skipHashCheck) return;
    const stored = Buffer.alloc(SHA256_BYTES);
    await fh.read(stored, 0, SHA256_BYTES, size - SHA256_BYTES);
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let off = 0; off < size - SHA256_BYTES; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - SHA256_BYTES - off), off);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      off += bytesRead;
    }
    const got = h.digest();
    if (!got.equals(stored)) throw new Error(`expected sha256 ${goBytes(stored)}, got ${goBytes(got)}`);
  } finally {
    await fh.close();
  }
}

/** The new cluster's first entries: one AddNode per member at term 1, as etcd's saveWALAndSnap writes them. */
export function bootstrapEntries(cluster: NewCluster): Entry[] {
  return cluster.members.map((m, i) => ({
    term: 1,
    index: i + 1,
    type: EntryType.ConfChange,
    data: encodeConfChange({
      type: ConfChangeType.AddNode,
      nodeId: m.id,
      context: encodeMemberContext({ id: m.id, name: m.name, peerURLs: m.peerURLs, isLearner: false }),
    }),
    encoded: undefined,
  }));
}

export async function restoreSnapshot(args: RestoreArgs, logger: Logger): Promise<void> {
  const cluster = newClusterFromFlags(args.name, args.initialCluster, args.initialAdvertisePeerUrls, args.initialClusterToken);
  const dataDir = args.dataDir !== '' ? args.dataDir : `${args.name}.etcd`;
  if (await exists(dataDir)) throw new Error(`data-dir ${JSON.stringify(dataDir)} exists`);
  const walDir = args.walDir !== '' ? args.walDir : join(dataDir, 'member', 'wal');
  if (args.walDir !== '' && (await exists(walDir))) throw new Error(`wal-dir ${JSON.stringify(walDir)} exists`);
  const where = { path: args.file, 'wal-dir': walDir, 'data-dir': dataDir, 'snap-dir': join(dataDir, 'member', 'snap') };
  logger.info(where, 'restoring snapshot');

  await checkSnapshotHash(args.file, args.skipHashCheck);
  const image = await readEtcdImage(args.file).catch((err: unknown) => {
    throw new Error(`cannot open database at ${args.file} (${(err as Error).message})`);
  });
  try {
    const entries = bootstrapEntries(cluster);
    const commit = entries.length;
    await writeMemberDir(
      dataDir,
      args.walDir !== '' ? args.walDir : undefined,
      {
        memberId: cluster.self.id,
        clusterId: cluster.clusterId,
        hardState: { term: 1, vote: cluster.members[0]!.id, commit },
        entries,
        // The bootstrap entries count as applied to the store, as etcd sets its consistent index to them.
        store: etcdStoreImage(image, { consistentIndex: commit }),
      },
      logger,
      true,
    );
    for (const m of cluster.members) {
      logger.info({ 'cluster-id': cluster.clusterId.toString(16), 'added-peer-id': m.id.toString(16), 'added-peer-peer-urls': m.peerURLs }, 'added member');
    }
  } finally {
    await image.close();
  }
  logger.info({ ...where, revision: image.lastRevision, members: cluster.members.length }, 'restored snapshot');
}
