// The discovery flags in parseArgs (discovery/discovery-flags.ts): --discovery-srv
// and v3 discovery's flags with their defaults and ETCD_* variables, the default
// initial cluster dropped, and etcd's refusals.

import { describe, expect, it } from 'vitest';
import { ConfigError, parseArgs, type Config } from '../../src/server/config.js';

function run(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const r = parseArgs(argv, env);
  if (r.kind !== 'run') throw new Error(`expected a run config, got ${r.kind}`);
  return r.config;
}

const refused = (argv: string[], text: string, env: NodeJS.ProcessEnv = {}): void => {
  expect(() => run(argv, env)).toThrow(ConfigError);
  expect(() => run(argv, env)).toThrow(text);
};

describe('--discovery-srv', () => {
  it('drops the default initial cluster (it comes from DNS) and keeps the domain and service name', () => {
    const c = run(['--name', 'infra0', '--initial-advertise-peer-urls', 'http://infra0.example.com:2380', '--discovery-srv', 'example.com', '--discovery-srv-name', 'blue']);
    expect(c.discoverySrv).toBe('example.com');
    expect(c.discoverySrvName).toBe('blue');
    expect(c.bootstrapByDiscovery).toBe(true);
    // Only this member until discovery/ looks the cluster up at start.
    expect([...c.initialCluster]).toEqual([['infra0', ['http://infra0.example.com:2380']]]);
    expect(c.v3Discovery).toBeUndefined();
  });

  it('is read from ETCD_DISCOVERY_SRV and ETCD_DISCOVERY_SRV_NAME', () => {
    const c = run([], { ETCD_DISCOVERY_SRV: 'example.com', ETCD_DISCOVERY_SRV_NAME: 'x' });
    expect([c.discoverySrv, c.discoverySrvName]).toEqual(['example.com', 'x']);
    expect(c.envUsed).toEqual(['ETCD_DISCOVERY_SRV=example.com', 'ETCD_DISCOVERY_SRV_NAME=x']);
  });

  it('with --initial-cluster (flag or variable) is refused with etcd 3.4\'s text', () => {
    const text = 'multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery" or "discovery-srv"';
    refused(['--discovery-srv', 'example.com', '--initial-cluster', 'default=http://localhost:2380'], text);
    refused(['--discovery-srv', 'example.com'], text, { ETCD_INITIAL_CLUSTER: 'default=http://localhost:2380' });
  });

  it('--discovery-srv-name alone changes nothing', () => {
    expect([...run(['--discovery-srv-name', 'x']).initialCluster]).toEqual([['default', ['http://localhost:2380']]]);
  });
});

describe('v3 discovery flags', () => {
  it('have etcd 3.6\'s defaults', () => {
    const c = run(['--discovery-endpoints', 'http://10.0.0.1:2379,10.0.0.2:2379', '--discovery-token', 't1']);
    expect(c.bootstrapByDiscovery).toBe(true);
    expect([...c.initialCluster]).toEqual([['default', ['http://localhost:2380']]]);
    expect(c.v3Discovery).toEqual({
      endpoints: ['http://10.0.0.1:2379', '10.0.0.2:2379'],
      token: 't1',
      dialTimeoutMs: 2000,
      requestTimeoutMs: 5000,
      keepaliveTimeMs: 2000,
      keepaliveTimeoutMs: 6000,
      insecureTransport: true,
      insecureSkipTlsVerify: false,
      certFile: '',
      keyFile: '',
      cacertFile: '',
      user: '',
      password: '',
    });
  });

  it('take their values from flags and ETCD_* variables; user:password splits', () => {
    const c = run(
      ['--discovery-endpoints', 'h:1', '--discovery-dial-timeout', '1s', '--discovery-request-timeout=500ms', '--discovery-insecure-transport=false', '--discovery-user', 'root:pw'],
      { ETCD_DISCOVERY_TOKEN: 'tk', ETCD_DISCOVERY_KEEPALIVE_TIME: '3s', ETCD_DISCOVERY_CACERT: '/ca.pem', ETCD_DISCOVERY_INSECURE_SKIP_TLS_VERIFY: 'true' },
    );
    expect(c.v3Discovery).toMatchObject({
      token: 'tk',
      dialTimeoutMs: 1000,
      requestTimeoutMs: 500,
      keepaliveTimeMs: 3000,
      insecureTransport: false,
      insecureSkipTlsVerify: true,
      cacertFile: '/ca.pem',
      user: 'root',
      password: 'pw',
    });
    expect(run(['--discovery-endpoints', 'h:1', '--discovery-token', 't', '--discovery-user', 'u', '--discovery-password', 'a:b']).v3Discovery).toMatchObject({ user: 'u', password: 'a:b' });
  });

  it('are refused as etcd 3.6 refuses them', () => {
    refused(['--discovery-token', 't'], 'both --discovery-token and --discovery-endpoints must be set');
    refused(['--discovery-endpoints', 'h:1'], 'both --discovery-token and --discovery-endpoints must be set');
    refused(['--discovery-endpoints', 'h:1,,h:2', '--discovery-token', 't'], '--discovery-endpoints must not contain empty endpoints');
    refused(
      ['--discovery-endpoints', 'h:1', '--discovery-token', 't', '--discovery-srv', 'example.com'],
      'multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery-endpoints" or "discovery-srv"',
    );
    refused(['--discovery-endpoints', 'h:1', '--discovery-token', 't', '--discovery-dial-timeout', 'soon'], 'invalid value "soon" for flag -discovery-dial-timeout: parse error');
  });

  it('refuse what etcd-ts cannot do: a password prompt, a certificate without its key', () => {
    refused(['--discovery-endpoints', 'h:1', '--discovery-token', 't', '--discovery-user', 'root'], 'etcd-ts does not prompt');
    refused(['--discovery-endpoints', 'h:1', '--discovery-token', 't', '--discovery-cert', '/c.pem'], '--discovery-cert and --discovery-key must be given together');
  });
});
