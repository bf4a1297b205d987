// Turns argv and ETCD_* variables into a validated Config, the way etcd does:
// `--flag=v` and `--flag v` (bool flags take no separate value), one or two
// dashes, environment variables only for flags not given on the command line,
// and a fatal error when both are given.

import { parseCompactionRetention, type AutoCompactionConfig } from './auto-compactor.js';
import { FLAG_BY_NAME, FLAGS, flagToEnv } from './flags.js';
import { ConfigFileError, readConfigFile } from './config-file.js';
import { tlsConfig, TlsConfigError, type TlsConfig } from './tls/tls-config.js';
import { AuthOptionsError, type AuthTokenSpec, parseAuthToken } from '../auth/index.js';
import { discoverySection, DiscoveryFlagsError, type DiscoverySection } from './discovery/discovery-flags.js';
import { bool, checkValue, ConfigError, duration, int, list, nonNegative, parseInitialCluster, urls, urlString } from './config-values.js';

export { ConfigError, duration, parseInitialCluster, urls, urlString } from './config-values.js';

export interface Config extends TlsConfig, DiscoverySection {
  name: string;
  dataDir: string;
  walDir: string;
  snapshotCount: number;
  heartbeatMs: number;
  electionMs: number;
  listenPeerUrls: URL[];
  listenClientUrls: URL[];
  initialAdvertisePeerUrls: URL[];
  advertiseClientUrls: URL[];
  /** name → peer URLs, from --initial-cluster. */
  initialCluster: Map<string, string[]>;
  initialClusterState: 'new' | 'existing';
  initialClusterToken: string;
  /**
   * --discovery: a v2 discovery URL (server/discovery/). With it (or another
   * discovery flag), initialCluster holds only this member until discovery
   * resolves the real one, and the URL is the cluster token, as in etcd.
   */
  discovery: string;
  /** --discovery-fallback: what a member does when the discovery cluster is full. */
  discoveryFallback: 'exit' | 'proxy';
  /** --discovery-proxy: an HTTP proxy for the requests to the discovery URL ('' : none). */
  discoveryProxy: string;
  /** --proxy-failure-wait, --proxy-refresh-interval, --proxy-dial-timeout: the fallback proxy's timings. */
  proxyFailureWaitMs: number;
  proxyRefreshIntervalMs: number;
  proxyDialTimeoutMs: number;
  maxTxnOps: number;
  maxRequestBytes: number;
  quotaBackendBytes: number;
  preVote: boolean;
  strictReconfigCheck: boolean;
  /** --experimental-max-learners. */
  maxLearners: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  /** Period of progress notifications to watchers that asked for them (etcd: 10 min, ≥ 100 ms). */
  watchProgressNotifyIntervalMs: number;
  /** --enable-pprof: /debug/pprof/ on the client port (api/pprof.ts). */
  enablePprof: boolean;
  /** --enable-grpc-gateway: the /v3 JSON gateway on the client port (api/gateway/). */
  enableGrpcGateway: boolean;
  /** --enable-v2: the v2 keys API on the client port (api/v2/). */
  enableV2: boolean;
  /** --experimental-enable-v2v3: the v3 prefix of the v2 keys ('' → api/v2/layout.ts's default). */
  v2Prefix: string;
  /** --force-new-cluster: restart as a one-member cluster, keeping the data (force-new-cluster.ts). */
  forceNewCluster: boolean;
  /** --max-snapshots / --max-wals: files kept (0: all). */
  maxSnapshots: number;
  maxWals: number;
  /** --backend-batch-interval / --backend-batch-limit: the store's batch commits (0: 100 ms / 10 000 writes). */
  backendBatchIntervalMs: number;
  backendBatchLimit: number;
  /** --experimental-compaction-batch-limit: revisions deleted per compaction batch. */
  compactionBatchLimit: number;
  /** --experimental-warning-apply-duration: applies slower than this are logged. */
  warningApplyDurationMs: number;
  /** --max-concurrent-streams and the --grpc-keepalive-* durations (0: disabled). */
  maxConcurrentStreams: number;
  grpcKeepaliveMinTimeMs: number;
  grpcKeepaliveIntervalMs: number;
  grpcKeepaliveTimeoutMs: number;
  /** --metrics: 'extensive' adds the server-side gRPC handling-time histograms. */
  metrics: 'basic' | 'extensive';
  /** --listen-metrics-urls: extra HTTP listeners for /metrics and /health. */
  listenMetricsUrls: URL[];
  /** --cors and --host-whitelist (empty or "*": all). */
  cors: string[];
  hostWhitelist: string[];
  /** --initial-election-tick-advance: once peers are connected, fast-forward election ticks (tick-advance.ts). */
  initialElectionTickAdvance: boolean;
  /** --unsafe-no-fsync: no WAL fsync, no synced store flushes (data loss at a power loss). */
  unsafeNoFsync: boolean;
  /** --config-file, when the configuration came from one (flags and ETCD_* were then ignored). */
  configFile: string;
  /** Keys of the config file etcd does not know (ignored, as etcd does). */
  configFileUnknown: string[];
  /** --auto-compaction-mode / --auto-compaction-retention (auto-compactor.ts); retention 0: off. */
  autoCompaction: AutoCompactionConfig;
  /** --experimental-initial-corrupt-check: compare HashKV with the peers before serving. */
  initialCorruptCheck: boolean;
  /** --experimental-corrupt-check-time: the leader's periodic check (0: off). */
  corruptCheckTimeMs: number;
  /** --auth-token: simple tokens, or JWTs with their key files and sign method (auth/token-options.ts). */
  authToken: AuthTokenSpec;
  /** --auth-token jwt's ttl= in ms (etcd: 5 min). */
  jwtTtlMs: number;
  /** --bcrypt-cost (out of [4, 31]: 10, as etcd). */
  bcryptCost: number;
  /** --auth-token-ttl in seconds: a simple token's lifetime without use. */
  authTokenTtlSec: number;
  /** Environment variables that were used, and ETCD_* ones that were not (etcd warns about those). */
  envUsed: string[];
  envUnknown: string[];
}

