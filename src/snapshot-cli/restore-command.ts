// `etcd-ts snapshot restore`: arguments in, etcdctl's exit codes and "Error: ..."
// lines out (1 for a failed restore or a bad flag, 128 for a wrong number of
// arguments), the log as JSON lines on stderr.

import { createLogger } from '../server/logger.js';
import { type CliIo, CliExit, EXIT_ERROR } from './ctl-args.js';
import { parseRestoreArgs } from './restore-args.js';
import { restoreSnapshot } from './restore.js';

export async function restoreCommand(args: string[], _io: CliIo): Promise<number> {
  const parsed = parseRestoreArgs(args);
  const logger = createLogger('info');
  try {
    await restoreSnapshot(parsed, logger);
    return 0;
  } catch (err) {
    throw new CliExit(EXIT_ERROR, (err as Error).message);
  } finally {
    logger.flush();
  }
}
