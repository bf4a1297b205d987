// --discovery-srv as the seed article does it: dnsmasq serves
// `_etcd-server._tcp.example.com` SRV records and host records for infra0..2,
// and three bin/etcd-ts members started with only --discovery-srv and their own
// URLs form one cluster; etcdctl finds them through `_etcd-client._tcp`
// (etcdctl --discovery-srv). Everything runs in a network namespace of the
// test's own (helpers/netns.ts) whose resolv.conf names that dnsmasq, so the
// machine's resolver is untouched and the seed's ports 2379/2380 are free.
// The failures (this member not in the records, no records at all) are compared
// with what the real etcd 3.4.23 prints for the same flags in the same namespace.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_ETCD, requireEtcdctl } from './helpers/etcd-process.js';
import { BIN } from './helpers/member.js';
import { NetNs, type NsProcess, requireNetnsTools } from './helpers/netns.js';
import { memberIdFor } from '../../src/server/ids.js';
import { makeCa, makeCert } from './helpers/pki.js';

const RUN = requireNetnsTools() && requireEtcdctl();
const TOKEN = 'etcd-cluster-1';

const RECORDS = [
  // Skipped lookups (unknown names in example.com) get NXDOMAIN, as from a real zone.
  'local=/example.com/',
  ...[0, 1, 2].map((i) => `srv-host=_etcd-server._tcp.example.com,infra${i}.example.com,2380,0,100`),
  ...[0, 1, 2].map((i) => `srv-host=_etcd-client._tcp.example.com,infra${i}.example.com,2379,0,100`),
  // secure.example.com: https peers only (etcd 3.4.23 can use these too).
  ...[0, 1, 2].map((i) => `srv-host=_etcd-server-ssl._tcp.secure.example.com,infra${i}.example.com,2380,0,100`),
  // --discovery-srv-name blue: https peers infra0 and infra1 only.
  ...[0, 1].map((i) => `srv-host=_etcd-server-ssl-blue._tcp.example.com,infra${i}.example.com,2380,0,100`),
  ...[0, 1, 2, 3].map((i) => `host-record=infra${i}.example.com,127.0.0.1${i}`),
];

/**
 * The seed's flags for member i (its host infra<i>.example.com is 127.0.0.1<i> in
 * the namespace); each test keeps its data dirs under its own `tag`.
 */
function memberArgs(ns: NetNs, tag: string, i: number, scheme = 'http'): string[] {
  return [
    '--name', `infra${i}`,
    '--data-dir', join(ns.dir, tag, `infra${i}.etcd`),
    '--initial-advertise-peer-urls', `${scheme}://infra${i}.example.com:2380`,
    '--listen-peer-urls', `http://127.0.0.1${i}:2380`,
    '--listen-client-urls', `http://127.0.0.1${i}:2379`,
    '--advertise-client-urls', `http://infra${i}.example.com:2379`,
    '--initial-cluster-token', TOKEN,
    '--initial-cluster-state', 'new',
  ];
}