export type ParseResult = { kind: 'run'; config: Config } | { kind: 'version' } | { kind: 'help' };

export const DEFAULT_QUOTA_BYTES = 2 * 1024 * 1024 * 1024;
const MAX_ELECTION_MS = 50_000;

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = {}): ParseResult {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-' || arg === '--') {
      throw new ConfigError(`'${arg}' is not a valid flag`);
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const spec = FLAG_BY_NAME.get(name);
    if (!spec) throw new ConfigError(`flag provided but not defined: -${name}`);
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (spec.kind === 'bool') value = 'true';
    else {
      if (i + 1 >= argv.length) throw new ConfigError(`flag needs an argument: -${name}`);
      value = argv[++i]!;
    }
    given.set(name, value); // as in Go's flag package, the last one wins
  }

  if (bool(given.get('help') ?? 'false')) return { kind: 'help' };
  if (bool(given.get('version') ?? 'false')) return { kind: 'version' };
  // compose.ts reads it (with or without a configuration file); a typo must not quietly leave the lease on.
  const leaderLease = env.ETCD_TS_LEADER_LEASE;
  if (leaderLease !== undefined && leaderLease !== '' && leaderLease !== 'on' && leaderLease !== 'off') {
    throw new ConfigError(`invalid value ${JSON.stringify(leaderLease)} for ETCD_TS_LEADER_LEASE: valid values are "on", "off"`);
  }
  // As etcd: a configuration file replaces the command line and the environment.
  const configFile = given.get('config-file') || env[flagToEnv('config-file')] || '';
  if (configFile !== '') {
    let file;
    try {
      file = readConfigFile(configFile);
    } catch (err) {
      if (err instanceof ConfigFileError) throw new ConfigError(err.message);
      throw err;
    }
    for (const [name, value] of file.values) checkValue(FLAG_BY_NAME.get(name)!, value);
    return { kind: 'run', config: build(file.values, [], [], configFile, file.unknown) };
  }

  const envUsed: string[] = [];
  for (const spec of FLAGS) {
    const key = flagToEnv(spec.name);
    const v = env[key];
    if (v === undefined || v === '') continue;
    if (given.has(spec.name)) {
      throw new ConfigError(
        `conflicting environment variable "${key}" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)`,
      );
    }
    given.set(spec.name, v);
    envUsed.push(`${key}=${v}`);
  }
  const known = new Set(FLAGS.map((f) => flagToEnv(f.name)));
  // etcd warns about an ETCD_* variable no flag reads; ETCD_TS_* are etcd-ts' own
  // settings (ETCD_TS_FAILPOINTS, ETCD_TS_UI_DIR, ETCD_TS_CLIENT_H2, ETCD_TS_LEADER_LEASE), not mistyped flags.
  const envUnknown = Object.keys(env).filter((k) => k.startsWith('ETCD_') && !k.startsWith('ETCD_TS_') && !known.has(k));

  for (const [name, value] of given) checkValue(FLAG_BY_NAME.get(name)!, value);
  return { kind: 'run', config: build(given, envUsed, envUnknown, '', []) };
}

