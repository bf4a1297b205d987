// The process side of `etcd-ts snapshot restore`: arguments in, etcdctl's exit
// codes and "Error: ..." lines out (1 for a failed restore or a bad flag, 128 for
// a wrong number of arguments), the log as JSON lines on stderr.

import { createLogger } from '../server/logger.js';
import { parseRestoreArgs, RESTORE_USAGE, RestoreBadArgsError, RestoreUsageError } from './restore-args.js';
import { restoreSnapshot } from './restore.js';

const EXIT_ERROR = 1;
const EXIT_BAD_ARGS = 128;

export async function runSnapshotRestore(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseRestoreArgs(argv);
  } catch (err) {
    if (err instanceof RestoreUsageError) {
      process.stderr.write(`${RESTORE_USAGE}Error: ${err.message}\n`);
      return EXIT_ERROR;
    }
    if (err instanceof RestoreBadArgsError) {
      process.stderr.write(`Error: ${err.message}\n`);
      return EXIT_BAD_ARGS;
    }
    throw err;
  }
  if ('help' in args) {
    process.stdout.write(RESTORE_USAGE);
    return 0;
  }
  const logger = createLogger('info');
  try {
    await restoreSnapshot(args, logger);
    logger.flush();
    return 0;
  } catch (err) {
    logger.flush();
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    return EXIT_ERROR;
  }
}
