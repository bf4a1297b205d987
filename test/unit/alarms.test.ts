// The alarm list as replicated state (apply/alarm.ts, alarms.ts) and the backend
// quota on the write path (quota.ts): etcd 3.4.23's semantics.

import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ALARM_PREFIX } from '../../src/mvcc/index.js';
import { AlarmAction, AlarmType } from '../../src/pb/types.js';
import { AlarmStore, alarmText } from '../../src/server/alarms.js';
import { BackendQuota, costPut, costTxn, withGrantQuota } from '../../src/server/quota.js';
import { apply, b, get, put, req, rig } from './apply-helpers.js';
import { TmpStores } from './mvcc-helpers.js';

const stores = new TmpStores();
afterEach(() => stores.cleanup());

const activate = (index: number, memberID: bigint, alarm: number) =>
  req(index, { alarm: { action: AlarmAction.ACTIVATE, memberID, alarm } });
const deactivate = (index: number, memberID: bigint, alarm: number) =>
  req(index, { alarm: { action: AlarmAction.DEACTIVATE, memberID, alarm } });
const list = (index: number) => req(index, { alarm: { action: AlarmAction.GET, memberID: 0n, alarm: AlarmType.NONE } });

describe('alarm requests through the applier', () => {
  it('activate, list, deactivate: each answers what it changed, as etcd does', async () => {
    const r = await rig(stores);
    await apply(r, activate(1, 7n, AlarmType.NOSPACE), activate(2, 7n, AlarmType.NOSPACE), activate(3, 3n, AlarmType.NOSPACE), list(4));
    expect(r.delivered.get(1n)).toEqual({ ok: true, value: [{ memberID: 7n, alarm: AlarmType.NOSPACE }] });
    expect(r.delivered.get(2n)).toEqual({ ok: true, value: [] }); // already active
    expect(r.delivered.get(4n)).toEqual({
      ok: true,
      value: [{ memberID: 3n, alarm: AlarmType.NOSPACE }, { memberID: 7n, alarm: AlarmType.NOSPACE }],
    });
    await apply(r, deactivate(5, 7n, AlarmType.NOSPACE), deactivate(6, 7n, AlarmType.NOSPACE), list(7));
    expect(r.delivered.get(5n)).toEqual({ ok: true, value: [{ memberID: 7n, alarm: AlarmType.NOSPACE }] });
    expect(r.delivered.get(6n)).toEqual({ ok: true, value: [] });
    expect(r.delivered.get(7n)).toEqual({ ok: true, value: [{ memberID: 3n, alarm: AlarmType.NOSPACE }] });
    expect(r.store.consistentIndex()).toBe(7);
  });

  it('NOSPACE refuses puts, txns with puts and lease grants; deletes, reads-only txns and compaction pass', async () => {
    const r = await rig(stores);
    await apply(r, put(1, 'a'), put(2, 'b'), activate(3, 1n, AlarmType.NOSPACE));
    await apply(
      r,
      put(4, 'c'),
      req(5, { txn: { compare: [], success: [{ requestPut: { key: b('d'), value: b('v') } }], failure: [] } }),
      req(6, { leaseGrant: { TTL: 10n, ID: 99n } }),
      req(7, { deleteRange: { key: b('a') } }),
      req(8, { txn: { compare: [], success: [{ requestDeleteRange: { key: b('b') } }], failure: [] } }),
      req(9, { compaction: { revision: 2n } }),
    );
    for (const i of [4n, 5n, 6n]) {
      const res = r.delivered.get(i)!;
      expect(res.ok).toBe(false);
      expect(!res.ok && res.error.message).toBe('etcdserver: mvcc: database space exceeded');
      expect(!res.ok && (res.error as { code: number }).code).toBe(8); // ResourceExhausted
    }
    for (const i of [7n, 8n, 9n]) expect(r.delivered.get(i)!.ok).toBe(true);
    expect(await get(r.store, 'c')).toBeUndefined();
    expect(await get(r.store, 'a')).toBeUndefined();
    expect(r.applier.applied).toBe(9);
    expect(r.fatal).not.toHaveBeenCalled();
    // Disarmed: writes work again.
    await apply(r, deactivate(10, 1n, AlarmType.NOSPACE), put(11, 'c'));
    expect(r.delivered.get(11n)!.ok).toBe(true);
  });

  it('CORRUPT refuses every write, deletes included, with etcd\'s DataLoss error', async () => {
    const r = await rig(stores);
    await apply(r, put(1, 'a'), activate(2, 1n, AlarmType.CORRUPT), put(3, 'b'), req(4, { deleteRange: { key: b('a') } }));
    for (const i of [3n, 4n]) {
      const res = r.delivered.get(i)!;
      expect(!res.ok && res.error.message).toBe('etcdserver: corrupt cluster');
      expect(!res.ok && (res.error as { code: number }).code).toBe(15);
    }
    expect(await get(r.store, 'a')).toBeDefined();
  });

  it('the list is persisted in the alarm bucket and survives a reopen', async () => {
    const r = await rig(stores);
    await apply(r, activate(1, 5n, AlarmType.NOSPACE), activate(2, 6n, AlarmType.CORRUPT), deactivate(3, 6n, AlarmType.CORRUPT));
    const values = await r.store.backend.scanRaw(ALARM_PREFIX);
    const reloaded = new AlarmStore();
    reloaded.load(values);
    expect(reloaded.get()).toEqual([{ memberID: 5n, alarm: AlarmType.NOSPACE }]);
  });

  it('Status error text is etcd\'s AlarmMember string (recorded from etcd 3.4.23)', () => {
    expect(alarmText({ memberID: 5178231669236521898n, alarm: AlarmType.NOSPACE })).toBe('memberID:5178231669236521898 alarm:NOSPACE ');
  });
});

