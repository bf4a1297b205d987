// The applier: a deterministic error is the request's answer and the entry is
// applied; anything else (disk, LevelDB, a bug, an entry it does not know) stops
// the applier at that entry, without advancing the index or answering with it.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { EntryType } from '../../src/raft/types.js';
import { LeaseError } from '../../src/lease/index.js';
import { MvccError } from '../../src/mvcc/errors.js';
import { ApplyFailure } from '../../src/server/apply/index.js';
import { apply, get, put, req, rig } from './apply-helpers.js';
import { TmpStores } from './mvcc-helpers.js';
import { bindLessor } from '../../src/server/lease/bind.js';
import { pino } from 'pino';

const stores = new TmpStores();
afterEach(() => stores.cleanup());

describe('deterministic errors', () => {
  it('are delivered as the answer and the entry counts as applied', async () => {
    const r = await rig(stores);
    await apply(
      r,
      put(1, 'a'),
      req(2, { compaction: { revision: 100 } }), // a future revision: mvcc error
      req(3, { leaseRevoke: { ID: 42 } }), // no such lease: lease error
      put(4, 'b'),
    );
    const compact = r.delivered.get(2n)!;
    expect(compact.ok).toBe(false);
    expect(!compact.ok && compact.error).toBeInstanceOf(MvccError);
    const revoke = r.delivered.get(3n)!;
    expect(!revoke.ok && revoke.error).toBeInstanceOf(LeaseError);
    expect(r.delivered.get(4n)?.ok).toBe(true);
    expect(r.applier.applied).toBe(4);
    expect(r.store.consistentIndex()).toBe(4);
    expect(r.appliedCalls.at(-1)).toBe(4);
    expect(r.fatal).not.toHaveBeenCalled();
  });
});

describe('environmental failures', () => {
  it('do not advance the index, are not delivered, call fatal once and stop applying', async () => {
    const r = await rig(stores);
    await apply(r, put(1, 'a'));
    // The applier uses the store's synchronous-when-possible form (putNow).
    const realPut = r.store.putNow.bind(r.store);
    vi.spyOn(r.store, 'putNow').mockImplementation((p, index) =>
      index === 2 ? Promise.reject(new Error('IO error: /data/member/db/000005.log: No space left on device')) : realPut(p, index),
    );
    r.applier.push([put(2, 'b'), put(3, 'c')]);
    r.applier.push([put(4, 'd')]);
    await r.applier.drained();
    r.applier.push([put(5, 'e')]); // after the failure: ignored
    await r.applier.drained();

    expect(r.fatal).toHaveBeenCalledTimes(1);
    const failure = r.fatal.mock.calls[0]![0];
    expect(failure).toBeInstanceOf(ApplyFailure);
    expect(failure.index).toBe(2);
    expect(failure.message).toContain('cannot apply committed entry 2');
    expect(failure.message).toContain('No space left on device');
    expect(r.applier.failed).toBe(failure);

    expect(r.applier.applied).toBe(1);
    expect(r.store.consistentIndex()).toBe(1);
    expect(r.appliedCalls.every((i) => i < 2)).toBe(true);
    expect([...r.delivered.keys()]).toEqual([1n]);
    for (const k of ['b', 'c', 'd', 'e']) expect(await get(r.store, k)).toBeUndefined();
  });

  it('an mvcc error that depends on this member (store closed) is environmental', async () => {
    const r = await rig(stores);
    // Thrown synchronously, as putNow does when it can answer at once.
    vi.spyOn(r.store, 'putNow').mockImplementation(() => {
      throw new MvccError('closed', 'mvcc: closed');
    });
    await apply(r, put(1, 'a'));
    expect(r.fatal).toHaveBeenCalledTimes(1);
    expect(r.applier.applied).toBe(0);
    expect(r.delivered.size).toBe(0);
  });
});