describe.skipIf(!RUN)('--discovery-srv with dnsmasq in a network namespace', () => {
  let ns: NetNs;

  beforeAll(async () => {
    ns = await NetNs.create('etcdts-srv');
    await ns.startDnsmasq(RECORDS);
  }, 30_000);

  afterAll(async () => {
    await ns?.cleanup();
  }, 60_000);

  it('three members started with --discovery-srv example.com form one cluster; etcdctl --discovery-srv reaches it', async () => {
    const members: NsProcess[] = [0, 1, 2].map((i) => ns.spawn(BIN, [...memberArgs(ns, 'seed', i), '--discovery-srv', 'example.com']));
    try {
      await Promise.all(members.map((m) => m.waitFor('ready to serve client requests', 30_000)));
      for (const m of members) expect(m.out).toContain('got bootstrap from DNS for etcd-server');

      const list = await ns.exec('etcdctl', ['--discovery-srv', 'example.com', 'member', 'list', '-w', 'json']);
      expect(list.code, list.stderr).toBe(0);
      const got = (JSON.parse(list.stdout.replace(/"ID":(\d+)/g, '"ID":"$1"')) as { members: { ID: string; name: string; peerURLs: string[]; clientURLs: string[] }[] }).members
        .map((m) => ({ id: BigInt(m.ID), name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs }))
        .sort((a, b) => a.name.localeCompare(b.name));
      // Ids as etcd derives them from the peer URL and the cluster token: the same on every member.
      expect(got).toEqual(
        [0, 1, 2].map((i) => ({
          id: memberIdFor([`http://infra${i}.example.com:2380`], TOKEN),
          name: `infra${i}`,
          peerURLs: [`http://infra${i}.example.com:2380`],
          clientURLs: [`http://infra${i}.example.com:2379`],
        })),
      );

      const put = await ns.exec('etcdctl', ['--discovery-srv', 'example.com', 'put', 'seed', 'dns']);
      expect(put.stdout).toBe('OK\n');
      // Written through one member, read back from each one's own endpoint.
      for (const i of [0, 1, 2]) {
        const get = await ns.exec('etcdctl', ['--endpoints', `http://infra${i}.example.com:2379`, 'get', 'seed', '--print-value-only']);
        expect(get.stdout).toBe('dns\n');
      }
      // (endpoint commands follow --discovery-srv only with --cluster: then the member list's client URLs.)
      const health = await ns.exec('etcdctl', ['--discovery-srv', 'example.com', 'endpoint', 'health', '--cluster']);
      expect(health.code, health.stderr).toBe(0);
      expect((health.stdout + health.stderr).split('\n').filter((l) => /^http:\/\/infra\d\.example\.com:2379 is healthy/.test(l))).toHaveLength(3);
    } finally {
      await Promise.all(members.map((m) => m.stop()));
    }
  }, 90_000);

  it('https records: TLS peers form the same cluster as etcd 3.4.23 forms from them', async () => {
    const ca = makeCa(ns.dir, 'ca');
    const tlsArgs = (i: number): string[] => {
      // The peer's own name for the server side, its listen address for the client side's SAN check.
      const c = makeCert(ns.dir, ca, `infra${i}`, `peer${i}`, { hosts: [`infra${i}.example.com`, `127.0.0.1${i}`, '127.0.0.1'] });
      return ['--peer-cert-file', c.certFile, '--peer-key-file', c.keyFile, '--peer-trusted-ca-file', ca.certFile, '--peer-client-cert-auth'];
    };
    const lists: string[][] = [];
    for (const impl of HAVE_ETCD ? [BIN, 'etcd'] : [BIN]) {
      const members = [0, 1, 2].map((i) =>
        ns.spawn(impl, [...memberArgs(ns, `tls-${impl === 'etcd' ? 'etcd' : 'ours'}`, i, 'https').map((a) => a.replace(/^http:\/\/(127\.0\.0\.1\d:2380)$/, 'https://$1')), ...tlsArgs(i), '--discovery-srv', 'secure.example.com']),
      );
      try {
        await Promise.all(members.map((m) => m.waitFor('ready to serve client requests', 30_000)));
        const list = await ns.exec('etcdctl', ['--endpoints', 'http://infra0.example.com:2379', 'member', 'list']);
        expect(list.code, list.stderr).toBe(0);
        lists.push(list.stdout.trim().split('\n').sort());
      } finally {
        await Promise.all(members.map((m) => m.stop()));
      }
    }
    expect(lists[0]).toEqual(
      [0, 1, 2].map((i) => `${memberIdFor([`https://infra${i}.example.com:2380`], TOKEN).toString(16)}, started, infra${i}, https://infra${i}.example.com:2380, http://infra${i}.example.com:2379, false`).sort(),
    );
    if (lists.length === 2) expect(lists[0]).toEqual(lists[1]);
  }, 120_000);

  /** Starts ours and the real etcd with the same flags; both must fail alike before touching the data dir. */
  async function bothFail(extra: string[], scheme: string): Promise<{ ours: string; etcd: string | undefined }> {
    const args = [...memberArgs(ns, 'fail', 3, scheme), ...extra];
    const dataDir = join(ns.dir, 'fail', 'infra3.etcd');
    const ours = ns.spawn(BIN, args);
    expect(await ours.exitWithin(20_000)).toBe(1);
    expect(existsSync(dataDir)).toBe(false);
    if (!HAVE_ETCD) return { ours: ours.out, etcd: undefined };
    const etcd = ns.spawn('etcd', args);
    expect(await etcd.exitWithin(20_000)).toBe(1);
    expect(existsSync(dataDir)).toBe(false);
    return { ours: ours.out, etcd: etcd.out };
  }

  it('a member whose advertise URL is not in the records fails with etcd\'s error, nothing written', async () => {
    const text = 'error setting up initial cluster: cannot find local etcd member "infra3" in SRV records';
    const { ours, etcd } = await bothFail(['--discovery-srv', 'example.com', '--discovery-srv-name', 'blue'], 'https');
    expect(ours).toContain(`etcd-ts: ${text}\n`);
    if (etcd !== undefined) expect(etcd).toContain(text);
  }, 60_000);

  it('the same for the seed\'s http records (etcd 3.4.23 cannot use http-only records: it reports the ssl lookup)', async () => {
    const { ours } = await bothFail(['--discovery-srv', 'example.com'], 'http');
    expect(ours).toContain('etcd-ts: error setting up initial cluster: cannot find local etcd member "infra3" in SRV records\n');
  }, 60_000);

  it('a domain without records fails with the lookup errors etcd prints', async () => {
    const ssl = 'error querying DNS SRV records for _etcd-server-ssl lookup _etcd-server-ssl._tcp.nothing.example.com on 127.0.0.1:53: no such host';
    const http = 'error querying DNS SRV records for _etcd-server lookup _etcd-server._tcp.nothing.example.com on 127.0.0.1:53: no such host';
    const { ours, etcd } = await bothFail(['--discovery-srv', 'nothing.example.com'], 'http');
    // etcd 3.6 joins both lookups' errors (3.4.23 reports the first one only).
    expect(ours).toContain(`etcd-ts: error setting up initial cluster: ${ssl}\n${http}\n`);
    if (etcd !== undefined) expect(etcd).toContain(`error setting up initial cluster: ${ssl}`);
  }, 60_000);

  it('--discovery-srv with --initial-cluster is refused as etcd refuses it', async () => {
    const p = ns.spawn(BIN, [...memberArgs(ns, 'conflict', 0), '--discovery-srv', 'example.com', '--initial-cluster', 'infra0=http://infra0.example.com:2380']);
    // etcd exits 1 here ("error verifying flags, ..."); this branch's ConfigError exits 2 for every
    // flag error (disc-v2 brings etcd's 1 for flags that do not fit together).
    expect(await p.exitWithin(20_000)).not.toBe(0);
    expect(p.out).toContain(
      'etcd-ts: multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery" or "discovery-srv"\n',
    );
  }, 30_000);
});
