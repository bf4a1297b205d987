// The v2 keys API (--enable-v2) on a 3-member bin/etcd-ts cluster: the seed
// articles' curl commands and `ETCDCTL_API=2 etcdctl` compared with etcd
// 3.4.23's answers (fixtures/v2-keys.json, recorded with
// `npx vite-node test/e2e/helpers/record-v2.ts etcd`; steps in
// helpers/v2-sequence.ts and helpers/v2-etcdctl-sequence.ts), then what the
// --discovery protocol needs under contention, across members: one of many
// `prevExist=false` creates wins, in-order keys are unique and ordered.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterForBlock, waitFor } from './helpers/cluster.js';
import { etcdctl, IN_CI, onPath, requireEtcdctl } from './helpers/etcd-process.js';
import { REPO } from './helpers/member.js';
import { type CtlAnswer, runCtlSteps } from './helpers/v2-etcdctl-sequence.js';
import { type Answer, curl, type Recorded, runAll, watchers } from './helpers/v2-sequence.js';

interface Fixture { disabled: { status: number; body: string }; curl: Recorded[]; ctl: CtlAnswer[] }
const FIXTURE = JSON.parse(readFileSync(join(REPO, 'test/e2e/fixtures/v2-keys.json'), 'utf8')) as Fixture;

/** Field names and value types, for answers whose values are this member's own (stats, members). */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.length ? [shape(v[0])] : [];
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
  return typeof v;
}

/**
 * Where etcd-ts differs from etcd 3.4.23 on purpose, step by step (see
 * docs/ARCHITECTURE.md, "The v2 API"):
 * - waitIndex is refused once v3 history is compacted (etcd: once it is more
 *   than 1000 events old), so the index of the 401 is whatever the store is at;
 * - members and stats carry this cluster's members and this member's counters.
 */
function expected(r: Recorded): Recorded {
  const answers: Answer[] = structuredClone(r.answers);
  switch (r.name) {
    case 'waitIndex cleared':
      (answers[0]!.body as { index: unknown }).index = 'ANY';
      answers[0]!.headers['x-etcd-index'] = 'ANY';
      break;
    case 'members':
    case 'stats/self':
    case 'stats/store':
      for (const a of answers) a.body = shape(a.body);
      break;
  }
  return { name: r.name, answers };
}

function actual(r: Recorded): Recorded {
  const answers = r.answers.map((a) => ({ ...a, headers: { ...a.headers } }));
  if (r.name === 'waitIndex cleared') {
    (answers[0]!.body as { index: unknown }).index = 'ANY';
    answers[0]!.headers['x-etcd-index'] = 'ANY';
  }
  if (['members', 'stats/self', 'stats/store'].includes(r.name)) for (const a of answers) a.body = shape(a.body);
  return { name: r.name, answers };
}

const HAVE_CURL = onPath('curl');
if (IN_CI && !HAVE_CURL) throw new Error('curl must be on PATH in CI');

describe.skipIf(!requireEtcdctl() || !HAVE_CURL)('v2 keys API on 3 members', () => {
  const cluster = clusterForBlock({ extraArgs: ['--enable-v2'] });
  const url = (i: number): string => cluster().members[i]!.clientUrl;


  it("answers the seed's curl commands as etcd 3.4.23 did", async () => {
    const port = cluster().members[0]!.clientPort;
    const got = await runAll({
      url: url(0),
      ageHistory: async () => {
        // Compact v3 history up to now: v2 waitIndex before it is gone.
        const st = JSON.parse((await etcdctl(port, ['endpoint', 'status', '-w', 'json'])).stdout) as { Status: { header: { revision: number } } }[];
        const res = await etcdctl(port, ['compaction', String(st[0]!.Status.header.revision)]);
        expect(res.code, res.stderr).toBe(0);
      },
    });
    expect(got.map((r) => r.name)).toEqual(FIXTURE.curl.map((r) => r.name));
    for (let i = 0; i < got.length; i++) expect(actual(got[i]!), got[i]!.name).toEqual(expected(FIXTURE.curl[i]!));
  }, 90_000);

  it('prints what ETCDCTL_API=2 etcdctl printed against etcd 3.4.23', async () => {
    const got = await runCtlSteps(
      url(1),
      async () => Number((await curl(['-s', '-i', `${url(1)}/v2/keys/`])).headers.get('x-etcd-index')),
      async () => {
        // etcdctl syncs the member list first and may watch through any member.
        const total = async (): Promise<number> => (await Promise.all([0, 1, 2].map((i) => watchers({ url: url(i) })))).reduce((a, b) => a + b);
        await waitFor('the etcdctl watch', 10_000, async () => ((await total()) > 0 ? true : undefined), 50);
      },
    );
    expect(got).toEqual(FIXTURE.ctl);
  }, 90_000);

  it('lets exactly one of many prevExist=false creates win, across members', async () => {
    const tries = await Promise.all(Array.from({ length: 12 }, (_, i) =>
      fetch(`${url(i % 3)}/v2/keys/race/lock?prevExist=false`, { method: 'PUT', body: new URLSearchParams({ value: `c${i}` }) })
        .then(async (r) => ({ status: r.status, body: (await r.json()) as { errorCode?: number; node?: { value: string } } }))));
    const won = tries.filter((t) => t.status === 201);
    expect(won).toHaveLength(1);
    expect(tries.filter((t) => t.status === 412 && t.body.errorCode === 105)).toHaveLength(11);
    // Every member now holds the winner's value.
    for (let i = 0; i < 3; i++) {
      const r = (await (await fetch(`${url(i)}/v2/keys/race/lock?quorum=true`)).json()) as { node: { value: string } };
      expect(r.node.value).toBe(won[0]!.body.node!.value);
    }
  }, 30_000);

  it('names concurrent in-order keys uniquely, in commit order, across members', async () => {
    const posted = await Promise.all(Array.from({ length: 24 }, (_, i) =>
      fetch(`${url(i % 3)}/v2/keys/race/queue`, { method: 'POST', body: new URLSearchParams({ value: `job${i}` }) })
        .then(async (r) => ({ status: r.status, body: (await r.json()) as { node: { key: string; createdIndex: number } } }))));
    expect(posted.every((p) => p.status === 201)).toBe(true);
    const keys = posted.map((p) => p.body.node.key);
    expect(new Set(keys).size).toBe(24);
    const list = (await (await fetch(`${url(2)}/v2/keys/race/queue?recursive=true&sorted=true&quorum=true`)).json()) as {
      node: { nodes: { key: string; createdIndex: number }[] };
    };
    const listed = list.node.nodes;
    expect(listed.map((n) => n.key).sort()).toEqual([...keys].sort());
    // Sorted by name is sorted by creation: the names follow the commit order.
    const byIndex = [...listed].sort((a, b) => a.createdIndex - b.createdIndex);
    expect(listed.map((n) => n.key)).toEqual(byIndex.map((n) => n.key));
  }, 30_000);

  it('keeps v2 data in the v3 store under the reserved prefix, replicated', async () => {
    const res = await etcdctl(cluster().members[2]!.clientPort, ['get', '--prefix', 'v2/', '--keys-only']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('v2//003/k//1/race/lock');
    expect(res.stdout).toContain('v2//act');
    const first = execFileSync('etcdctl', ['--endpoints', url(2), 'get', '/race/lock'], { env: { ...process.env, ETCDCTL_API: '2' }, encoding: 'utf8' });
    expect(first).toMatch(/^c\d+\n$/);
  }, 30_000);
});