describe('backend quota', () => {
  it('costs as etcd: 256 + key + value per put; a txn costs its larger branch; 0 always fits', async () => {
    expect(costPut({ key: b('k'), value: b('vv') } as never)).toBe(259);
    expect(costTxn({ compare: [], success: [{ requestPut: { key: b('k'), value: b('') } }], failure: [] } as never)).toBe(257);
    expect(costTxn({ compare: [], success: [{ requestDeleteRange: { key: b('k') } }], failure: [] } as never)).toBe(0);
    const q = new BackendQuota({ quotaBytes: 1000, size: async () => 5000, raiseNoSpace: async () => {} });
    expect(await q.available(0)).toBe(true);
    expect(await q.available(1)).toBe(false);
  });

  it('over quota: raises NOSPACE once per refused request and fails with ResourceExhausted', async () => {
    let size = 500;
    const raise = vi.fn(async () => {});
    const q = new BackendQuota({ quotaBytes: 1000, size: async () => size, raiseNoSpace: raise, freshMs: 0 });
    await q.check(400);
    expect(raise).not.toHaveBeenCalled();
    size = 800;
    await expect(q.check(300)).rejects.toMatchObject({ code: 8, message: 'etcdserver: mvcc: database space exceeded' });
    expect(raise).toHaveBeenCalledTimes(1);
  });

  it('a negative quota disables it', async () => {
    const q = new BackendQuota({ quotaBytes: -1, size: async () => 1e12, raiseNoSpace: async () => {} });
    expect(await q.available(1e6)).toBe(true);
  });
});

describe('Status.dbSizeInUse', () => {
  it('drops by what physical compaction deleted; never above dbSize', async () => {
    const r = await rig(stores);
    // Incompressible values (LevelDB compresses its tables).
    const big = (): string => randomBytes(5_000).toString('hex');
    await apply(r, ...Array.from({ length: 10 }, (_, i) => put(i + 1, 'k', big())));
    await r.store.flush();
    const before = await r.store.dbSizeInUse();
    expect(before).toBe(await r.store.dbSize());
    await apply(r, req(11, { compaction: { revision: 10n } }));
    await r.store.compactionDone();
    const size = await r.store.dbSize();
    const inUse = await r.store.dbSizeInUse();
    // Eight old revisions (2..9; 10 is kept) of 10 KB each are gone from use, while LevelDB still holds their bytes.
    expect(size - inUse).toBeGreaterThanOrEqual(8 * 10_000);
    expect(inUse).toBeGreaterThan(10_000); // the live revision and the rest
  });
});

describe('Maintenance.Hash (whole backend)', () => {
  it('equal for stores that applied the same entries (consistent index ignored), different otherwise', async () => {
    const r1 = await rig(stores);
    const r2 = await rig(stores);
    await apply(r1, put(1, 'a'), put(2, 'b'), activate(3, 1n, AlarmType.NOSPACE));
    await apply(r2, put(1, 'a'), put(2, 'b'), activate(3, 1n, AlarmType.NOSPACE));
    const h1 = await r1.store.hash();
    expect(h1).toEqual(await r2.store.hash());
    expect(h1.revision).toBe(3);
    await apply(r2, deactivate(4, 1n, AlarmType.NOSPACE));
    expect((await r2.store.hash()).hash).not.toBe(h1.hash);
  });
});

describe('lease grants behind the quota', () => {
  it('grant pays 64 bytes first; other methods are the lease API\'s own, bound to it', async () => {
    const costs: number[] = [];
    const api = {
      n: 0,
      async grant(ttl: bigint, id: bigint) { this.n++; return { id, ttl: Number(ttl) }; },
      leases() { return [BigInt(this.n)]; },
    };
    const wrapped = withGrantQuota(api, async (c) => { costs.push(c); });
    expect(await wrapped.grant(10n, 5n)).toEqual({ id: 5n, ttl: 10 });
    expect(wrapped.leases()).toEqual([1n]);
    expect(costs).toEqual([64]);
    const refusing = withGrantQuota(api, async () => { throw new Error('etcdserver: mvcc: database space exceeded'); });
    await expect(refusing.grant(10n, 6n)).rejects.toThrow('database space exceeded');
    expect(api.n).toBe(1);
  });
});
