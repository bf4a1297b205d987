// The pure parts of discovery: the flags, etcd's URLsMap text, the backoff, the
// v2 path rules and the registrations → initial-cluster step.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseArgs, type Config } from '../../src/server/config.js';
import { DiscoveryProtocolError } from '../../src/server/discovery/errors.js';
import { allUrls, formatUrlsMap, hasDuplicateUrl, parseUrlsMap } from '../../src/server/discovery/urls-map.js';
import { backoffMs, nodesToCluster } from '../../src/server/discovery/v2-client.js';
import { canonicalPath } from '../../src/server/discovery/v2-keys-http.js';
import { parseProxy } from '../../src/server/discovery/v2-url.js';

function run(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const r = parseArgs(argv, env);
  if (r.kind !== 'run') throw new Error(`expected a run config, got ${r.kind}`);
  return r.config;
}

const URL1 = 'http://127.0.0.1:2379/v2/keys/discovery/abc';

describe('discovery flags', () => {
  it('--discovery: the cluster is this member alone until discovery, and the URL is the cluster token', () => {
    const c = run(['--name', 'n1', '--initial-advertise-peer-urls', 'http://10.0.0.1:2380,http://10.0.0.2:2380', '--discovery', URL1, '--initial-cluster-token', 'ignored']);
    expect(c.discovery).toBe(URL1);
    expect(c.initialCluster).toEqual(new Map([['n1', ['http://10.0.0.1:2380', 'http://10.0.0.2:2380']]]));
    expect(c.initialClusterToken).toBe(URL1);
    expect(c.discoveryFallback).toBe('proxy');
    expect(c.discoveryProxy).toBe('');
    expect([c.proxyFailureWaitMs, c.proxyRefreshIntervalMs, c.proxyDialTimeoutMs]).toEqual([5000, 30000, 1000]);
  });

  it('takes the ETCD_* variables and the config file keys', () => {
    const c = run([], { ETCD_DISCOVERY: URL1, ETCD_DISCOVERY_FALLBACK: 'exit', ETCD_DISCOVERY_PROXY: 'http://proxy:3128', ETCD_PROXY_REFRESH_INTERVAL: '2000' });
    expect([c.discovery, c.discoveryFallback, c.discoveryProxy, c.proxyRefreshIntervalMs]).toEqual([URL1, 'exit', 'http://proxy:3128', 2000]);
    expect(c.initialCluster).toEqual(new Map([['default', ['http://localhost:2380']]]));
  });

  it('refuses --discovery with --initial-cluster as etcd does (exit 1), and a fallback other than exit|proxy (exit 2)', () => {
    const conflict = (): Config => run(['--discovery', URL1, '--initial-cluster', 'default=http://localhost:2380']);
    expect(conflict).toThrow('multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery" or "discovery-srv"');
    try {
      conflict();
    } catch (err) {
      expect((err as ConfigError).exitCode).toBe(1);
    }
    expect(() => run(['--discovery-fallback', 'foo'])).toThrow('invalid value "foo" for flag -discovery-fallback: invalid value');
    expect(() => run(['--proxy-dial-timeout', 'soon'])).toThrow(ConfigError);
    // Without --discovery the fallback flags change nothing.
    expect(run(['--discovery-fallback', 'exit']).initialClusterToken).toBe('etcd-cluster');
  });
});

describe("etcd's URLsMap text", () => {
  it('parses and prints name=url pairs as etcd does (sorted pairs, sorted URLs per name)', () => {
    const m = parseUrlsMap('b=http://127.0.0.1:2,a=http://127.0.0.1:9,a=http://127.0.0.1:1,,');
    expect(m).toEqual(new Map([['b', ['http://127.0.0.1:2']], ['a', ['http://127.0.0.1:1', 'http://127.0.0.1:9']]]));
    expect(formatUrlsMap(m)).toBe('a=http://127.0.0.1:1,a=http://127.0.0.1:9,b=http://127.0.0.1:2');
    expect(allUrls(m)).toEqual(['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:9']);
    expect(hasDuplicateUrl(m)).toBe(false);
    expect(hasDuplicateUrl(parseUrlsMap('a=http://h:1,b=http://h:1'))).toBe(true);
  });

  it("refuses what etcd's NewURLs refuses", () => {
    expect(() => parseUrlsMap('a=ftp://h:1')).toThrow('URL scheme must be http, https, unix, or unixs: ftp://h:1');
    expect(() => parseUrlsMap('a=http://h')).toThrow('URL address does not have the form "host:port": http://h');
    expect(() => parseUrlsMap('a=http://h:1/x')).toThrow('URL must not contain a path: http://h:1/x');
    expect(() => parseUrlsMap('a')).toThrow(/URL scheme must be/);
  });
});

describe('protocol pieces', () => {
  it("backs off as etcd: 2^retries s, at most 2^8 s", () => {
    expect([1, 2, 3, 8, 9, 100].map(backoffMs)).toEqual([2000, 4000, 8000, 256000, 256000, 256000]);
  });

  it('cleans key paths as the v2 client does (trailing slash kept)', () => {
    expect(canonicalPath('/v2/keys/discovery//abc/')).toBe('/v2/keys/discovery/abc/');
    expect(canonicalPath('v2/keys/a/../b')).toBe('/v2/keys/b');
  });

  it('turns registrations into the initial cluster: invalid URL, duplicate name', () => {
    const node = (value: string, i: number) => ({ key: `/d/t/${i}`, value, createdIndex: i, modifiedIndex: i });
    expect(nodesToCluster([node('a=http://h:1', 1), node('b=http://h:2', 2)], 2)).toBe('a=http://h:1,b=http://h:2');
    expect(() => nodesToCluster([node('a=http://h:1', 1), node('a=http://h:2', 2)], 2)).toThrow(DiscoveryProtocolError.duplicateName);
    expect(() => nodesToCluster([node('a=h:1', 1)], 1)).toThrow(DiscoveryProtocolError.invalidUrl);
  });

  it('reads --discovery-proxy as etcd: a bare host:port is http://', () => {
    expect(parseProxy('')).toBeUndefined();
    expect(parseProxy('127.0.0.1:3128')?.href).toBe('http://127.0.0.1:3128/');
    expect(parseProxy('https://p:1')?.href).toBe('https://p:1/');
    // etcd 3.4 too reads this as http://http://[::1 (host "http"), logs it, and then cannot connect (recorded).
    expect(parseProxy('http://[::1')?.hostname).toBe('http');
  });
});
