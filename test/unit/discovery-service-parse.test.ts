// The discovery service's pure parts: flags and DISC_* variables, the size of
// /new (Go's strconv.Atoi text for bad input), the router (discoveryserver's mux
// routes, 404/405, clean-path redirects), keys shown relative to the registry, and
// which tokens the collector deletes.
import { describe, expect, it } from 'vitest';
import { ConfigError, hostOnlyUrl, parseDiscoveryArgs } from '../../src/discovery-service/config.js';
import { parseClusterSize, generateToken, tokenUrl } from '../../src/discovery-service/new-token.js';
import { routeRequest } from '../../src/discovery-service/routes.js';
import { clientView, registryPath } from '../../src/discovery-service/token-layout.js';
import { expiredTokens, rfc3339 } from '../../src/discovery-service/gc-policy.js';

const TOKEN = '0123456789abcdef0123456789abcdef';

function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const p = parseDiscoveryArgs(argv, env);
  if (p.kind !== 'run') throw new Error('expected a run config');
  return p;
}

describe('discovery flags and DISC_* variables', () => {
  it("defaults to discoveryserver's address, a week's GC age, 5m GC and standalone mode", () => {
    const { config } = run([]);
    expect(config.listen).toEqual({ host: undefined, port: 8087 });
    expect(config.publicHost).toBe('http://127.0.0.1:8087');
    expect(config.etcdEndpoints).toEqual([]);
    expect(config.minAgeMs).toBe(168 * 3600_000);
    expect(config.gcIntervalMs).toBe(5 * 60_000);
    expect(config.dataDir).toBe('discovery.etcd');
  });

  it('takes the variables, and a flag given wins over its variable', () => {
    const env = { DISC_ADDR: '127.0.0.1:9000', DISC_HOST: 'https://disc.example.com/', DISC_ETCD: 'http://10.0.0.1:2379,http://10.0.0.2:2379' };
    const fromEnv = run([], env);
    expect(fromEnv.config.listen).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(fromEnv.config.publicHost).toBe('https://disc.example.com');
    expect(fromEnv.config.etcdEndpoints).toEqual(['http://10.0.0.1:2379', 'http://10.0.0.2:2379']);
    expect(fromEnv.envUsed).toHaveLength(3);
    const flags = run(['--addr=[::1]:9001', '-h', 'http://d:1', '-e', 'http://e:2', '--minage', '1s', '-g=250ms', '--data-dir', '/x'], env);
    expect(flags.config).toMatchObject({
      listen: { host: '::1', port: 9001 }, publicHost: 'http://d:1', etcdEndpoints: ['http://e:2'], minAgeMs: 1000, gcIntervalMs: 250, dataDir: '/x',
    });
    expect(parseDiscoveryArgs(['--help'], {})).toEqual({ kind: 'help' });
  });

  it("refuses URLs with a path, query or fragment with discoveryserver's messages", () => {
    expect(() => hostOnlyUrl('http://e:2379/v2')).toThrow('Expected url without path (/v2)');
    expect(() => hostOnlyUrl('http://e:2379?x=1')).toThrow('Expected url without query (?x=1)');
    expect(() => hostOnlyUrl('http://e:2379#frag')).toThrow('Expected url without fragment (frag)');
    expect(() => hostOnlyUrl('not a url')).toThrow(ConfigError);
    expect(hostOnlyUrl('http://e:2379/')).toBe('http://e:2379');
  });

  it('refuses a bad address, duration or flag', () => {
    expect(() => run(['--addr', '8087'])).toThrow(ConfigError);
    expect(() => run(['--addr', ':99999'])).toThrow(ConfigError);
    expect(() => run(['--minage', 'week'])).toThrow('invalid value "week" for flag -minage: parse error');
    expect(() => run(['--gcfreq', '0s'])).toThrow(ConfigError);
    expect(() => run(['--bogus', '1'])).toThrow('unknown flag: --bogus');
    expect(() => run(['--addr'])).toThrow('flag needs an argument: --addr');
  });
});

