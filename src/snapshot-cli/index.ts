// `etcd-ts snapshot <subcommand>`: etcdctl's snapshot commands, one module per
// subcommand (status.ts, restore-command.ts). Returns the exit code.

import { CliExit, type CliIo, EXIT_BAD_ARGS } from './ctl-args.js';
import { restoreCommand } from './restore-command.js';
import { statusCommand } from './status.js';

type Subcommand = (args: string[], io: CliIo) => Promise<number>;

const SUBCOMMANDS: Record<string, Subcommand> = {
  status: statusCommand,
  restore: restoreCommand,
};

const USAGE = `Usage: etcd-ts snapshot <subcommand> [flags]

Subcommands:
${Object.keys(SUBCOMMANDS).map((s) => `  ${s}`).join('\n')}
`;

export async function snapshotCli(args: string[], io: CliIo): Promise<number> {
  const run = SUBCOMMANDS[args[0] ?? ''];
  if (!run) {
    io.stderr(USAGE);
    return args.length === 0 ? 0 : EXIT_BAD_ARGS;
  }
  try {
    return await run(args.slice(1), io);
  } catch (err) {
    if (!(err instanceof CliExit)) throw err;
    io.stderr(`Error: ${err.message}\n`);
    return err.code;
  }
}

export const processIo: CliIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
};
