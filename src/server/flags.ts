// etcd's command-line flags: names, defaults, and which ones etcd-ts honours.
// Operators keep their scripts, so every flag etcd 3.4 knows is known here too:
// a supported flag is parsed and used, an unsupported one is refused with a clear
// message (never silently ignored), and a flag etcd does not have is an error.

export type FlagKind = 'string' | 'int' | 'bool' | 'urls' | 'duration';

export interface FlagSpec {
  name: string;
  kind: FlagKind;
  default: string;
  help: string;
  /** False: etcd has it, we do not yet; giving it is an error. */
  supported: boolean;
  /** Values accepted although the flag is not otherwise supported (they mean what we already do). */
  accepts?: string[];
}

const s = (name: string, kind: FlagKind, def: string, help: string): FlagSpec => ({
  name,
  kind,
  default: def,
  help,
  supported: true,
});
const later = (name: string, kind: FlagKind, def: string, accepts?: string[]): FlagSpec => ({
  name,
  kind,
  default: def,
  help: 'not supported yet',
  supported: false,
  accepts: accepts ?? [def],
});

export const FLAGS: FlagSpec[] = [
  s('name', 'string', 'default', 'Human-readable name for this member.'),
  s('data-dir', 'string', '${name}.etcd', 'Path to the data directory.'),
  s('wal-dir', 'string', '', 'Path to the dedicated wal directory (default: <data-dir>/member/wal).'),
  s('snapshot-count', 'int', '100000', 'Number of committed transactions to trigger a snapshot to disk.'),
  s('heartbeat-interval', 'int', '100', 'Time (in milliseconds) of a heartbeat interval.'),
  s('election-timeout', 'int', '1000', 'Time (in milliseconds) for an election to timeout.'),
  s('listen-peer-urls', 'urls', 'http://localhost:2380', 'List of URLs to listen on for peer traffic.'),
  s('listen-client-urls', 'urls', 'http://localhost:2379', 'List of URLs to listen on for client traffic.'),
  s('initial-advertise-peer-urls', 'urls', 'http://localhost:2380', "List of this member's peer URLs to advertise to the rest of the cluster."),
  s('initial-cluster', 'string', 'default=http://localhost:2380', 'Initial cluster configuration for bootstrapping.'),
  s('initial-cluster-state', 'string', 'new', "Initial cluster state ('new' or 'existing')."),
  s('initial-cluster-token', 'string', 'etcd-cluster', 'Initial cluster token for the etcd cluster during bootstrap.'),
  s('advertise-client-urls', 'urls', 'http://localhost:2379', "List of this member's client URLs to advertise to the public."),
  s('max-txn-ops', 'int', '128', 'Maximum number of operations permitted in a transaction.'),
  s('max-request-bytes', 'int', '1572864', 'Maximum client request size in bytes the server will accept.'),
  s('quota-backend-bytes', 'int', '0', 'Raise alarms when backend size exceeds the given quota (0 defaults to low space quota).'),
  s('pre-vote', 'bool', 'false', 'Enable to run an additional Raft election phase.'),
  s('strict-reconfig-check', 'bool', 'true', 'Reject reconfiguration requests that would cause quorum loss.'),
  s('experimental-max-learners', 'int', '1', 'Sets the maximum number of learners that can be available in the cluster membership (etcd 3.5).'),
  s('log-level', 'string', 'info', "Configures log level. Only supports debug, info, warn, error, panic, or fatal."),
  s('logger', 'string', 'capnslog', "Accepted for compatibility: etcd-ts always logs pino JSON ('zap' and 'capnslog' both mean that)."),
  s('log-outputs', 'string', 'default', "Accepted for compatibility: etcd-ts logs to stderr ('default' and 'stderr')."),
  s('enable-v2', 'bool', 'false', 'etcd-ts has no v2 API; only false is accepted.'),
  s('experimental-watch-progress-notify-interval', 'duration', '10m', 'Duration of periodic watch progress notifications (at least 100ms).'),
  s('version', 'bool', 'false', 'Print the version and exit.'),
  s('help', 'bool', 'false', 'Show this help and exit.'),
  later('initial-election-tick-advance', 'bool', 'true', ['true', 'false']),
  later('max-snapshots', 'int', '5'),
  later('max-wals', 'int', '5'),
  later('backend-batch-interval', 'duration', ''),
  later('backend-batch-limit', 'int', '0'),
  later('max-concurrent-streams', 'int', 'math.MaxUint32'),
  later('grpc-keepalive-min-time', 'duration', '5s'),
  later('grpc-keepalive-interval', 'duration', '2h'),
  later('grpc-keepalive-timeout', 'duration', '20s'),
  later('discovery', 'string', ''),
  later('discovery-fallback', 'string', 'proxy'),
  later('discovery-proxy', 'string', ''),
  later('discovery-srv', 'string', ''),
  later('discovery-srv-name', 'string', ''),
  later('auto-compaction-retention', 'string', '0'),
  later('auto-compaction-mode', 'string', 'periodic'),
  later('cert-file', 'string', ''),
  later('key-file', 'string', ''),
  later('client-cert-auth', 'bool', 'false'),
  later('client-crl-file', 'string', ''),
  later('client-cert-allowed-hostname', 'string', ''),
  later('trusted-ca-file', 'string', ''),
  later('auto-tls', 'bool', 'false'),
  later('peer-cert-file', 'string', ''),
  later('peer-key-file', 'string', ''),
  later('peer-client-cert-auth', 'bool', 'false'),
  later('peer-trusted-ca-file', 'string', ''),
  later('peer-cert-allowed-cn', 'string', ''),
  later('peer-cert-allowed-hostname', 'string', ''),
  later('peer-auto-tls', 'bool', 'false'),
  later('peer-crl-file', 'string', ''),
  later('cipher-suites', 'string', ''),
  later('cors', 'string', '*'),
  later('host-whitelist', 'string', '*'),
  later('auth-token', 'string', 'simple'),
  later('bcrypt-cost', 'int', '10'),
  later('auth-token-ttl', 'int', '300'),
  later('enable-pprof', 'bool', 'false'),
  later('metrics', 'string', 'basic'),
  later('listen-metrics-urls', 'urls', ''),
  later('proxy', 'string', 'off'),
  later('proxy-failure-wait', 'int', '5000'),
  later('proxy-refresh-interval', 'int', '30000'),
  later('proxy-dial-timeout', 'int', '1000'),
  later('proxy-write-timeout', 'int', '5000'),
  later('proxy-read-timeout', 'int', '0'),
  later('experimental-initial-corrupt-check', 'bool', 'false'),
  later('experimental-corrupt-check-time', 'duration', '0s'),
  later('experimental-enable-v2v3', 'string', ''),
  later('experimental-backend-bbolt-freelist-type', 'string', 'array'),
  // Long leases' remaining TTL is always checkpointed through Raft (what `true` asks for);
  // `false`, etcd 3.4's default, is accepted because checkpointing only ever keeps a lease longer.
  later('experimental-enable-lease-checkpoint', 'bool', 'false', ['false', 'true']),
  later('experimental-compaction-batch-limit', 'int', '1000'),
  later('experimental-peer-skip-client-san-verification', 'bool', 'false'),
  later('experimental-warning-apply-duration', 'duration', '100ms'),
  later('force-new-cluster', 'bool', 'false'),
  later('debug', 'bool', 'false'),
  later('log-package-levels', 'string', ''),
  later('config-file', 'string', ''),
];

export const FLAG_BY_NAME = new Map(FLAGS.map((f) => [f.name, f]));

/** `--initial-cluster-token` → `ETCD_INITIAL_CLUSTER_TOKEN`, as etcd names them. */
export function flagToEnv(name: string): string {
  return 'ETCD_' + name.toUpperCase().replace(/-/g, '_');
}