describe('/new size', () => {
  it('defaults to 3 when absent or empty', () => {
    expect(parseClusterSize(undefined)).toEqual({ ok: true, size: '3' });
    expect(parseClusterSize('')).toEqual({ ok: true, size: '3' });
  });

  it('normalises as strconv.Itoa(strconv.Atoi(s)) and, like discoveryserver, accepts 0 and negatives', () => {
    expect(parseClusterSize('5')).toEqual({ ok: true, size: '5' });
    expect(parseClusterSize('+07')).toEqual({ ok: true, size: '7' });
    expect(parseClusterSize('0')).toEqual({ ok: true, size: '0' });
    expect(parseClusterSize('-1')).toEqual({ ok: true, size: '-1' });
    expect(parseClusterSize('9223372036854775807')).toEqual({ ok: true, size: '9223372036854775807' });
  });

  it("answers strconv.Atoi's error text for a non-number or an out-of-range one", () => {
    expect(parseClusterSize('abc')).toEqual({ ok: false, message: 'strconv.Atoi: parsing "abc": invalid syntax' });
    expect(parseClusterSize('1.5')).toEqual({ ok: false, message: 'strconv.Atoi: parsing "1.5": invalid syntax' });
    expect(parseClusterSize(' 3')).toEqual({ ok: false, message: 'strconv.Atoi: parsing " 3": invalid syntax' });
    expect(parseClusterSize('0x10')).toEqual({ ok: false, message: 'strconv.Atoi: parsing "0x10": invalid syntax' });
    expect(parseClusterSize('9223372036854775808')).toEqual({ ok: false, message: 'strconv.Atoi: parsing "9223372036854775808": value out of range' });
  });

  it('makes 32 lower-case hex digit tokens, each new, under the public host', () => {
    const a = generateToken();
    expect(a).toMatch(/^[a-f0-9]{32}$/);
    expect(generateToken()).not.toBe(a);
    expect(tokenUrl('https://disc.example.com//', a)).toBe(`https://disc.example.com/${a}`);
  });
});

describe('routes', () => {
  it("routes discoveryserver's paths for their methods", () => {
    expect(routeRequest('PUT', '/new')).toEqual({ kind: 'new' });
    expect(routeRequest('GET', '/health')).toEqual({ kind: 'health' });
    expect(routeRequest('GET', '/')).toEqual({ kind: 'home' });
    expect(routeRequest('GET', '/robots.txt')).toEqual({ kind: 'robots' });
    expect(routeRequest('GET', '/metrics')).toEqual({ kind: 'metrics' });
    expect(routeRequest('GET', `/${TOKEN}`)).toEqual({ kind: 'token', token: TOKEN, target: { kind: 'dir' } });
    expect(routeRequest('PUT', `/${TOKEN}/`)).toEqual({ kind: 'token', token: TOKEN, target: { kind: 'dir' } });
    expect(routeRequest('GET', `/${TOKEN}/_config/size`)).toEqual({ kind: 'token', token: TOKEN, target: { kind: 'size' } });
    expect(routeRequest('DELETE', `/${TOKEN}/8e9e05c52164694d`)).toEqual({ kind: 'token', token: TOKEN, target: { kind: 'machine', name: '8e9e05c52164694d' } });
  });

  it('answers 405 for a known path with another method, 404 for unknown paths', () => {
    expect(routeRequest('DELETE', `/${TOKEN}`)).toEqual({ kind: 'method-not-allowed' });
    expect(routeRequest('PUT', `/${TOKEN}/_config/size`)).toEqual({ kind: 'method-not-allowed' });
    expect(routeRequest('POST', `/${TOKEN}/m1`)).toEqual({ kind: 'method-not-allowed' });
    expect(routeRequest('GET', `/${TOKEN.toUpperCase()}`)).toEqual({ kind: 'not-found' });
    expect(routeRequest('GET', `/${TOKEN}0`)).toEqual({ kind: 'not-found' });
    expect(routeRequest('GET', `/${TOKEN}/a/b`)).toEqual({ kind: 'not-found' });
    expect(routeRequest('GET', `/${TOKEN}/m1/`)).toEqual({ kind: 'not-found' });
    expect(routeRequest('GET', '/v2/keys/x')).toEqual({ kind: 'not-found' });
    expect(routeRequest('GET', '/%zz')).toEqual({ kind: 'not-found' });
  });

  it('redirects unclean paths, so ".." (plain or escaped) never leaves a token', () => {
    expect(routeRequest('GET', `/${TOKEN}/..`)).toEqual({ kind: 'redirect', location: '/' });
    expect(routeRequest('GET', `/${TOKEN}/%2e%2e`)).toEqual({ kind: 'redirect', location: '/' });
    expect(routeRequest('GET', `//${TOKEN}`)).toEqual({ kind: 'redirect', location: `/${TOKEN}` });
    // An escaped slash is a path separator after decoding (Go's URL.Path): two segments, no route.
    expect(routeRequest('GET', `/${TOKEN}/a%2Fb`)).toEqual({ kind: 'not-found' });
  });
});

