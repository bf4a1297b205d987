// Plain HTTP on the peer port of real members (issue #11): etcd serves /version and
// /members on --listen-peer-urls next to Raft, and tooling (and members joining with
// --initial-cluster-state existing) read them there. Three bin/etcd-ts members,
// asked the way curl asks; ETCD_TS_E2E_IMPL=etcd runs the same checks against the
// real etcd on PATH.
//
// etcd 3.4.23 answered, recorded with `curl -si http://127.0.0.1:<peer>/…`:
//   /version  200, Content-Type: application/json, {"etcdserver":"3.4.23","etcdcluster":"3.4.0"}
//   /members  200, Content-Type: application/json, X-Etcd-Cluster-Id: d1cfaf999eb97a2a,
//             [{"id":13668033151171901709,"peerURLs":["http://127.0.0.1:23801"],"name":"n1","clientURLs":["http://127.0.0.1:23791"]}]\n
//             (ids as decimal numbers, sorted; a member not yet started has neither name nor clientURLs)
//   /, /foo   404, text/plain; charset=utf-8, "404 page not found\n"
//   POST /version  405, Allow: GET

import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, parseJsonBigIds } from './helpers/cluster.js';
import { etcdctl, requireEtcdctl } from './helpers/etcd-process.js';
import type { Member } from './helpers/member.js';

const IMPL = process.env.ETCD_TS_E2E_IMPL === 'etcd' ? 'etcd' : 'etcd-ts';
const RUN = requireEtcdctl();

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(url: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer in 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(!RUN)(`plain HTTP on the peer port (${IMPL})`, () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await Cluster.create({ impl: IMPL, size: 3, token: `peer-http-${process.pid}` });
    await cluster.start();
  });

  afterAll(async () => {
    await cluster?.cleanup();
  });

  it('GET /version answers the same JSON as the client port', async () => {
    for (const m of cluster.members) {
      const peer = await get(`${m.peerUrl}/version`);
      expect(peer.status, m.name).toBe(200);
      expect(peer.headers['content-type']).toBe('application/json');
      const v = JSON.parse(peer.body) as Record<string, string>;
      expect(Object.keys(v)).toEqual(['etcdserver', 'etcdcluster']);
      expect(v.etcdserver).toMatch(/^3\.4\.\d+$/);
      expect(v.etcdcluster).toBe('3.4.0');
      expect(peer.body).toBe((await get(`${m.clientUrl}/version`)).body);
      const post = await get(`${m.peerUrl}/version`, 'POST');
      expect([post.status, post.headers.allow]).toEqual([405, 'GET']);
    }
  });

  it('GET /members lists every member as etcd does, agreeing with etcdctl member list', async () => {
    const [a] = cluster.members as [Member, Member, Member];
    const ctl = await etcdctl(a.clientPort, ['member', 'list', '-w', 'json']);
    expect(ctl.code, ctl.stderr).toBe(0);
    const listed = parseJsonBigIds(ctl.stdout) as {
      header: { cluster_id: string | number };
      members: { ID: string | number; name: string; peerURLs: string[]; clientURLs: string[] }[];
    };
    const clusterHex = BigInt(listed.header.cluster_id).toString(16);
    const expected = listed.members
      .map((e) => ({ id: String(e.ID), peerURLs: e.peerURLs, name: e.name, clientURLs: e.clientURLs }))
      .sort((x, y) => (BigInt(x.id) < BigInt(y.id) ? -1 : 1));
    for (const m of cluster.members) {
      const r = await get(`${m.peerUrl}/members`);
      expect(r.status, m.name).toBe(200);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['x-etcd-cluster-id']).toBe(clusterHex);
      expect(r.body.endsWith(']\n'), JSON.stringify(r.body)).toBe(true);
      // Ids are bare decimal numbers (uint64, beyond what JSON.parse keeps exact).
      expect(r.body).toMatch(/^\[\{"id":\d+,"peerURLs":/);
      const members = JSON.parse(r.body.replace(/"id":(\d+)/g, '"id":"$1"')) as Record<string, unknown>[];
      expect(members.map((x) => Object.keys(x))).toEqual(expected.map(() => ['id', 'peerURLs', 'name', 'clientURLs']));
      expect(members).toEqual(expected);
    }
  });

  it('anything else is 404 page not found', async () => {
    const m = cluster.members[0]!;
    for (const path of ['/', '/foo', '/members/', '/version/', '/health']) {
      const r = await get(`${m.peerUrl}${path}`);
      expect([path, r.status, r.headers['content-type'], r.body]).toEqual([path, 404, 'text/plain; charset=utf-8', '404 page not found\n']);
    }
  });
});
