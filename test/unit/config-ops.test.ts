// The operations flags of etcd 3.4 (issue #11) and --config-file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseArgs, type Config } from '../../src/server/config.js';
import { parseConfigFile } from '../../src/server/config-file.js';
import { FLAGS, flagToEnv } from '../../src/server/flags.js';

/** Temp dirs for config files, removed once this file's tests are done. */
const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-ts-cfg-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

function run(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const r = parseArgs(argv, env);
  if (r.kind !== 'run') throw new Error(`expected a run config, got ${r.kind}`);
  return r.config;
}

describe('operations flags', () => {
  it("etcd's defaults", () => {
    const c = run([]);
    expect([c.maxSnapshots, c.maxWals, c.backendBatchIntervalMs, c.backendBatchLimit]).toEqual([5, 5, 0, 0]);
    expect([c.grpcKeepaliveMinTimeMs, c.grpcKeepaliveIntervalMs, c.grpcKeepaliveTimeoutMs]).toEqual([5000, 7_200_000, 20_000]);
    expect(c.maxConcurrentStreams).toBe(4294967295);
    expect([c.metrics, c.cors, c.hostWhitelist, c.listenMetricsUrls]).toEqual(['basic', ['*'], ['*'], []]);
    expect([c.forceNewCluster, c.initialElectionTickAdvance, c.compactionBatchLimit, c.warningApplyDurationMs]).toEqual([false, true, 1000, 100]);
  });

  it('parses each from flags and from ETCD_* variables', () => {
    const argv = [
      '--max-snapshots=2', '--max-wals=0', '--backend-batch-interval=250ms', '--backend-batch-limit=50',
      '--max-concurrent-streams=100', '--grpc-keepalive-min-time=1s', '--grpc-keepalive-interval=0', '--grpc-keepalive-timeout=3s',
      '--metrics=extensive', '--listen-metrics-urls=http://127.0.0.1:9999', '--cors=http://a.example,http://b.example',
      '--host-whitelist=localhost,127.0.0.1', '--initial-election-tick-advance=false', '--force-new-cluster',
      '--experimental-compaction-batch-limit=10', '--experimental-warning-apply-duration=1s', '--debug',
      '--log-package-levels=etcdserver=DEBUG', '--experimental-backend-bbolt-freelist-type=map', '--unsafe-no-fsync=false',
      '--enable-grpc-gateway=true', '--experimental-enable-lease-checkpoint-persist', '--log-output=stderr',
      '--experimental-peer-skip-client-san-verification',
    ];
    const env: NodeJS.ProcessEnv = {};
    for (const a of argv) {
      const [k, v] = a.slice(2).split('=');
      env[flagToEnv(k!)] = v ?? 'true';
    }
    for (const c of [run(argv), run([], env)]) {
      expect([c.maxSnapshots, c.maxWals, c.backendBatchIntervalMs, c.backendBatchLimit]).toEqual([2, 0, 250, 50]);
      expect([c.maxConcurrentStreams, c.grpcKeepaliveMinTimeMs, c.grpcKeepaliveIntervalMs, c.grpcKeepaliveTimeoutMs]).toEqual([100, 1000, 0, 3000]);
      expect(c.metrics).toBe('extensive');
      expect(c.listenMetricsUrls.map(String)).toEqual(['http://127.0.0.1:9999/']);
      expect(c.cors).toEqual(['http://a.example', 'http://b.example']);
      expect(c.hostWhitelist).toEqual(['localhost', '127.0.0.1']);
      expect([c.initialElectionTickAdvance, c.forceNewCluster, c.compactionBatchLimit, c.warningApplyDurationMs, c.logLevel]).toEqual([
        false, true, 10, 1000, 'debug',
      ]);
    }
  });

  it('refuses bad values', () => {
    expect(() => run(['--metrics=all'])).toThrow(ConfigError);
    expect(() => run(['--max-wals=-1'])).toThrow(ConfigError);
    expect(() => run(['--grpc-keepalive-timeout=soon'])).toThrow(ConfigError);
    expect(() => run(['--experimental-backend-bbolt-freelist-type=list'])).toThrow(ConfigError);
  });

  it('refuses only security, discovery, proxy flags and those of other issue-#11 parts when not at their defaults', () => {
    const refused = FLAGS.filter((f) => !f.supported).map((f) => f.name);
    const allowed = /^(cert-file|key-file|client-|trusted-ca-file|auto-tls|peer-|cipher-suites|auth-token|bcrypt-cost|discovery|proxy|auto-compaction-|experimental-initial-corrupt-check|experimental-corrupt-check-time|enable-pprof|experimental-enable-lease-checkpoint$)/;
    expect(refused.filter((n) => !allowed.test(n))).toEqual([]);
  });
});

