// LeaseGrant and LeaseRevoke answer with the store's revision when they applied,
// as etcd 3.4's applier does (newHeader at apply time), not the revision when the
// answer is sent: entries applied in the same batch after them must not show.
// (Found by the whole-cluster simulation's linearizability check.)

import { afterEach, describe, expect, it } from 'vitest';
import { apply, put, req, rig } from './apply-helpers.js';
import { TmpStores } from './mvcc-helpers.js';

const stores = new TmpStores();
afterEach(() => stores.cleanup());

describe('lease answers carry the revision at apply time', () => {
  it('grant and revoke, each followed by puts in the same batch', async () => {
    const r = await rig(stores);
    await apply(
      r,
      put(1, 'a'), // revision 2
      req(2, { leaseGrant: { ID: 7n, TTL: 60n } }),
      put(3, 'b'), // revision 3
      req(4, { leaseGrant: { ID: 8n, TTL: 60n } }),
      req(5, { put: { key: Buffer.from('c'), value: Buffer.from('v'), lease: 8n } }), // revision 4
      req(6, { leaseRevoke: { ID: 7n } }), // no keys: still revision 4
      put(7, 'd'), // revision 5
      req(8, { leaseRevoke: { ID: 8n } }), // (this rig attaches no keys to leases) revision 5
      put(9, 'e'), // revision 6
    );
    const value = (id: number) => {
      const res = r.delivered.get(BigInt(id));
      expect(res?.ok).toBe(true);
      return (res as { value: { revision: number } }).value;
    };
    expect(value(2)).toMatchObject({ id: 7n, ttl: 60, revision: 2 });
    expect(value(4)).toMatchObject({ id: 8n, ttl: 60, revision: 3 });
    expect(value(6)).toEqual({ revision: 4 });
    expect(value(8)).toEqual({ revision: 5 });
    expect(r.store.currentRevision()).toBe(6);
  });
});