function build(given: Map<string, string>, envUsed: string[], envUnknown: string[], configFile: string, configFileUnknown: string[]): Config {
  const get = (name: string): string => given.get(name) ?? FLAG_BY_NAME.get(name)!.default;
  const name = get('name');
  const dataDir = given.get('data-dir') || `${name}.etcd`;
  const heartbeatMs = int(get('heartbeat-interval'), 'heartbeat-interval');
  const electionMs = int(get('election-timeout'), 'election-timeout');
  if (heartbeatMs <= 0) throw new ConfigError('--heartbeat-interval must be > 0');
  if (electionMs < 5 * heartbeatMs) {
    throw new ConfigError(
      `--election-timeout[${electionMs}ms] should be at least as 5 times as --heartbeat-interval[${heartbeatMs}ms]`,
    );
  }
  if (electionMs > MAX_ELECTION_MS) {
    throw new ConfigError(`--election-timeout[${electionMs}ms] is too long, and should be set less than ${MAX_ELECTION_MS}ms`);
  }
  const state = get('initial-cluster-state');
  if (state !== 'new' && state !== 'existing') {
    throw new ConfigError(`invalid value "${state}" for flag -initial-cluster-state: valid values are "new", "existing"`);
  }
  const logLevel = bool(get('debug')) ? 'debug' : get('log-level');
  if (!['debug', 'info', 'warn', 'error', 'panic', 'fatal'].includes(logLevel)) {
    throw new ConfigError(`unknown log level: ${logLevel}`);
  }
  const quota = int(get('quota-backend-bytes'), 'quota-backend-bytes');
  // The conflict check (one way to name the initial cluster) comes first.
  const discovery = discoveryFlags(get, (n) => given.has(n));
  const boot = bootstrapSource(given, get, name);

  const cfg: Config = {
    name,
    dataDir,
    walDir: get('wal-dir'),
    snapshotCount: int(get('snapshot-count'), 'snapshot-count'),
    heartbeatMs,
    electionMs,
    listenPeerUrls: urls(get('listen-peer-urls'), 'listen-peer-urls'),
    listenClientUrls: urls(get('listen-client-urls'), 'listen-client-urls'),
    initialAdvertisePeerUrls: urls(get('initial-advertise-peer-urls'), 'initial-advertise-peer-urls'),
    advertiseClientUrls: urls(get('advertise-client-urls'), 'advertise-client-urls'),
    // With discovery: this member alone until discovery/ finds the cluster at start.
    initialCluster: boot.initialCluster,
    initialClusterState: state,
    initialClusterToken: boot.token,
    discovery: get('discovery'),
    discoveryFallback: get('discovery-fallback') as Config['discoveryFallback'],
    discoveryProxy: get('discovery-proxy'),
    proxyFailureWaitMs: nonNegative(get('proxy-failure-wait'), 'proxy-failure-wait'),
    proxyRefreshIntervalMs: nonNegative(get('proxy-refresh-interval'), 'proxy-refresh-interval'),
    proxyDialTimeoutMs: nonNegative(get('proxy-dial-timeout'), 'proxy-dial-timeout'),
    maxTxnOps: int(get('max-txn-ops'), 'max-txn-ops'),
    maxRequestBytes: int(get('max-request-bytes'), 'max-request-bytes'),
    // etcd: 0 means the default quota, a negative value disables it.
    quotaBackendBytes: quota === 0 ? DEFAULT_QUOTA_BYTES : quota,
    preVote: bool(get('pre-vote')),
    strictReconfigCheck: bool(get('strict-reconfig-check')),
    maxLearners: int(get('experimental-max-learners'), 'experimental-max-learners'),
    logLevel: logLevel === 'panic' ? 'fatal' : (logLevel as Config['logLevel']),
    autoCompaction: autoCompaction(get('auto-compaction-mode'), get('auto-compaction-retention')),
    initialCorruptCheck: bool(get('experimental-initial-corrupt-check')),
    corruptCheckTimeMs: duration(get('experimental-corrupt-check-time'), 'experimental-corrupt-check-time'),
    watchProgressNotifyIntervalMs: progressInterval(duration(get('experimental-watch-progress-notify-interval'), 'experimental-watch-progress-notify-interval')),
    enablePprof: bool(get('enable-pprof')),
    enableGrpcGateway: bool(get('enable-grpc-gateway')),
    enableV2: bool(get('enable-v2')),
    v2Prefix: get('experimental-enable-v2v3'),
    forceNewCluster: bool(get('force-new-cluster')),
    maxSnapshots: nonNegative(get('max-snapshots'), 'max-snapshots'),
    maxWals: nonNegative(get('max-wals'), 'max-wals'),
    backendBatchIntervalMs: duration(get('backend-batch-interval'), 'backend-batch-interval'),
    backendBatchLimit: int(get('backend-batch-limit'), 'backend-batch-limit'),
    compactionBatchLimit: int(get('experimental-compaction-batch-limit'), 'experimental-compaction-batch-limit'),
    warningApplyDurationMs: duration(get('experimental-warning-apply-duration'), 'experimental-warning-apply-duration'),
    maxConcurrentStreams: nonNegative(get('max-concurrent-streams'), 'max-concurrent-streams'),
    grpcKeepaliveMinTimeMs: duration(get('grpc-keepalive-min-time'), 'grpc-keepalive-min-time'),
    grpcKeepaliveIntervalMs: duration(get('grpc-keepalive-interval'), 'grpc-keepalive-interval'),
    grpcKeepaliveTimeoutMs: duration(get('grpc-keepalive-timeout'), 'grpc-keepalive-timeout'),
    metrics: get('metrics') as Config['metrics'],
    listenMetricsUrls: urls(get('listen-metrics-urls'), 'listen-metrics-urls'),
    cors: list(get('cors')),
    hostWhitelist: list(get('host-whitelist')),
    initialElectionTickAdvance: bool(get('initial-election-tick-advance')),
    unsafeNoFsync: bool(get('unsafe-no-fsync')),
    ...tlsSection(get),
    ...discovery,
    ...authTokenConfig(get('auth-token')),
    bcryptCost: int(get('bcrypt-cost'), 'bcrypt-cost'),
    authTokenTtlSec: int(get('auth-token-ttl'), 'auth-token-ttl'),
    configFile,
    configFileUnknown,
    envUsed,
    envUnknown,
  };
  if (cfg.snapshotCount <= 0) throw new ConfigError('--snapshot-count must be > 0');
  if (cfg.maxLearners < 1) throw new ConfigError('--experimental-max-learners must be > 0');
  if (cfg.maxTxnOps <= 0) throw new ConfigError('--max-txn-ops must be > 0');
  if (cfg.maxRequestBytes <= 0) throw new ConfigError('--max-request-bytes must be > 0');
  if (cfg.listenClientUrls.length === 0) throw new ConfigError('--listen-client-urls must not be empty');
  if (cfg.bootstrapByDiscovery) return cfg;
  const mine = cfg.initialCluster.get(name);
  if (!mine) {
    throw new ConfigError(
      `couldn't find local name "${name}" in the initial cluster configuration (--initial-cluster=${get('initial-cluster')})`,
    );
  }
  const adv = cfg.initialAdvertisePeerUrls.map((u) => urlString(u)).sort();
  if (adv.join(',') !== [...mine].sort().join(',')) {
    throw new ConfigError(
      `--initial-cluster has ${name}=${mine.join(',')} but missing from --initial-advertise-peer-urls=${adv.join(',')}`,
    );
  }
  return cfg;
}

