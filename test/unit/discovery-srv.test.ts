// --discovery-srv's cluster building (discovery/srv.ts) over a fake resolver:
// which records make the cluster, how this member is recognised, the names of
// the others, and etcd's error texts.

import { describe, expect, it } from 'vitest';
import { clusterFromService, srvCluster, SrvDiscoveryError, type SrvResolver, srvService } from '../../src/server/discovery/srv.js';

interface Zone {
  srv: Record<string, { name: string; port: number }[]>;
  hosts: Record<string, string>;
}

function fakeResolver(zone: Zone): SrvResolver & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async lookupSrv(service, domain) {
      const name = `_${service}._tcp.${domain}`;
      asked.push(name);
      const r = zone.srv[name];
      if (!r) throw new Error(`lookup ${name} on 127.0.0.1:53: no such host`);
      return r;
    },
    async resolveTcp(host, port) {
      if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return `${host}:${port}`;
      const ip = zone.hosts[host];
      if (!ip) throw new Error(`lookup ${host} on 127.0.0.1:53: no such host`);
      return `${ip}:${port}`;
    },
  };
}

const HOSTS = { 'infra0.example.com': '10.0.0.10', 'infra1.example.com': '10.0.0.11', 'infra2.example.com': '10.0.0.12', 'alias.example.com': '10.0.0.11' };
const HTTP3 = {
  '_etcd-server._tcp.example.com': [0, 1, 2].map((i) => ({ name: `infra${i}.example.com`, port: 2380 })),
};

const q = (name: string, url: string, extra: Partial<{ domain: string; serviceName: string }> = {}) => ({
  name,
  advertisePeerUrls: [new URL(url)],
  domain: extra.domain ?? 'example.com',
  serviceName: extra.serviceName ?? '',
});

describe('srvService', () => {
  it('adds -ssl for https and the --discovery-srv-name suffix', () => {
    expect(srvService('etcd-server', '', 'http')).toBe('etcd-server');
    expect(srvService('etcd-server', '', 'https')).toBe('etcd-server-ssl');
    expect(srvService('etcd-server', 'blue', 'https')).toBe('etcd-server-ssl-blue');
    expect(srvService('etcd-client', 'blue', 'http')).toBe('etcd-client-blue');
  });
});

