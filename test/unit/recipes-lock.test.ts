// The lock recipe's wait (recipes/mutex.ts, wait-deletes.ts) on a real store and
// watch hub: who waits on whom, what a release wakes, and that an aborted or
// failed wait leaves neither its key nor a watcher behind.

import { describe, expect, it } from 'vitest';
import { lock, unlock } from '../../src/server/api/recipes/mutex.js';
import { EtcdError } from '../../src/server/errors.js';
import { settle, testMembers, track, until } from './recipes-helpers.js';

const member = testMembers();

const name = Buffer.from('L');
const hex = (lease: bigint): string => lease.toString(16);

describe('lock', () => {
  it('takes a free lock at once, keyed by the lease in hex, with the header of its write', async () => {
    const m = await member();
    const lease = m.grantLease();
    const held = await lock(m.ctx(), name, lease);
    expect(held.key.toString()).toBe(`L/${hex(lease)}`);
    expect(held.header.revision).toBe(2n);
    expect(m.openFeeds).toBe(0);
  });

  it('locking again with the same lease reuses the key and writes nothing', async () => {
    const m = await member();
    const lease = m.grantLease();
    await lock(m.ctx(), name, lease);
    const again = await lock(m.ctx(), name, lease);
    expect(again.key.toString()).toBe(`L/${hex(lease)}`);
    expect(again.header.revision).toBe(2n);
    expect(await m.keys('L/')).toEqual([`L/${hex(lease)}`]);
  });

  it('a contender waits until the holder unlocks, then answers with the header of the read that found the lock free', async () => {
    const m = await member();
    const [a, b] = [m.grantLease(), m.grantLease()];
    const first = await lock(m.ctx(), name, a);
    const second = track(lock(m.ctx(), name, b));
    await settle();
    expect(second.settled()).toBe(false);
    expect(m.openFeeds).toBe(1);
    await unlock(m.ctx(), first.key); // revision 4
    await until('the second contender to hold the lock', second.settled);
    expect(second.error()).toBeUndefined();
    expect(second.value()!.key.toString()).toBe(`L/${hex(b)}`);
    expect(second.value()!.header.revision).toBe(4n);
    expect(m.openFeeds).toBe(0);
  });

  it('each waiter watches only the next older key: a release wakes one waiter, in creation order', async () => {
    const m = await member();
    const [a, b, c] = [m.grantLease(), m.grantLease(), m.grantLease()];
    const ha = await lock(m.ctx(), name, a);
    const wb = track(lock(m.ctx(), name, b));
    await settle();
    const wc = track(lock(m.ctx(), name, c));
    await settle();
    // c watches b, not the holder a.
    expect(m.checks.map(([, k]) => k)).toEqual([`L/${hex(a)}`, `L/${hex(b)}`]);
    await unlock(m.ctx(), ha.key);
    await until('b to hold the lock', wb.settled);
    await settle();
    expect(wc.settled()).toBe(false);
    await unlock(m.ctx(), wb.value()!.key);
    await until('c to hold the lock', wc.settled);
    expect(wc.value()!.key.toString()).toBe(`L/${hex(c)}`);
  });

  it('a waiter whose predecessor gives up keeps waiting for the holder', async () => {
    const m = await member();
    const [a, b, c] = [m.grantLease(), m.grantLease(), m.grantLease()];
    const ha = await lock(m.ctx(), name, a);
    const cancelB = new AbortController();
    const wb = track(lock(m.ctx(cancelB.signal), name, b));
    await settle();
    const wc = track(lock(m.ctx(), name, c));
    await settle();
    cancelB.abort(new Error('context canceled'));
    await until('b to give up', wb.settled);
    await settle();
    expect(wc.settled()).toBe(false); // woken by b's delete, it found a still there
    expect(await m.keys('L/')).toEqual([`L/${hex(a)}`, `L/${hex(c)}`]);
    await unlock(m.ctx(), ha.key);
    await until('c to hold the lock', wc.settled);
    expect(wc.error()).toBeUndefined();
  });

  it('an aborted wait deletes its key and closes its watch', async () => {
    const m = await member();
    const [a, b] = [m.grantLease(), m.grantLease()];
    await lock(m.ctx(), name, a);
    const ctl = new AbortController();
    const wb = track(lock(m.ctx(ctl.signal), name, b));
    await until('b to watch', () => m.openFeeds === 1);
    ctl.abort(new Error('context canceled'));
    await until('b to give up', wb.settled);
    expect((wb.error() as Error).message).toBe('context canceled');
    expect(m.openFeeds).toBe(0);
    expect(m.hub.stats()).toMatchObject({ synced: 0, unsynced: 0, victims: 0 });
    expect(await m.keys('L/')).toEqual([`L/${hex(a)}`]);
  });

  it('a call already gone when its uncontended lock is written releases it again', async () => {
    const m = await member();
    const ctl = new AbortController();
    ctl.abort(new Error('context canceled'));
    await expect(lock(m.ctx(ctl.signal), name, m.grantLease())).rejects.toThrow('context canceled');
    expect(await m.keys('L/')).toEqual([]);
  });

  it('a holder whose lease expires (its key deleted) hands the lock on', async () => {
    const m = await member();
    const [a, b] = [m.grantLease(), m.grantLease()];
    await lock(m.ctx(), name, a);
    const wb = track(lock(m.ctx(), name, b));
    await settle();
    await m.del(`L/${hex(a)}`); // what a lease revoke does to the key
    await until('b to hold the lock', wb.settled);
    expect(wb.error()).toBeUndefined();
  });

  it('a watch the caller may not read fails the wait, and the key is deleted', async () => {
    const m = await member();
    const [a, b] = [m.grantLease(), m.grantLease()];
    await lock(m.ctx(), name, a);
    m.unreadable.add(`L/${hex(a)}`);
    await expect(lock(m.ctx(undefined, { username: 'u', revision: 1 }), name, b)).rejects.toThrow('permission denied');
    expect(m.checks).toEqual([['u', `L/${hex(a)}`]]);
    expect(await m.keys('L/')).toEqual([`L/${hex(a)}`]);
  });

  it('a watch whose start revision was compacted fails the wait with etcd\'s error, and the key is deleted', async () => {
    const m = await member();
    const [a, b] = [m.grantLease(), m.grantLease()];
    await lock(m.ctx(), name, a);
    // The range reads revision 3; compact past it before the watch starts.
    const kv = m.kv;
    let compacted = false;
    const ctx = m.ctx();
    ctx.kv = {
      ...kv,
      range: async (req) => {
        const r = await kv.range(req);
        if (!compacted) {
          compacted = true;
          await m.put('other', 'x');
          await kv.compact({ revision: 4n, physical: false });
        }
        return r;
      },
    };
    const err = await lock(ctx, name, b).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EtcdError);
    expect((err as Error).message).toBe('etcdserver: mvcc: required revision has been compacted');
    expect(await m.keys('L/')).toEqual([`L/${hex(a)}`]);
    expect(m.openFeeds).toBe(0);
  });

  it('lease 0 takes a fresh lease of the default session TTL (60 s)', async () => {
    const m = await member();
    const held = await lock(m.ctx(), name, 0n);
    expect(m.granted).toEqual([60n]);
    expect(held.key.toString()).toBe(`L/${hex([...m.leases][0]!)}`);
  });

  it('a lease that does not exist fails with etcd\'s error and leaves nothing', async () => {
    const m = await member();
    await expect(lock(m.ctx(), name, 0x999n)).rejects.toThrow('etcdserver: requested lease not found');
    expect(await m.keys('L/')).toEqual([]);
  });

  it('unlock deletes the key whoever holds it; an empty key is etcd\'s "key is not provided"', async () => {
    const m = await member();
    const held = await lock(m.ctx(), name, m.grantLease());
    const h = await unlock(m.ctx(), held.key);
    expect(h.revision).toBe(3n);
    expect(await m.keys('L/')).toEqual([]);
    await expect(unlock(m.ctx(), Buffer.alloc(0))).rejects.toThrow('etcdserver: key is not provided');
  });

  it('keys of other locks sharing the name as a prefix do not count ("L/" is not "LL/")', async () => {
    const m = await member();
    await m.put('LL/x', '');
    await m.put('L', '');
    const held = await lock(m.ctx(), name, m.grantLease());
    expect(held.header.revision).toBe(4n);
  });
});
