// Raft snapshot files in member/snap: <term %016x>-<index %016x>.snap holding
// [crc32c of the rest: u32 LE][encodeSnapshot(s)]. Fixed-width hex names sort
// by (term, index), so the newest snapshot is the last name.
//
// Write path: .tmp, fsync, rename, fsync dir, so a crash leaves either the old
// set of snapshots or the new one, never a half file under a .snap name. A file
// that fails its crc anyway (bad disk) is set aside as *.snap.broken and the next
// newest is used, as etcd does.

import { join } from 'node:path';
import { decodeSnapshot, encodeSnapshot } from '../raft/codec.js';
import type { Snapshot } from '../raft/types.js';
import { crc32c } from '../util/crc32c.js';
import { hex32 } from './errors.js';
import { mkdirDurable, writeAll } from './fsutil.js';
import { silentLogger, type Logger } from './logger.js';
import { nodeWalFs, type WalFs } from './wal-fs.js';

const SNAP_RE = /^[0-9a-f]{16}-[0-9a-f]{16}\.snap$/;
const hex16 = (n: number): string => n.toString(16).padStart(16, '0');

export function snapshotFileName(term: number, index: number): string {
  return `${hex16(term)}-${hex16(index)}.snap`;
}

export class Snapshotter {
  constructor(
    readonly dir: string,
    private readonly logger: Logger = silentLogger,
    private readonly fs: WalFs = nodeWalFs,
  ) {}

  /** Writes `s` durably. An empty snapshot (index 0) is not written, as in etcd. */
  async save(s: Snapshot): Promise<void> {
    if (s.metadata.index === 0) return;
    await mkdirDurable(this.fs, this.dir);
    const body = encodeSnapshot(s);
    const file = Buffer.allocUnsafe(4 + body.length);
    file.writeUInt32LE(crc32c(body), 0);
    file.set(body, 4);

    const name = snapshotFileName(s.metadata.term, s.metadata.index);
    const tmp = join(this.dir, `${name}.tmp`);
    const fh = await this.fs.open(tmp, 'create');
    try {
      await writeAll(fh, file, 0);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.fs.rename(tmp, join(this.dir, name));
    await this.fs.syncDir(this.dir);
    this.logger.info({ file: join(this.dir, name), bytes: file.length }, 'snapshot saved');
  }

  /** The newest snapshot that reads back intact, or undefined if there is none. */
  async load(): Promise<Snapshot | undefined> {
    for await (const s of this.newestFirst()) return s;
    return undefined;
  }

  /**
   * Intact snapshots, newest first (corrupt files are set aside as they are met). A
   * crash between saving a snapshot file and its WAL marker leaves a newest file the
   * WAL does not know: the caller then takes the next one (etcd's LoadNewestAvailable).
   */
  async *newestFirst(): AsyncGenerator<Snapshot> {
    for (const name of (await this.names(true)).reverse()) {
      const path = join(this.dir, name);
      const s = await this.read(path);
      if (s) {
        yield s;
        continue;
      }
      const broken = `${path}.broken`;
      await this.fs.rename(path, broken);
      this.logger.warn({ file: path, movedTo: broken }, 'snapshot file is corrupt; set aside, trying an older one');
    }
  }

  /** Deletes all but the newest `keep` snapshot files. */
  async purge(keep: number): Promise<void> {
    const names = await this.names(false);
    const doomed = names.slice(0, Math.max(0, names.length - Math.max(0, keep)));
    if (doomed.length === 0) return;
    for (const n of doomed) await this.fs.unlink(join(this.dir, n));
    await this.fs.syncDir(this.dir);
    this.logger.info({ dir: this.dir, purged: doomed }, 'purged old snapshot files');
  }

  /**
   * *.snap names, oldest first. `clearTmp` (start-up only) also removes .tmp files
   * left by a crashed save; while the member runs, a .tmp belongs to a save in
   * progress (a follower installing the leader's snapshot while its own is being
   * taken), and removing it would fail that save.
   */
  private async names(clearTmp: boolean): Promise<string[]> {
    let all: string[];
    try {
      all = await this.fs.readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    for (const n of clearTmp ? all : []) {
      if (n.endsWith('.snap.tmp')) await this.fs.unlink(join(this.dir, n)).catch(() => {});
    }
    return all.filter((n) => SNAP_RE.test(n)).sort();
  }

  private async read(path: string): Promise<Snapshot | undefined> {
    const buf = await this.fs.readFile(path);
    if (buf.length < 4) {
      this.logger.warn({ file: path, bytes: buf.length }, 'snapshot file too short');
      return undefined;
    }
    const want = buf.readUInt32LE(0);
    const body = buf.subarray(4);
    const got = crc32c(body);
    if (want !== got) {
      this.logger.warn({ file: path, expected: hex32(want), got: hex32(got) }, 'snapshot file crc mismatch');
      return undefined;
    }
    try {
      return decodeSnapshot(body);
    } catch (err) {
      this.logger.warn({ file: path, err }, 'snapshot file undecodable');
      return undefined;
    }
  }
}
