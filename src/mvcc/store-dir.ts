// Crash-safe swap of a member's store directory for a restored image, and the
// recovery that finishes an interrupted swap. Directory names, for db = <dir>:
//
//   <dir>.tmp-*   an image being restored; never trusted (may be partial)
//   <dir>.new     a complete, CRC-checked image waiting to replace <dir>
//   <dir>.old     the replaced store, waiting to be deleted
//
// replaceStoreDir steps, and what recovery does if the process dies after each:
//   0. fsync every file of incoming and incoming itself: the image must be on
//      disk before anything points at it (the snapshot marker comes after).
//   1. rename incoming → <dir>.new, fsync parent   COMMIT POINT. Before it: the
//      incoming dir is a leftover, deleted; the old store stays. After it: the
//      new image wins (roll forward).
//   2. rename <dir> → <dir>.old                       (<dir>.new + <dir>.old: roll forward)
//   3. rename <dir>.new → <dir>, fsync parent         (<dir> + <dir>.old: delete .old)
//   4. remove <dir>.old
// Rolling forward is always safe: the image holds only committed entries, and
// a store whose consistent index is ahead of the WAL just skips entries it
// already has. Rolling back after the Raft snapshot was recorded would leave a
// store behind the WAL's first entry, which nothing can repair.

import { readdir, rename, rm, stat } from 'node:fs/promises';
import { syncDir, syncTree } from './fsync.js';
import { basename, dirname, join } from 'node:path';

async function exists(p: string): Promise<boolean> {
  try { await stat(p); return true; } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Replaces the store at `current` with the restored one at `incoming`. Both stores must be closed. */
export async function replaceStoreDir(current: string, incoming: string): Promise<void> {
  const parent = dirname(current);
  const next = current + '.new', old = current + '.old';
  // LevelDB syncs the writes it is asked to, not necessarily the names of the
  // files it created while opening and compacting: sync the whole image.
  await syncTree(incoming);
  // A stale .new can only exist if recovery was skipped; the incoming image is newer.
  await rm(next, { recursive: true, force: true });
  await rename(incoming, next);
  await syncDir(parent);
  await rm(old, { recursive: true, force: true });
  if (await exists(current)) await rename(current, old);
  await rename(next, current);
  await syncDir(parent);
  await rm(old, { recursive: true, force: true });
}

export type StoreDirRecovery = 'none' | 'rolled-forward' | 'removed-old' | 'restored-old';

export interface RecoverOptions {
  /** Also delete `<dir>.tmp-*` siblings (interrupted restores). Default true. */
  removeTemp?: boolean;
}

/**
 * Finishes or cleans up an interrupted replaceStoreDir; call before opening the
 * store (MvccStore.open does the cheap part itself, without removeTemp).
 */
export async function recoverStoreDir(current: string, opts: RecoverOptions = {}): Promise<StoreDirRecovery> {
  const parent = dirname(current);
  const next = current + '.new', old = current + '.old';
  if (opts.removeTemp ?? true) {
    const prefix = basename(current) + '.tmp-';
    let names: string[] = [];
    try { names = await readdir(parent); } catch { /* parent missing: nothing to clean */ }
    for (const n of names) if (n.startsWith(prefix)) await rm(join(parent, n), { recursive: true, force: true });
  }
  let action: StoreDirRecovery = 'none';
  if (await exists(next)) {
    // Died after the commit point (step 1 or 2): finish the swap.
    if (await exists(current)) {
      await rm(old, { recursive: true, force: true });
      await rename(current, old);
    }
    await rename(next, current);
    await syncDir(parent);
    action = 'rolled-forward';
  } else if (await exists(old)) {
    if (await exists(current)) action = 'removed-old'; // died in step 4
    else {
      // Not produced by replaceStoreDir; someone moved the store away by hand.
      // Putting it back beats opening an empty store over it.
      await rename(old, current);
      await syncDir(parent);
      return 'restored-old';
    }
  }
  await rm(old, { recursive: true, force: true });
  return action;
}