describe('srvCluster', () => {
  it('names this member by its resolved advertise URL and the others 0, 1, ... in record order', async () => {
    const r = fakeResolver({ srv: HTTP3, hosts: HOSTS });
    expect(await srvCluster(r, q('infra1', 'http://infra1.example.com:2380'))).toEqual([
      '0=http://infra0.example.com:2380',
      'infra1=http://infra1.example.com:2380',
      '1=http://infra2.example.com:2380',
    ]);
    expect(r.asked).toEqual(['_etcd-server-ssl._tcp.example.com', '_etcd-server._tcp.example.com']);
  });

  it('matches by address, not by name: an advertise URL on another name of the same host:port is this member', async () => {
    const r = fakeResolver({ srv: HTTP3, hosts: HOSTS });
    const got = await srvCluster(r, q('me', 'http://alias.example.com:2380'));
    expect(got).toContain('me=http://infra1.example.com:2380');
    // The same host on another port is someone else.
    await expect(srvCluster(r, q('me', 'http://infra1.example.com:2390'))).rejects.toThrow(
      'cannot find local etcd member "me" in SRV records',
    );
  });

  it('an IP advertise URL matches a record whose target resolves to it', async () => {
    const r = fakeResolver({ srv: HTTP3, hosts: HOSTS });
    expect(await srvCluster(r, q('x', 'http://10.0.0.12:2380'))).toContain('x=http://infra2.example.com:2380');
  });

  it('combines https and http records; the counter of other names restarts per service, as etcd', async () => {
    const r = fakeResolver({
      srv: {
        '_etcd-server-ssl._tcp.example.com': [{ name: 'infra0.example.com', port: 2380 }],
        '_etcd-server._tcp.example.com': [{ name: 'infra1.example.com', port: 2380 }, { name: 'infra2.example.com', port: 2380 }],
      },
      hosts: HOSTS,
    });
    expect(await srvCluster(r, q('infra2', 'http://infra2.example.com:2380'))).toEqual([
      '0=https://infra0.example.com:2380',
      '0=http://infra1.example.com:2380',
      'infra2=http://infra2.example.com:2380',
    ]);
  });

  it('uses the -<name> services with --discovery-srv-name', async () => {
    const r = fakeResolver({ srv: { '_etcd-server-blue._tcp.example.com': HTTP3['_etcd-server._tcp.example.com'] }, hosts: HOSTS });
    expect(await srvCluster(r, q('infra0', 'http://infra0.example.com:2380', { serviceName: 'blue' }))).toHaveLength(3);
    expect(r.asked).toEqual(['_etcd-server-ssl-blue._tcp.example.com', '_etcd-server-blue._tcp.example.com']);
  });

  it('no records at all: both lookup errors, etcd 3.6 style', async () => {
    const r = fakeResolver({ srv: {}, hosts: HOSTS });
    await expect(srvCluster(r, q('infra0', 'http://infra0.example.com:2380', { domain: 'none.example.com' }))).rejects.toThrow(
      'error querying DNS SRV records for _etcd-server-ssl lookup _etcd-server-ssl._tcp.none.example.com on 127.0.0.1:53: no such host\n' +
        'error querying DNS SRV records for _etcd-server lookup _etcd-server._tcp.none.example.com on 127.0.0.1:53: no such host',
    );
  });

  it('an advertise URL that does not resolve: its lookup error once, unwrapped (as etcd prints it)', async () => {
    const r = fakeResolver({ srv: HTTP3, hosts: HOSTS });
    const err = await srvCluster(r, q('infra3', 'http://infra3.example.com:2380')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SrvDiscoveryError);
    expect((err as Error).message).toBe('lookup infra3.example.com on 127.0.0.1:53: no such host');
  });

  it('records whose targets do not resolve are skipped; when none is left, the target error is reported', async () => {
    const srv = { '_etcd-server._tcp.example.com': [{ name: 'ghost.example.com', port: 2380 }, ...HTTP3['_etcd-server._tcp.example.com']] };
    expect(await srvCluster(fakeResolver({ srv, hosts: HOSTS }), q('infra0', 'http://infra0.example.com:2380'))).toHaveLength(3);
    const onlyGhost = { '_etcd-server._tcp.example.com': [{ name: 'ghost.example.com', port: 2380 }] };
    await expect(clusterFromService(fakeResolver({ srv: onlyGhost, hosts: HOSTS }), 'http', 'etcd-server', q('infra0', 'http://infra0.example.com:2380'))).rejects.toThrow(
      'error querying DNS SRV records for _etcd-server lookup ghost.example.com on 127.0.0.1:53: no such host',
    );
  });

  it('this member under the other scheme is a mismatch, not a member', async () => {
    const r = fakeResolver({ srv: { '_etcd-server-ssl._tcp.example.com': [{ name: 'infra0.example.com', port: 2380 }] }, hosts: HOSTS });
    await expect(srvCluster(r, q('infra0', 'http://infra0.example.com:2380'))).rejects.toThrow(
      'error querying DNS SRV records for _etcd-server-ssl bootstrap at https://infra0.example.com:2380 from DNS for etcd-server-ssl has scheme mismatch with expected peer http://infra0.example.com:2380',
    );
  });

  it('trailing dots of targets are dropped from the URLs; IPv6 hosts are bracketed', async () => {
    const r = fakeResolver({ srv: { '_etcd-server._tcp.example.com': [{ name: 'infra0.example.com.', port: 2380 }] }, hosts: { 'infra0.example.com.': '10.0.0.10', ...HOSTS } });
    expect(await srvCluster(r, q('infra0', 'http://infra0.example.com:2380'))).toEqual(['infra0=http://infra0.example.com:2380']);
    const v6 = fakeResolver({ srv: { '_etcd-server._tcp.example.com': [{ name: '::1', port: 2380 }] }, hosts: {} });
    v6.resolveTcp = async (h, p) => `[${h}]:${p}`;
    expect(await srvCluster(v6, q('me', 'http://[::1]:2380'))).toEqual(['me=http://[::1]:2380']);
  });
});
