// etcd's Raft snapshot files, member/snap/<term %016x>-<index %016x>.snap, read-only
// (learned from etcd 3.4's etcdserver/api/snap/snapshotter.go): each holds
// snappb.Snapshot { uint32 crc = 1; bytes data = 2; } where crc is the CRC-32C of
// data and data is a raftpb.Snapshot (its data: the v2 store as JSON).

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeSnapshot } from '../../raft/codec.js';
import type { Snapshot } from '../../raft/types.js';
import { WireReader } from '../../pb/wire-messages.js';
import { crc32c } from '../../util/crc32c.js';

const SNAP_NAME = /^[0-9a-f]{16}-[0-9a-f]{16}\.snap$/;

export interface EtcdSnapFile {
  file: string;
  snapshot: Snapshot;
}

/** Decodes one .snap file's bytes; throws with etcd's reason when it is damaged. */
export function decodeSnapFile(file: string, b: Uint8Array): Snapshot {
  const r = new WireReader(b);
  let crc = 0;
  let data: Uint8Array | undefined;
  try {
    while (!r.done()) {
      const [f, wt] = r.tag();
      if (f === 1) crc = r.varint() >>> 0;
      else if (f === 2) data = r.bytes();
      else r.skip(wt);
    }
  } catch (err) {
    throw new Error(`snap: ${file} does not decode: ${(err as Error).message}`);
  }
  if (!data || data.length === 0) throw new Error(`snap: empty snapshot (${file})`);
  if (crc32c(data) !== crc) throw new Error(`snap: crc mismatch (${file})`);
  return decodeSnapshot(data);
}

/**
 * The .snap files of `dir` that read back intact, newest first (etcd's Load
 * order). Damaged ones are reported through `skipped` and left where they are.
 */
export async function etcdSnapFilesNewestFirst(dir: string, skipped: (file: string, reason: string) => void = () => {}): Promise<EtcdSnapFile[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => SNAP_NAME.test(n)).sort().reverse();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: EtcdSnapFile[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      out.push({ file, snapshot: decodeSnapFile(file, await readFile(file)) });
    } catch (err) {
      skipped(file, (err as Error).message);
    }
  }
  return out;
}