describe('registry layout', () => {
  it('shows keys and error causes relative to the registry, keeping the trailing newline', () => {
    const body = JSON.stringify({
      action: 'get',
      node: { key: `/discovery.etcd.io/registry/${TOKEN}`, dir: true, nodes: [{ key: `/discovery.etcd.io/registry/${TOKEN}/m1`, value: 'a=http://x' }] },
    }) + '\n';
    expect(JSON.parse(clientView(body, TOKEN))).toEqual({ action: 'get', node: { key: `/${TOKEN}`, dir: true, nodes: [{ key: `/${TOKEN}/m1`, value: 'a=http://x' }] } });
    expect(clientView(body, TOKEN).endsWith('\n')).toBe(true);
    const err = JSON.stringify({ errorCode: 100, message: 'Key not found', cause: `/discovery.etcd.io/registry/${TOKEN}`, index: 7 });
    expect(JSON.parse(clientView(err, TOKEN))).toEqual({ errorCode: 100, message: 'Key not found', cause: `/${TOKEN}`, index: 7 });
    expect(clientView('not json', TOKEN)).toBe('not json');
    // No token made yet: the registry's own parents are what the store finds missing.
    for (const cause of ['/discovery.etcd.io', '/discovery.etcd.io/registry']) {
      expect(JSON.parse(clientView(JSON.stringify({ errorCode: 100, cause }), TOKEN)).cause).toBe(`/${TOKEN}`);
    }
    expect(JSON.parse(clientView(JSON.stringify({ errorCode: 100, cause: '/discovery.etcd.io/registryX' }), TOKEN)).cause).toBe('/discovery.etcd.io/registryX');
  });

  it('encodes each segment of a key path', () => {
    expect(registryPath(TOKEN, '_config', 'size')).toBe(`/discovery.etcd.io/registry/${TOKEN}/_config/size`);
    expect(registryPath(TOKEN, 'a b?')).toBe(`/discovery.etcd.io/registry/${TOKEN}/a%20b%3F`);
  });
});

describe('gc policy', () => {
  it('deletes tokens at least the minimum age old, keeps younger ones and unreadable entries', () => {
    const now = Date.parse('2026-12-05T00:00:00Z');
    const week = 168 * 3600_000;
    const entries = [
      { token: 'old', created: rfc3339(now - week - 1000) },
      { token: 'exactly', created: rfc3339(now - week) },
      { token: 'ancient', created: rfc3339(now - 100 * week) },
      { token: 'young', created: rfc3339(now - week + 1000) },
      { token: 'junk', created: 'yesterday-ish' },
    ];
    const d = expiredTokens(entries, now, week);
    expect(d.expired).toEqual(['old', 'exactly', 'ancient']);
    expect(d.unreadable.map((e) => e.token)).toEqual(['junk']);
    expect(rfc3339(now)).toBe('2026-12-05T00:00:00Z');
  });
});
