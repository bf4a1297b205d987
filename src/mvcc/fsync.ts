// fsync helpers for the store directory. Linux flushes a file's dirty pages on
// fsync through any descriptor, so a file written by LevelDB can be synced
// from here by name.

import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

const missing = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** Makes renames and file creations inside `dir` durable (Linux allows fsync on a directory fd). */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try { await fh.sync(); } finally { await fh.close(); }
}

/**
 * fsyncs every file under `dir`, then `dir` itself. With `live`, the tree
 * belongs to an open LevelDB, which may delete files meanwhile: those are
 * skipped (a deleted file holds nothing the database still needs).
 */
export async function syncTree(dir: string, opts: { live?: boolean } = {}): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    try {
      if (e.isDirectory()) await syncTree(p, opts);
      else if (e.isFile()) {
        const fh = await open(p, 'r');
        try { await fh.sync(); } finally { await fh.close(); }
      }
    } catch (err) {
      if (!(opts.live && missing(err))) throw err;
    }
  }
  await syncDir(dir);
}
