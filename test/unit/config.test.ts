import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_QUOTA_BYTES, parseArgs, type Config } from '../../src/server/config.js';

function run(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const r = parseArgs(argv, env);
  if (r.kind !== 'run') throw new Error(`expected a run config, got ${r.kind}`);
  return r.config;
}

describe('flags', () => {
  it("uses etcd's defaults", () => {
    const c = run([]);
    expect(c.name).toBe('default');
    expect(c.dataDir).toBe('default.etcd');
    expect(c.listenClientUrls.map((u) => u.href)).toEqual(['http://localhost:2379/']);
    expect(c.heartbeatMs).toBe(100);
    expect(c.electionMs).toBe(1000);
    expect(c.snapshotCount).toBe(100000);
    expect(c.maxRequestBytes).toBe(1572864);
    expect(c.maxTxnOps).toBe(128);
    expect(c.quotaBackendBytes).toBe(DEFAULT_QUOTA_BYTES);
    expect(c.initialClusterToken).toBe('etcd-cluster');
    expect(c.initialClusterState).toBe('new');
    expect([...c.initialCluster]).toEqual([['default', ['http://localhost:2380']]]);
  });

  it('takes --flag=v, --flag v and single-dash forms; the data dir follows the name', () => {
    const c = run([
      '--name=n1',
      '--initial-cluster',
      'n1=http://127.0.0.1:12380',
      '-initial-advertise-peer-urls=http://127.0.0.1:12380',
      '--snapshot-count',
      '42',
      '--pre-vote',
    ]);
    expect(c.name).toBe('n1');
    expect(c.dataDir).toBe('n1.etcd');
    expect(c.snapshotCount).toBe(42);
    expect(c.preVote).toBe(true);
  });

  it('reads ETCD_* variables for flags not given, and refuses a variable shadowed by a flag', () => {
    const c = run([], { ETCD_DATA_DIR: '/tmp/x', ETCD_LOG_LEVEL: 'debug', ETCD_BOGUS: '1', ETCD_TS_CLIENT_H2: 'own' });
    expect(c.dataDir).toBe('/tmp/x');
    expect(c.logLevel).toBe('debug');
    expect(c.envUnknown).toEqual(['ETCD_BOGUS']); // ETCD_TS_*: etcd-ts' own settings
    expect(() => run(['--data-dir', '/a'], { ETCD_DATA_DIR: '/b' })).toThrow(/conflicting environment variable "ETCD_DATA_DIR"/);
  });

  it('takes ETCD_TS_LEADER_LEASE=on|off and refuses any other value', () => {
    expect(run([], { ETCD_TS_LEADER_LEASE: 'off' }).envUnknown).toEqual([]);
    expect(run([], { ETCD_TS_LEADER_LEASE: 'on' }).envUnknown).toEqual([]);
    expect(() => run([], { ETCD_TS_LEADER_LEASE: 'false' })).toThrow(
      new ConfigError('invalid value "false" for ETCD_TS_LEADER_LEASE: valid values are "on", "off"'),
    );
  });

  it('rejects unknown flags, missing values and malformed values', () => {
    expect(() => run(['--no-such-flag'])).toThrow(new ConfigError('flag provided but not defined: -no-such-flag'));
    expect(() => run(['--snapshot-count'])).toThrow(/flag needs an argument/);
    expect(() => run(['--snapshot-count', 'ten'])).toThrow(/invalid value "ten"/);
    expect(() => run(['--listen-client-urls', 'not a url'])).toThrow(/invalid URL/);
    expect(() => run(['--listen-client-urls', 'http://127.0.0.1'])).toThrow(/host:port/);
    expect(() => run(['--pre-vote=maybe'])).toThrow(/invalid boolean/);
    expect(() => run(['--initial-cluster-state', 'old'])).toThrow(/valid values are "new", "existing"/);
    expect(() => run(['positional'])).toThrow(/'positional' is not a valid flag/);
  });

  it('--auto-compaction-mode/--auto-compaction-retention as etcd parses them', () => {
    expect(run([]).autoCompaction).toEqual({ mode: 'periodic', retention: 0 });
    expect(run(['--auto-compaction-retention', '1']).autoCompaction).toEqual({ mode: 'periodic', retention: 3_600_000 });
    expect(run(['--auto-compaction-mode', 'revision', '--auto-compaction-retention', '1000']).autoCompaction).toEqual({ mode: 'revision', retention: 1000 });
    expect(() => run(['--auto-compaction-mode', 'daily'])).toThrow('unknown auto-compaction-mode "daily"');
  });

  it('--auth-token, --auth-token-ttl, --bcrypt-cost (flags and ETCD_* variables), with etcd\'s defaults', () => {
    expect(run([])).toMatchObject({ authToken: { type: 'simple' }, authTokenTtlSec: 300, bcryptCost: 10, jwtTtlMs: 300_000 });
    expect(run(['--auth-token', 'jwt,pub-key=/k.pub,priv-key=/k.key,sign-method=ES256,ttl=90s', '--bcrypt-cost=12'])).toMatchObject({
      authToken: { type: 'jwt', signMethod: 'ES256', pubKeyFile: '/k.pub', privKeyFile: '/k.key' },
      jwtTtlMs: 90_000,
      bcryptCost: 12,
    });
    expect(run([], { ETCD_AUTH_TOKEN_TTL: '60', ETCD_AUTH_TOKEN: 'simple' })).toMatchObject({ authTokenTtlSec: 60, authToken: { type: 'simple' } });
    expect(() => run(['--auth-token', 'oauth'])).toThrow(/--auth-token: unknown token type: oauth/);
    expect(() => run(['--auth-token', 'jwt,ttl=soon'])).toThrow(ConfigError);
    expect(() => run(['--bcrypt-cost', 'ten'])).toThrow(ConfigError);
  });

  it('refuses etcd flags it does not support yet, unless given their default', () => {
    expect(() => run(['--proxy', 'on'])).toThrow(/--proxy is not supported by etcd-ts yet/);
    expect(run(['--proxy', 'off']).name).toBe('default');
    expect(run(['--logger=zap', '--log-outputs=stderr']).name).toBe('default');
    // Leases are always checkpointed, so either value means what etcd-ts does.
    expect(run(['--experimental-enable-lease-checkpoint=true']).name).toBe('default');
    expect(run(['--experimental-enable-lease-checkpoint=false']).name).toBe('default');
    expect(() => run(['--experimental-enable-lease-checkpoint=maybe'])).toThrow();
  });

  it('checks the election timeout against the heartbeat, and that this member is in the initial cluster', () => {
    expect(() => run(['--heartbeat-interval', '100', '--election-timeout', '400'])).toThrow(/at least as 5 times/);
    expect(() => run(['--election-timeout', '60000'])).toThrow(/too long/);
    expect(() => run(['--name', 'other'])).toThrow(/couldn't find local name "other"/);
  });

  it('--experimental-watch-progress-notify-interval: Go durations, etcd default 10m, at least 100ms', () => {
    const flag = '--experimental-watch-progress-notify-interval';
    expect(run([]).watchProgressNotifyIntervalMs).toBe(600_000);
    expect(run([flag, '1h2m3.5s']).watchProgressNotifyIntervalMs).toBe(3_723_500);
    expect(run([`${flag}=250ms`]).watchProgressNotifyIntervalMs).toBe(250);
    expect(run([flag, '10ms']).watchProgressNotifyIntervalMs).toBe(100);
    expect(run([flag, '0']).watchProgressNotifyIntervalMs).toBe(600_000);
    expect(run([], { ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL: '2s' }).watchProgressNotifyIntervalMs).toBe(2000);
    expect(() => run([flag, '5'])).toThrow('invalid value "5" for flag -experimental-watch-progress-notify-interval: parse error');
    expect(() => run([flag, '1x'])).toThrow(/parse error/);
  });

  it('--unsafe-no-fsync is strictly opt-in (flag or ETCD_UNSAFE_NO_FSYNC)', () => {
    expect(run([]).unsafeNoFsync).toBe(false);
    expect(run(['--unsafe-no-fsync']).unsafeNoFsync).toBe(true);
    expect(run(['--unsafe-no-fsync=false']).unsafeNoFsync).toBe(false);
    expect(run([], { ETCD_UNSAFE_NO_FSYNC: 'true' }).unsafeNoFsync).toBe(true);
  });

  it('answers --version and --help without a config', () => {
    expect(parseArgs(['--version']).kind).toBe('version');
    expect(parseArgs(['--help']).kind).toBe('help');
  });
});
