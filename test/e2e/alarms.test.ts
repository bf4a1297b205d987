// Issue 11 (alarms, quota) on one three-member cluster with a small backend quota:
// filling it raises a NOSPACE alarm through Raft that every member lists; puts,
// txns with puts and lease grants are refused with etcd's error through any member
// while deletes and reads work; /health answers 503 {"health":"false"}; Status
// carries the alarm in `errors`; the alarm survives a restart (alarm bucket);
// `alarm disarm` clears it everywhere, and a put that still does not fit raises it
// again (as etcd does until the space is reclaimed); compaction + defrag reclaim it,
// and after a disarm writes work again.
//
// Expected texts were recorded from etcd 3.4.23 / etcdctl 3.4.23 (single member,
// --quota-backend-bytes=200000, 20 KB values): `alarm list` / `alarm disarm` print
// "memberID:<decimal id> alarm:NOSPACE " (trailing space), a refused put prints
// "Error: etcdserver: mvcc: database space exceeded", lease grant prints
// "Error: failed to grant lease (etcdserver: mvcc: database space exceeded)",
// /health is 503 with body {"health":"false"} and a newline (200 with ?exclude=NOSPACE), endpoint status -w json has
// "errors":["memberID:<id> alarm:NOSPACE "]. ETCD_TS_E2E_IMPL=etcd runs this file
// against the real etcd.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, leaderLookups, MaintenanceClient, waitFor } from './helpers/cluster.js';
import { etcdctl, requireEtcdctl, type CtlResult } from './helpers/etcd-process.js';
import type { Member } from './helpers/member.js';

const IMPL = process.env.ETCD_TS_E2E_IMPL === 'etcd' ? 'etcd' : 'etcd-ts';
const RUN = requireEtcdctl();
const QUOTA = 400_000;
const VALUE = 'x'.repeat(20_000);
const NOSPACE_ERR = 'Error: etcdserver: mvcc: database space exceeded\n';

const describeCtl = (r: CtlResult): string => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/** etcdctl's last stderr line (the Go client logs retry warnings before it). */
const lastLine = (s: string): string => `${s.trimEnd().split('\n').pop()}\n`;

/** etcd lists alarms in Go map order (random): lines sorted, for comparing. */
const sorted = (out: string): string => out.split('\n').filter((l) => l !== '').sort().map((l) => `${l}\n`).join('');

async function ctl(m: Member, args: string[]): Promise<CtlResult> {
  return etcdctl(m.clientPort, args);
}

