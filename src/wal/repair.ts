// Torn-tail repair: a crash mid-write can leave the last record of the last
// segment half on disk. That record was never acknowledged (save() resolves only
// after fdatasync), so cutting it off loses nothing a client was told about.
// The original file is kept as <name>.broken for post-mortems.

import { join } from 'node:path';
import type { Logger } from './logger.js';
import type { WalFs } from './wal-fs.js';

export async function repairTornTail(
  dir: string,
  name: string,
  offset: number,
  reason: string,
  logger: Logger,
  fs: WalFs,
): Promise<void> {
  const file = join(dir, name);
  const broken = `${file}.broken`;
  await fs.copyFile(file, broken);
  const fh = await fs.open(file, 'update');
  try {
    // Truncating (rather than zeroing in place) guarantees no stale bytes stay
    // behind the new end, where a later append could land next to them.
    await fh.truncate(offset);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.syncDir(dir);
  logger.warn({ file, offset, reason, copy: broken }, 'WAL: truncated torn tail of last segment');
}
