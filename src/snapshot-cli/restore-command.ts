// `etcd-ts snapshot restore`: arguments in, etcdctl's exit codes and "Error: ..."
// lines out (1 for a failed restore or a bad flag, 128 for a wrong number of
// arguments), the log as JSON lines on stderr.

import { createLogger } from '../server/logger.js';
import { type CliIo, CliExit, EXIT_ERROR } from './ctl-args.js';
import { parseRestoreArgs } from './restore-args.js';
import { restoreSnapshot } from './restore.js';

const USAGE = `NAME:
\tsnapshot restore - Restores an etcd member snapshot to an etcd directory

USAGE:
\tetcd-ts snapshot restore <filename> [options] [flags]

OPTIONS:
      --data-dir=""\t\t\t\t\t\tPath to the data directory
  -h, --help[=false]\t\t\t\t\t\thelp for restore
      --initial-advertise-peer-urls="http://localhost:2380"\tList of this member's peer URLs to advertise to the rest of the cluster
      --initial-cluster="default=http://localhost:2380"\t\tInitial cluster configuration for restore bootstrap
      --initial-cluster-token="etcd-cluster"\t\t\tInitial cluster token for the etcd cluster during restore bootstrap
      --name="default"\t\t\t\t\t\tHuman-readable name for this member
      --skip-hash-check[=false]\t\t\t\t\tIgnore snapshot integrity hash value (required if copied from data directory)
      --wal-dir=""\t\t\t\t\t\tPath to the WAL directory (use --data-dir if none given)
`;

export async function restoreCommand(args: string[], io: CliIo): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    io.stdout(USAGE);
    return 0;
  }
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