/**
 * Where the initial cluster comes from (etcd's PeerURLsMapAndToken). A discovery
 * flag replaces --initial-cluster, which must then not be given (etcd clears only
 * its default): the cluster is this member alone until server/discovery/ resolves
 * it, and a --discovery URL is also the cluster token the member ids derive from.
 * Discovery flags other than --discovery join `discoveryFlags` here.
 */
function bootstrapSource(
  given: Map<string, string>,
  get: (name: string) => string,
  name: string,
): { initialCluster: Map<string, string[]>; token: string } {
  // discoverySection() has refused more than one source already.
  const discoveryFlags = ['discovery', 'discovery-srv', 'discovery-endpoints'].filter((f) => get(f) !== '');
  if (discoveryFlags.length === 0) return { initialCluster: parseInitialCluster(get('initial-cluster')), token: get('initial-cluster-token') };
  const self = urls(get('initial-advertise-peer-urls'), 'initial-advertise-peer-urls').map(urlString);
  const token = get('discovery') !== '' ? get('discovery') : get('initial-cluster-token');
  return { initialCluster: new Map([[name, self]]), token };
}

/** The TLS flags, checked against the listen URLs (tls/tls-config.ts). */
function tlsSection(get: (name: string) => string): TlsConfig {
  try {
    return tlsConfig(get, bool, {
      listenClientUrls: urls(get('listen-client-urls'), 'listen-client-urls'),
      listenMetricsUrls: urls(get('listen-metrics-urls'), 'listen-metrics-urls'),
      listenPeerUrls: urls(get('listen-peer-urls'), 'listen-peer-urls'),
    });
  } catch (err) {
    if (err instanceof TlsConfigError) throw new ConfigError(err.message);
    throw err;
  }
}