describe('--config-file', () => {
  // Modelled on etcd's etcd.conf.yml.sample (release-3.4 keys).
  const sample = (dir: string, p: number): string => `
name: 'm1'
data-dir: ${dir}/m1.etcd
wal-dir:
snapshot-count: 10000
heartbeat-interval: 100
election-timeout: 1000
quota-backend-bytes: 0
listen-peer-urls: http://127.0.0.1:${p + 1}
listen-client-urls: http://127.0.0.1:${p}
max-snapshots: 3
max-wals: 4
cors:
initial-advertise-peer-urls: http://127.0.0.1:${p + 1}
advertise-client-urls: http://127.0.0.1:${p}
discovery:
discovery-fallback: 'proxy'
discovery-proxy:
discovery-srv:
initial-cluster: m1=http://127.0.0.1:${p + 1}
initial-cluster-token: 'etcd-cluster'
initial-cluster-state: 'new'
strict-reconfig-check: false
enable-v2: false
enable-pprof: false
proxy: 'off'
proxy-failure-wait: 5000
proxy-refresh-interval: 30000
proxy-dial-timeout: 1000
proxy-write-timeout: 5000
proxy-read-timeout: 0
client-transport-security:
  cert-file:
  key-file:
  client-cert-auth: false
  trusted-ca-file:
  auto-tls: false
peer-transport-security:
  cert-file:
  key-file:
  client-cert-auth: false
  trusted-ca-file:
  auto-tls: false
debug: false
log-package-levels:
log-outputs: [default]
force-new-cluster: false
grpc-keepalive-timeout: 3000000000
self-signed-cert-validity: 1
`;

  it('reads the sample; other flags and ETCD_* variables are then ignored', () => {
    const dir = tempDir();
    const file = join(dir, 'etcd.conf.yml');
    writeFileSync(file, sample(dir, 40000));
    for (const c of [
      run(['--config-file', file, '--name=ignored', '--max-wals=9'], { ETCD_SNAPSHOT_COUNT: '7' }),
      run([], { ETCD_CONFIG_FILE: file, ETCD_NAME: 'ignored' }),
    ]) {
      expect(c.name).toBe('m1');
      expect(c.dataDir).toBe(`${dir}/m1.etcd`);
      expect([c.snapshotCount, c.maxSnapshots, c.maxWals, c.grpcKeepaliveTimeoutMs]).toEqual([10000, 3, 4, 3000]);
      expect(c.listenClientUrls.map(String)).toEqual(['http://127.0.0.1:40000/']);
      expect([...c.initialCluster]).toEqual([['m1', ['http://127.0.0.1:40001']]]);
      expect(c.strictReconfigCheck).toBe(false);
      expect(c.configFile).toBe(file);
      expect(c.configFileUnknown).toEqual(['self-signed-cert-validity']);
    }
  });

  it('maps values: lists joined, nested TLS keys, durations in nanoseconds or Go text; errors are ConfigErrors', () => {
    const v = parseConfigFile('log-outputs: [stderr]\npeer-transport-security:\n  cert-file: /x.crt\ngrpc-keepalive-interval: 1h\nbackend-batch-interval: 5000000\n').values;
    expect(Object.fromEntries(v)).toEqual({
      'log-outputs': 'stderr',
      'peer-cert-file': '/x.crt',
      'grpc-keepalive-interval': '1h',
      'backend-batch-interval': '5000000ns',
    });
    const dir = tempDir();
    writeFileSync(join(dir, 'tls.yml'), 'client-transport-security:\n  cert-file: /a.crt\nlisten-client-urls: https://127.0.0.1:2379\n');
    expect(() => run(['--config-file', join(dir, 'tls.yml')])).toThrow('KeyFile and CertFile must both be present[key: , cert: /a.crt]');
    expect(() => run(['--config-file', join(dir, 'missing.yml')])).toThrow(ConfigError);
    writeFileSync(join(dir, 'bad.yml'), 'name: [unclosed\n');
    expect(() => run(['--config-file', join(dir, 'bad.yml')])).toThrow(ConfigError);
    expect(parseArgs(['--config-file', join(dir, 'tls.yml'), '--version']).kind).toBe('version');
  });
});
