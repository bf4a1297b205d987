// `snapshot restore` flags as etcdctl 3.4.23 takes them, with its defaults.

import { CliExit, EXIT_BAD_ARGS, EXIT_ERROR, parseCtlFlags } from './ctl-args.js';

export interface RestoreArgs {
  file: string;
  name: string;
  dataDir: string;
  walDir: string;
  initialCluster: string;
  initialClusterToken: string;
  initialAdvertisePeerUrls: string;
  skipHashCheck: boolean;
}

const FLAGS = {
  'data-dir': null,
  'wal-dir': null,
  'initial-cluster': null,
  'initial-cluster-token': null,
  'initial-advertise-peer-urls': null,
  name: null,
  'skip-hash-check': null,
} as const;

function parseBool(v: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  throw new CliExit(EXIT_ERROR, `invalid argument "${v}" for "--skip-hash-check" flag: strconv.ParseBool: parsing "${v}": invalid syntax`);
}

/** Parses the arguments after `snapshot restore` (CliExit with etcdctl's text and code when they are wrong). */
export function parseRestoreArgs(argv: string[]): RestoreArgs {
  const { positional, flags } = parseCtlFlags(argv, FLAGS);
  if (positional.length !== 1) throw new CliExit(EXIT_BAD_ARGS, 'snapshot restore requires exactly one argument');
  return {
    file: positional[0]!,
    name: flags.get('name') ?? 'default',
    dataDir: flags.get('data-dir') ?? '',
    walDir: flags.get('wal-dir') ?? '',
    // etcdctl's default names the default member, whatever --name says.
    initialCluster: flags.get('initial-cluster') ?? 'default=http://localhost:2380',
    initialClusterToken: flags.get('initial-cluster-token') ?? 'etcd-cluster',
    initialAdvertisePeerUrls: flags.get('initial-advertise-peer-urls') ?? 'http://localhost:2380',
    skipHashCheck: parseBool(flags.get('skip-hash-check') ?? 'false'),
  };
}
