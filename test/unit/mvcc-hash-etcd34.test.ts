// HashKV after a compaction equals etcd 3.4.23's: its HashByRev counts an older
// revision only while it is its key's latest (kvindex.Keep(rev), not
// Keep(compactRev) as 3.5 does). Expected values recorded by running etcd 3.4.23
// with etcdctl on the same steps:
//   txn { put k1 a; put k2 b; put k3 c }; put k1 r1..r4; del k2; put k3 x;
//   compact 3; put k3 y; endpoint hashkv → 2785753956; endpoint hashkv --rev 8 → 318985229
import { afterEach, describe, expect, it } from 'vitest';
import { dr, pr, TmpStores } from './mvcc-helpers.js';

describe('HashKV as etcd 3.4.23 computes it', () => {
  const t = new TmpStores();
  afterEach(() => t.cleanup());

  it('after a compaction, at the current revision and at an older one, also after a restart', async () => {
    const dir = await t.dir();
    const s = await t.open(dir);
    let ci = 1;
    await s.txn({ compare: [], success: [{ put: pr('k1', 'a') }, { put: pr('k2', 'b') }, { put: pr('k3', 'c') }], failure: [] }, ci++);
    for (let i = 1; i <= 4; i++) await s.put(pr('k1', `r${i}`), ci++);
    await s.deleteRange(dr('k2'), ci++);
    await s.put(pr('k3', 'x'), ci++);
    await (await s.compact(3, ci++)).done;
    await s.put(pr('k3', 'y'), ci++);
    expect((await s.hashKV(0)).hash).toBe(2785753956);
    expect((await s.hashKV(8)).hash).toBe(318985229);
    await s.close();
    const r = await t.open(dir);
    expect((await r.hashKV(0)).hash).toBe(2785753956);
    expect((await r.hashKV(8)).hash).toBe(318985229);
  });
});
