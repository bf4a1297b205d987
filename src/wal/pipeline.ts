// Prepares the next segment file in the background, so a cut only has to write
// a few header records instead of creating and zero-filling 64 MB on the commit
// path (etcd's file_pipeline). The file has a .tmp name that never matches a
// segment; cut() renames it once its header is durable. Preparation starts only
// when asked (the WAL asks once its segment is half full): a 64 MB background
// write at every start-up would compete with the first fsyncs for the journal.

import { join } from 'node:path';
import { preallocate } from './fsutil.js';
import type { Logger } from './logger.js';
import type { WalFile, WalFs } from './wal-fs.js';

export interface PreparedFile {
  fh: WalFile;
  path: string;
}

export class SegmentPipeline {
  private count = 0;
  private pending: Promise<PreparedFile> | undefined;

  constructor(
    private readonly dir: string,
    private readonly size: number,
    private readonly logger: Logger,
    private readonly fs: WalFs,
  ) {}

  /** Starts preparing the next file unless that is already under way. */
  prepareSoon(): void {
    this.pending ??= this.prepare();
  }

  /** The prepared file (prepared now if it was never asked for). */
  async take(): Promise<PreparedFile> {
    const p = this.pending ?? this.prepare();
    this.pending = undefined;
    return p;
  }

  /** Discards the prepared file, if any. */
  async close(): Promise<void> {
    const p = this.pending;
    this.pending = undefined;
    if (!p) return;
    try {
      const { fh, path } = await p;
      await fh.close();
      await this.fs.unlink(path);
    } catch {
      // A failed preparation was already reported; open() removes stray .tmp files.
    }
  }

  private prepare(): Promise<PreparedFile> {
    const path = join(this.dir, `${this.count++ % 2}.wal.tmp`);
    const p = (async () => {
      const fh = await this.fs.open(path, 'create');
      try {
        await preallocate(fh, this.size, true);
      } catch (err) {
        await fh.close().catch(() => {});
        throw err;
      }
      return { fh, path };
    })();
    // take() surfaces the error; this only keeps an unobserved rejection from
    // crashing the process if nobody ever takes the file.
    p.catch((err: unknown) => this.logger.warn({ err, path }, 'WAL: preparing next segment failed'));
    return p;
  }
}