async function health(m: Member): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${m.clientPort}/health`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.text() };
}

describe.skipIf(!RUN)(`alarms and the backend quota on a three-member cluster (${IMPL})`, () => {
  let cluster: Cluster;
  const maint = new Map<Member, MaintenanceClient>();
  const { agreedLeader } = leaderLookups(() => cluster.running(), maint);
  /** etcdctl's line for member a's NOSPACE alarm. */
  let alarmLine = '';
  /** What `alarm list` printed once every refusal was in (each member that refused a write on its own quota check raised its own). */
  let listed = '';

  beforeAll(async () => {
    cluster = await Cluster.create({ impl: IMPL, extraArgs: ['--quota-backend-bytes', String(QUOTA)] });
    for (const m of cluster.members) maint.set(m, new MaintenanceClient(m.endpoint));
    await cluster.start();
    await agreedLeader(cluster.members, 10_000);
  }, 60_000);

  afterAll(async () => {
    for (const c of maint.values()) c.close();
    await cluster?.cleanup();
  });

  it('no alarm at first: empty list, healthy', async () => {
    for (const m of cluster.members) {
      const r = await ctl(m, ['alarm', 'list']);
      expect(r.code, describeCtl(r)).toBe(0);
      expect(r.stdout).toBe('');
      // No header in etcd 3.4's AlarmResponse, so nothing at all to print.
      expect((await ctl(m, ['alarm', 'list', '-w', 'json'])).stdout).toBe('{}\n');
      expect(await health(m)).toEqual({ status: 200, body: '{"health":"true"}' });
    }
  });

  it('filling the quota raises NOSPACE through Raft; every member lists it and refuses writes', async () => {
    const [a, b, c] = cluster.members as [Member, Member, Member];
    let refused: CtlResult | undefined;
    for (let i = 0; i < 60 && !refused; i++) {
      const r = await ctl(a, ['put', `fill/${i}`, VALUE]);
      if (r.code !== 0) refused = r;
    }
    expect(refused, 'the quota was never reached').toBeDefined();
    expect(lastLine(refused!.stderr)).toBe(NOSPACE_ERR);
    const aId = (await maint.get(a)!.status()).header!.memberId;
    alarmLine = `memberID:${aId} alarm:NOSPACE \n`;
    for (const m of cluster.members) {
      await waitFor(`NOSPACE listed by ${m.name}`, 5_000, async () => ((await ctl(m, ['alarm', 'list'])).stdout.includes(alarmLine) ? true : undefined));
    }
    // Refused through the others too (the applier is capped on every member).
    const put = await ctl(b, ['put', 'small', 'v']);
    expect(put.code).not.toBe(0);
    expect(lastLine(put.stderr)).toBe(NOSPACE_ERR);
    const lease = await ctl(c, ['lease', 'grant', '100']);
    expect(lastLine(lease.stderr)).toBe('Error: failed to grant lease (etcdserver: mvcc: database space exceeded)\n');
    // Deletes and reads keep working.
    const del = await ctl(c, ['del', 'fill/0']);
    expect(del.code, describeCtl(del)).toBe(0);
    expect(del.stdout).toBe('1\n');
    const get = await ctl(b, ['get', 'fill/1', '--keys-only']);
    expect(get.stdout).toBe('fill/1\n\n');
    // One line per member that raised it (sorted by member id), the same on every member.
    listed = (await ctl(a, ['alarm', 'list'])).stdout;
    expect(listed).toMatch(/^(memberID:\d+ alarm:NOSPACE \n)+$/);
    expect(listed).toContain(alarmLine);
    const json = JSON.parse((await ctl(a, ['alarm', 'list', '-w', 'json'])).stdout.replace(/:(\d{16,})/g, ':"$1"')) as unknown;
    expect(Object.keys(json as object)).toEqual(['alarms']);
    expect((json as { alarms: { alarm: number }[] }).alarms.every((x) => x.alarm === 1)).toBe(true);
    for (const m of [b, c]) expect(sorted((await ctl(m, ['alarm', 'list'])).stdout)).toBe(sorted(listed));
  });

  it('/health is 503 {"health":"false"} and Status lists the alarm in errors, on every member', async () => {
    for (const m of cluster.members) {
      expect(await health(m)).toEqual({ status: 503, body: '{"health":"false"}\n' });
      const excluded = await fetch(`http://127.0.0.1:${m.clientPort}/health?exclude=NOSPACE`, { signal: AbortSignal.timeout(5_000) });
      expect(excluded.status).toBe(200);
      const r = await ctl(m, ['endpoint', 'status', '-w', 'json']);
      expect(r.code, describeCtl(r)).toBe(0);
      const errors = /"errors":(\[[^\]]*\])/.exec(r.stdout);
      expect(errors, r.stdout).not.toBeNull();
      expect(sorted((JSON.parse(errors![1]!) as string[]).join('\n'))).toBe(sorted(listed));
    }
  });

  it('the alarm survives a restart of a member (persisted in the backend)', async () => {
    const m = cluster.members[2]!;
    await m.stop();
    await m.start();
    const r = await ctl(m, ['alarm', 'list']);
    expect(sorted(r.stdout)).toBe(sorted(listed));
  });

  it('compaction frees space in use: Status dbSizeInUse drops below dbSize on every member', async () => {
    const [a] = cluster.members as [Member];
    const st = await maint.get(a)!.status();
    const rev = String(st.header!.revision);
    const r = await ctl(a, ['compact', rev, '--physical']);
    expect(r.code, describeCtl(r)).toBe(0);
    expect(r.stdout).toBe(`compacted revision ${rev}\n`);
    for (const m of cluster.members) {
      await waitFor(`dbSizeInUse below dbSize on ${m.name}`, 10_000, async () => {
        const s = await maint.get(m)!.status();
        return s.dbSizeInUse < s.dbSize ? true : undefined;
      });
    }
  });

  it('alarm disarm clears it everywhere; a put that still does not fit raises it again', async () => {
    const [a, b] = cluster.members as [Member, Member];
    const d = await ctl(b, ['alarm', 'disarm']);
    expect(d.code, describeCtl(d)).toBe(0);
    expect(sorted(d.stdout)).toBe(sorted(listed));
    for (const m of cluster.members) {
      await waitFor(`no alarm on ${m.name}`, 5_000, async () => ((await ctl(m, ['alarm', 'list'])).stdout === '' ? true : undefined));
      expect((await health(m)).status).toBe(200);
    }
    // A second disarm has nothing to clear.
    expect((await ctl(b, ['alarm', 'disarm'])).stdout).toBe('');
    // Nothing reclaimed the space (that takes compaction + defrag): the next put through a raises it again.
    const put = await ctl(a, ['put', 'again', VALUE]);
    expect(lastLine(put.stderr)).toBe(NOSPACE_ERR);
    await waitFor('the alarm raised again, listed by b', 5_000, async () => ((await ctl(b, ['alarm', 'list'])).stdout === alarmLine ? true : undefined));
  });

  it('compaction + defrag reclaim the space: after alarm disarm, writes work again', async () => {
    const [a, b] = cluster.members as [Member, Member];
    const del = await ctl(a, ['del', 'fill/', '--prefix']);
    expect(del.code, describeCtl(del)).toBe(0);
    const rev = String((await maint.get(a)!.status()).header!.revision);
    const c = await ctl(a, ['compact', rev, '--physical']);
    expect(c.stdout).toBe(`compacted revision ${rev}\n`);
    const d = await ctl(a, ['defrag', '--cluster']);
    expect(d.code, describeCtl(d)).toBe(0);
    expect(d.stdout.split('\n').filter((l) => l.startsWith('Finished defragmenting etcd member[')).length).toBe(3);
    for (const m of cluster.members) {
      const st = await maint.get(m)!.status();
      expect(st.dbSize, `${m.name} db size after defrag`).toBeLessThan(QUOTA);
    }
    expect((await ctl(b, ['alarm', 'disarm'])).code).toBe(0);
    const put = await ctl(a, ['put', 'after-defrag', 'v']);
    expect(put.code, describeCtl(put)).toBe(0);
    expect(put.stdout).toBe('OK\n');
    expect((await ctl(b, ['alarm', 'list'])).stdout).toBe('');
    for (const m of cluster.members) expect((await health(m)).status).toBe(200);
  });
});
