// etcd's command-line flags: names, defaults, and which ones etcd-ts honours.
// Operators keep their scripts, so every flag etcd 3.4 knows is known here too:
// a supported flag is parsed and used (or, where it has no meaning for etcd-ts,
// accepted for a reason the README's flags table gives), one whose feature comes
// with its own issue (say, --proxy on) is refused with a clear message
// unless set to its default, and a flag etcd does not have is an error.

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
  s('enable-v2', 'bool', 'false', 'Accept etcd V2 client requests (the v2 keys API, kept in the v3 store under a reserved prefix).'),
  s('experimental-watch-progress-notify-interval', 'duration', '10m', 'Duration of periodic watch progress notifications (at least 100ms).'),
  s('enable-pprof', 'bool', 'false', 'Enable runtime profiling data via HTTP server. Address is at client URL + "/debug/pprof/" (V8 CPU profiles and heap snapshots).'),
  s('version', 'bool', 'false', 'Print the version and exit.'),
  s('help', 'bool', 'false', 'Show this help and exit.'),
  s('initial-election-tick-advance', 'bool', 'true', 'Whether to fast-forward initial election ticks on boot for faster election.'),
  s('max-snapshots', 'int', '5', 'Maximum number of snapshot files to retain (0 is unlimited).'),
  s('max-wals', 'int', '5', 'Maximum number of wal files to retain (0 is unlimited).'),
  s('backend-batch-interval', 'duration', '0', 'BackendBatchInterval is the maximum time before commit the backend transaction (0: 100ms).'),
  s('backend-batch-limit', 'int', '0', 'BackendBatchLimit is the maximum operations before commit the backend transaction (0: 10000).'),
  s('max-concurrent-streams', 'int', '4294967295', 'Maximum concurrent streams that each client can open at a time.'),
  s('grpc-keepalive-min-time', 'duration', '5s', 'Minimum interval duration that a client should wait before pinging server.'),
  s('grpc-keepalive-interval', 'duration', '2h', 'Frequency duration of server-to-client ping to check if a connection is alive (0 to disable).'),
  s('grpc-keepalive-timeout', 'duration', '20s', 'Additional duration of wait before closing a non-responsive connection (0 to disable).'),
  s('discovery', 'string', '', 'Discovery URL used to bootstrap the cluster.'),
  s('discovery-fallback', 'string', 'proxy', 'Expected behavior (\'exit\' or \'proxy\') when discovery services fails. The proxy forwards every client connection to the members (v3 and v2; etcd 3.4\'s proxy: v2 only).'),
  s('discovery-proxy', 'string', '', 'HTTP proxy to use for traffic to discovery service.'),
  s('discovery-srv', 'string', '', 'DNS domain used to bootstrap initial cluster (SRV records _etcd-server-ssl._tcp / _etcd-server._tcp).'),
  s('discovery-srv-name', 'string', '', 'Service name to query when using DNS discovery (suffix -<name> of the SRV service).'),
  // etcd 3.6's v3 discovery (discovery/v3-discovery.ts): a registry on any v3 cluster.
  s('discovery-endpoints', 'string', '', 'V3 discovery: List of gRPC endpoints of the discovery service.'),
  s('discovery-token', 'string', '', 'V3 discovery: discovery token for the etcd cluster to be bootstrapped.'),
  s('discovery-dial-timeout', 'duration', '2s', 'V3 discovery: dial timeout for client connections.'),
  s('discovery-request-timeout', 'duration', '5s', 'V3 discovery: timeout for discovery requests (excluding dial timeout).'),
  s('discovery-keepalive-time', 'duration', '2s', 'V3 discovery: keepalive time for client connections.'),
  s('discovery-keepalive-timeout', 'duration', '6s', 'V3 discovery: keepalive timeout for client connections.'),
  s('discovery-insecure-transport', 'bool', 'true', 'V3 discovery: disable transport security for client connections.'),
  s('discovery-insecure-skip-tls-verify', 'bool', 'false', 'V3 discovery: skip server certificate verification (CAUTION: this option should be enabled only for testing purposes).'),
  s('discovery-cert', 'string', '', 'V3 discovery: identify secure client using this TLS certificate file.'),
  s('discovery-key', 'string', '', 'V3 discovery: identify secure client using this TLS key file.'),
  s('discovery-cacert', 'string', '', 'V3 discovery: verify certificates of TLS-enabled secure servers using this CA bundle.'),
  s('discovery-user', 'string', '', 'V3 discovery: username[:password] for authentication (etcd-ts does not prompt: give the password too).'),
  s('discovery-password', 'string', '', 'V3 discovery: password for authentication (if this option is used, --discovery-user shouldn\'t include password).'),
  s('auto-compaction-retention', 'string', '0', "Auto compaction retention for mvcc key value store. 0 means disable auto compaction."),
  s('auto-compaction-mode', 'string', 'periodic', "interpret 'auto-compaction-retention' one of: periodic|revision. 'periodic' for duration based retention, defaulting to hours if no time unit is provided (e.g. '5m'). 'revision' for revision number based retention."),
  s('cert-file', 'string', '', 'Path to the client server TLS cert file.'),
  s('key-file', 'string', '', 'Path to the client server TLS key file.'),
  s('client-cert-auth', 'bool', 'false', 'Enable client cert authentication.'),
  s('client-crl-file', 'string', '', 'Path to the client certificate revocation list file.'),
  s('client-cert-allowed-hostname', 'string', '', 'Allowed TLS hostname for client cert authentication.'),
  s('trusted-ca-file', 'string', '', 'Path to the client server TLS trusted CA cert file.'),
  s('auto-tls', 'bool', 'false', 'Client TLS using generated certificates.'),
  s('peer-cert-file', 'string', '', 'Path to the peer server TLS cert file.'),
  s('peer-key-file', 'string', '', 'Path to the peer server TLS key file.'),
  s('peer-client-cert-auth', 'bool', 'false', 'Enable peer client cert authentication.'),
  s('peer-trusted-ca-file', 'string', '', 'Path to the peer server TLS trusted CA file.'),
  s('peer-cert-allowed-cn', 'string', '', 'Required CN for client certs connecting to the peer endpoint.'),
  s('peer-cert-allowed-hostname', 'string', '', 'Allowed TLS hostname for inter peer authentication.'),
  s('peer-auto-tls', 'bool', 'false', 'Peer TLS using self-generated certificates if --peer-key-file and --peer-cert-file are not provided.'),
  s('peer-crl-file', 'string', '', 'Path to the peer certificate revocation list file.'),
  s('cipher-suites', 'string', '', 'Comma-separated list of supported TLS cipher suites between client/server and peers (empty will be auto-populated by Node.js).'),
  s('cors', 'string', '*', 'Comma-separated white list of origins for CORS, or cross-origin resource sharing, (empty or * means allow all).'),
  s('host-whitelist', 'string', '*', 'Acceptable hostnames from HTTP client requests, if server is not secure (empty means allow all).'),
  s('auth-token', 'string', 'simple', "Specify auth token specific options: 'simple', or 'jwt,pub-key=<file>,priv-key=<file>,sign-method=<RS256|RS384|RS512|PS256|PS384|PS512|ES256|ES384|ES512|HS256|HS384|HS512>[,ttl=5m]'."),
  s('bcrypt-cost', 'int', '10', 'Specify bcrypt algorithm cost factor for auth password hashing (4 to 31; other values mean 10).'),
  s('auth-token-ttl', 'int', '300', 'The lifetime in seconds of a simple auth token (renewed on each use).'),
  s('metrics', 'string', 'basic', "Set level of detail for exported metrics, specify 'extensive' to include server side grpc histogram metrics."),
  s('listen-metrics-urls', 'urls', '', 'List of URLs to listen on for the metrics and health endpoints.'),
  later('proxy', 'string', 'off'),
  s('proxy-failure-wait', 'int', '5000', 'Time (in milliseconds) an endpoint will be held in a failed state (a discovery-fallback proxy).'),
  s('proxy-refresh-interval', 'int', '30000', 'Time (in milliseconds) of the endpoints refresh interval (a discovery-fallback proxy).'),
  s('proxy-dial-timeout', 'int', '1000', 'Time (in milliseconds) for a dial to timeout (a discovery-fallback proxy).'),
  later('proxy-write-timeout', 'int', '5000'),
  later('proxy-read-timeout', 'int', '0'),
  s('experimental-initial-corrupt-check', 'bool', 'false', 'Enable to check data corruption before serving any client/peer traffic.'),
  s('experimental-corrupt-check-time', 'duration', '0s', 'Duration of time between cluster corruption check passes.'),
  s('experimental-enable-v2v3', 'string', '', 'v3 prefix for serving emulated v2 state (with --enable-v2; empty: "v2/", the prefix etcd\'s v2v3 tests use). etcd-ts always emulates v2 over v3.'),
  s('experimental-backend-bbolt-freelist-type', 'string', 'array', "bbolt's freelist type ('array' or 'map'); accepted, meaningless for the LevelDB backend."),
  // Long leases' remaining TTL is always checkpointed through Raft (what `true` asks for);
  // `false`, etcd 3.4's default, is accepted because checkpointing only ever keeps a lease longer.
  later('experimental-enable-lease-checkpoint', 'bool', 'false', ['false', 'true']),
  s('experimental-enable-lease-checkpoint-persist', 'bool', 'false', 'Remaining TTLs of checkpointed leases are always kept across restarts by etcd-ts; accepted.'),
  s('experimental-compaction-batch-limit', 'int', '1000', 'Sets the maximum revisions deleted in each compaction batch.'),
  s('experimental-peer-skip-client-san-verification', 'bool', 'false', 'Skip verification of SAN field in client certificate for peer connections.'),
  s('experimental-warning-apply-duration', 'duration', '100ms', 'Time duration after which a warning is generated if request takes more time.'),
  s('force-new-cluster', 'bool', 'false', 'Force to create a new one member cluster.'),
  s('debug', 'bool', 'false', 'Enable debug-level logging for etcd (same as --log-level=debug).'),
  s('log-package-levels', 'string', '', "capnslog's per-package levels; accepted, etcd-ts has one logger (use --log-level)."),
  s('log-output', 'string', 'default', "Deprecated in etcd 3.4 for --log-outputs; accepted ('default' and 'stderr')."),
  s('enable-grpc-gateway', 'bool', 'true', 'Enable GRPC gateway.'),
  s('unsafe-no-fsync', 'bool', 'false', 'Disables fsync, unsafe, will cause data loss.'),
  s('config-file', 'string', '', 'Path to the server configuration file. Note that if a configuration file is provided, other command line flags and environment variables will be ignored.'),
];

export const FLAG_BY_NAME = new Map(FLAGS.map((f) => [f.name, f]));

/** `--initial-cluster-token` → `ETCD_INITIAL_CLUSTER_TOKEN`, as etcd names them. */
export function flagToEnv(name: string): string {
  return 'ETCD_' + name.toUpperCase().replace(/-/g, '_');
}
