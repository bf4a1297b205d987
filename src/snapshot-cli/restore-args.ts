// `snapshot restore` flags as etcdctl 3.4.23 takes them (pflag syntax: --flag value,
// --flag=value, a bare boolean), with its defaults, and its usage text.

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

/** A usage error: etcdctl prints the usage, then the error, and exits 1. */
export class RestoreUsageError extends Error {}
/** Wrong number of arguments: etcdctl exits 128 (ExitBadArgs). */
export class RestoreBadArgsError extends Error {}

const STRING_FLAGS = {
  'data-dir': 'dataDir',
  'wal-dir': 'walDir',
  'initial-cluster': 'initialCluster',
  'initial-cluster-token': 'initialClusterToken',
  'initial-advertise-peer-urls': 'initialAdvertisePeerUrls',
  name: 'name',
} as const;

export const RESTORE_USAGE = `NAME:
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

function parseBool(v: string, flag: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  throw new RestoreUsageError(`invalid argument "${v}" for "--${flag}" flag: strconv.ParseBool: parsing "${v}": invalid syntax`);
}

/** Parses the arguments after `snapshot restore`; `help: true` when -h/--help was given. */
export function parseRestoreArgs(argv: string[]): RestoreArgs | { help: true } {
  const a: Omit<RestoreArgs, 'file' | 'initialCluster'> & { initialCluster?: string } = {
    name: 'default',
    dataDir: '',
    walDir: '',
    initialClusterToken: 'etcd-cluster',
    initialAdvertisePeerUrls: 'http://localhost:2380',
    skipHashCheck: false,
  };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const flag = eq >= 0 ? body.slice(0, eq) : body;
    const inline = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (flag === 'h' || flag === 'help') return { help: true };
    if (flag === 'skip-hash-check') {
      a.skipHashCheck = inline === undefined ? true : parseBool(inline, flag);
      continue;
    }
    const key = STRING_FLAGS[flag as keyof typeof STRING_FLAGS];
    if (!key) throw new RestoreUsageError(`unknown flag: ${arg.startsWith('--') ? `--${flag}` : `-${flag}`}`);
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new RestoreUsageError(`flag needs an argument: --${flag}`);
      value = argv[++i]!;
    }
    a[key] = value;
  }
  if (positional.length !== 1) throw new RestoreBadArgsError('snapshot restore requires exactly one argument');
  // etcdctl's default names the default member, whatever --name says.
  return { ...a, file: positional[0]!, initialCluster: a.initialCluster ?? 'default=http://localhost:2380' };
}
