// `etcd-ts snapshot status <file> [-w simple|table|json|fields]`: what
// `etcdctl snapshot status` prints for the file, with its exit codes
// (128 wrong arguments, 4 unsupported format, 1 a file it cannot read) and
// error texts ("Error: invalid database", "Error: stat x: no such file or directory").

import { stat } from 'node:fs/promises';
import { snapshotStatus } from '../snapshot/status.js';
import { formatStatus, WRITE_OUT_FORMATS, type WriteOut } from './status-format.js';
import { type CliIo, CliExit, EXIT_BAD_ARGS, EXIT_BAD_FEATURE, EXIT_ERROR, goPathError, parseCtlFlags } from './ctl-args.js';

export async function statusCommand(args: string[], io: CliIo): Promise<number> {
  const { positional, flags } = parseCtlFlags(args, { 'write-out': 'w', hex: null });
  if (positional.length !== 1) throw new CliExit(EXIT_BAD_ARGS, 'snapshot status requires exactly one argument');
  const format = (flags.get('write-out') ?? 'simple') as WriteOut;
  if (!WRITE_OUT_FORMATS.includes(format)) throw new CliExit(EXIT_BAD_FEATURE, 'unsupported output format');
  const path = positional[0]!;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new CliExit(EXIT_ERROR, `open ${path}: is a directory`);
  } catch (err) {
    if (err instanceof CliExit) throw err;
    throw new CliExit(EXIT_ERROR, goPathError('stat', path, err as NodeJS.ErrnoException));
  }
  let status;
  try {
    status = await snapshotStatus(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code !== undefined && e.syscall === 'open') throw new CliExit(EXIT_ERROR, goPathError('open', path, e));
    throw new CliExit(EXIT_ERROR, e.message);
  }
  if (format === 'protobuf') throw new CliExit(EXIT_BAD_FEATURE, 'protobuf not supported as output format');
  io.stdout(formatStatus(status, format));
  return 0;
}