/** --discovery-srv and v3 discovery's flags (discovery/discovery-flags.ts). */
function discoveryFlags(get: (name: string) => string, given: (name: string) => boolean): DiscoverySection {
  try {
    return discoverySection(get, given, { duration, bool });
  } catch (err) {
    // Flags that parse but do not fit together: etcd exits 1.
    if (err instanceof DiscoveryFlagsError) throw new ConfigError(err.message, 1);
    throw err;
  }
}

const DEFAULT_JWT_TTL_MS = 5 * 60_000;

function authTokenConfig(v: string): { authToken: AuthTokenSpec; jwtTtlMs: number } {
  let authToken: AuthTokenSpec;
  try {
    authToken = parseAuthToken(v);
  } catch (err) {
    if (err instanceof AuthOptionsError) throw new ConfigError(`--auth-token: ${err.message}`);
    throw err;
  }
  const jwtTtlMs = authToken.type === 'jwt' && authToken.ttl !== '' ? duration(authToken.ttl, 'auth-token ttl') : DEFAULT_JWT_TTL_MS;
  return { authToken, jwtTtlMs };
}

const DEFAULT_WATCH_PROGRESS_MS = 10 * 60_000;
const MIN_WATCH_PROGRESS_MS = 100;

/** etcd keeps its default for a value ≤ 0 and raises anything below the minimum to it. */
function progressInterval(ms: number): number {
  if (ms <= 0) return DEFAULT_WATCH_PROGRESS_MS;
  return Math.max(ms, MIN_WATCH_PROGRESS_MS);
}

export function usage(): string {
  const lines = ['Usage:', '', '  etcd-ts [flags]', '  Start an etcd-ts member (flags and ETCD_* variables as etcd 3.4).', '', 'Flags:'];
  for (const f of FLAGS) {
    if (!f.supported) continue;
    lines.push(`  --${f.name} '${f.default}'`, `      ${f.help}`);
  }
  lines.push('', 'Known etcd flags that etcd-ts does not support yet (refused when set to another value):');
  lines.push('  ' + FLAGS.filter((f) => !f.supported).map((f) => `--${f.name}`).join(' '));
  return lines.join('\n') + '\n';
}

function autoCompaction(mode: string, retention: string): AutoCompactionConfig {
  try {
    return parseCompactionRetention(mode, retention);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}