describe('entries this member cannot apply are fatal', () => {
  it('an unknown request', async () => {
    const r = await rig(stores);
    await apply(r, put(1, 'a'), req(2, { downgradeInfoSet: { enabled: true, ver: '3.5.0' } }), put(3, 'c'));
    expect(r.fatal).toHaveBeenCalledTimes(1);
    const failure = r.fatal.mock.calls[0]![0];
    expect(failure.index).toBe(2);
    expect(failure.message).toMatch(/unknown request.*downgradeInfoSet/);
    expect(r.applier.applied).toBe(1);
    expect(r.store.consistentIndex()).toBe(1);
    expect(await get(r.store, 'c')).toBeUndefined();
  });

  it('an unknown entry type', async () => {
    const r = await rig(stores);
    await apply(r, put(1, 'a'), { term: 1, index: 2, type: 7 as EntryType, data: new Uint8Array(0), encoded: undefined }, put(3, 'c'));
    expect(r.fatal).toHaveBeenCalledTimes(1);
    expect(r.fatal.mock.calls[0]![0].index).toBe(2);
    expect(r.fatal.mock.calls[0]![0].message).toContain('unknown entry type');
    expect(r.applier.applied).toBe(1);
    expect(await get(r.store, 'c')).toBeUndefined();
  });
});

describe('exceptions while applying', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

  it('an entry that does not decode is fatal, not an unhandled rejection', async () => {
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
    try {
      const r = await rig(stores);
      await apply(r, put(1, 'a'), { term: 1, index: 2, type: EntryType.Normal, data: new Uint8Array([0xff, 0xff, 0xff]), encoded: undefined });
      await new Promise((res) => setTimeout(res, 20)); // let a rejection surface
      expect(unhandled).toEqual([]);
      expect(r.fatal).toHaveBeenCalledTimes(1);
      expect(r.fatal.mock.calls[0]![0].index).toBe(2);
      expect(r.applier.applied).toBe(1);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a hook that throws is fatal, not an unhandled rejection', async () => {
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
    try {
      const r = await rig(stores, {
        termStarted: () => {
          throw new TypeError('bug in termStarted');
        },
      });
      await apply(r, put(1, 'a'), { term: 2, index: 2, type: EntryType.Normal, data: new Uint8Array(0), encoded: undefined }, put(3, 'c'));
      await new Promise((res) => setTimeout(res, 20));
      expect(unhandled).toEqual([]);
      expect(r.fatal).toHaveBeenCalledTimes(1);
      expect(r.fatal.mock.calls[0]![0].message).toMatch(/entry 2: unexpected exception: TypeError: bug in termStarted/);
      expect(r.applier.applied).toBe(1);
      expect(await get(r.store, 'c')).toBeUndefined();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('lease answers carry the revision they were applied at', () => {
  // etcd builds a LeaseGrant/LeaseRevoke header when the entry is applied
  // (newHeader in apply.go). Answering with the member's revision when the
  // response is sent gave a revoke the revision of a put applied after it (the
  // fault suite's linearizability check found it: revoke and a later put both
  // answered 429).
  it('a grant the revision before it, a revoke the revision of its deletes, a revoke without keys the current one', async () => {
    const r = await rig(stores);
    await bindLessor(r.lessor, r.store, pino({ level: 'silent' })); // applied puts attach keys to their lease
    await apply(
      r,
      put(1, 'a'), // revision 2
      req(2, { leaseGrant: { ID: 7, TTL: 60 } }),
      req(3, { put: { key: Buffer.from('k'), value: Buffer.from('v'), lease: 7 } }), // revision 3
      req(4, { leaseRevoke: { ID: 7 } }), // deletes k: revision 4
      put(5, 'b'), // revision 5
      req(6, { leaseGrant: { ID: 8, TTL: 60 } }),
      req(7, { leaseRevoke: { ID: 8 } }), // no keys: no new revision
      put(8, 'c'), // revision 6
    );
    const value = (i: bigint): unknown => {
      const res = r.delivered.get(i)!;
      return res.ok ? res.value : res.error;
    };
    expect(value(2n)).toEqual({ id: 7n, ttl: 60, revision: 2 });
    expect(value(4n)).toEqual({ revision: 4 });
    expect(value(6n)).toEqual({ id: 8n, ttl: 60, revision: 5 });
    expect(value(7n)).toEqual({ revision: 5 });
  });
});
