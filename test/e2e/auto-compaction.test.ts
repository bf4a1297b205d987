// --auto-compaction-mode periodic with a sub-minute retention (etcd 3.4 accepts
// any Go duration): the member compacts by itself, so a get at an old revision
// fails with etcd's error. ETCD_TS_E2E_IMPL=etcd checks the same against etcd 3.4.23.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/cluster.js';
import { etcdctl, requireEtcdctl, startMember, stopMember } from './helpers/etcd-process.js';
import type { Member } from './helpers/member.js';

const IMPL = process.env.ETCD_TS_E2E_IMPL === 'etcd' ? 'etcd' : 'etcd-ts';

describe.skipIf(!requireEtcdctl())(`auto-compaction (${IMPL})`, () => {
  let m: Member | undefined;
  beforeAll(async () => {
    m = await startMember({ impl: IMPL, extraArgs: ['--auto-compaction-mode', 'periodic', '--auto-compaction-retention', '2s'] });
  });
  afterAll(async () => { await stopMember(m); });

  it('periodic, 2s: revisions older than the retention get compacted', async () => {
    for (let i = 0; i < 5; i++) expect((await etcdctl(m!.clientPort, ['put', 'ac', `v${i}`])).code).toBe(0);
    const r = await waitFor('auto-compaction of revision 2', 15_000, async () => {
      const got = await etcdctl(m!.clientPort, ['get', 'ac', '--rev', '2']);
      return got.code !== 0 ? got : undefined;
    }, 250);
    expect(r.stderr.trim().split('\n').at(-1)).toBe('Error: etcdserver: mvcc: required revision has been compacted');
    // The newest value is still there.
    expect((await etcdctl(m!.clientPort, ['get', 'ac', '--print-value-only'])).stdout).toBe('v4\n');
  });
});
