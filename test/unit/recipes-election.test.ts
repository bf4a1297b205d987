// The election recipe (recipes/election.ts) on a real store and watch hub:
// campaign order, proclaim/resign only while the key is the campaign's, and
// Observe's sequence of leaders and values.

import { describe, expect, it } from 'vitest';
import type * as pb from '../../src/pb/types.js';
import { campaign, leader, observe, proclaim, resign } from '../../src/server/api/recipes/election.js';
import { header, settle, TestMember, testMembers, track, until } from './recipes-helpers.js';

const member = testMembers();

const E = Buffer.from('E');
const v = (s: string): Buffer => Buffer.from(s);
const hex = (lease: bigint): string => lease.toString(16);
const info = { header: (rev?: number) => header(rev ?? 0) };

describe('campaign', () => {
  it('wins a free election at once with the header of its write', async () => {
    const m = await member();
    const lease = m.grantLease();
    const r = await campaign(m.ctx(), E, lease, v('a'));
    expect(Buffer.from(r.leader.key).toString()).toBe(`E/${hex(lease)}`);
    expect(r.leader).toMatchObject({ rev: 2, lease });
    expect(r.header.revision).toBe(2n);
    expect(m.openFeeds).toBe(0);
  });

  it('campaigning again with the same lease keeps the key and proclaims the new value; the header stays the first write\'s', async () => {
    const m = await member();
    const lease = m.grantLease();
    await campaign(m.ctx(), E, lease, v('a'));
    const again = await campaign(m.ctx(), E, lease, v('b'));
    expect(again.leader.rev).toBe(2);
    expect(again.header.revision).toBe(2n); // etcd 3.4.23 answers so too (recorded)
    const l = await leader(m.ctx(), E);
    expect(Buffer.from(l.kv!.value).toString()).toBe('b');
    expect(l.kv!.version).toBe(2n);
  });

  it('a second candidate waits until the leader resigns', async () => {
    const m = await member();
    const [a, b] = [m.grantLease(), m.grantLease()];
    const ra = await campaign(m.ctx(), E, a, v('a'));
    const rb = track(campaign(m.ctx(), E, b, v('b')));
    await settle();
    expect(rb.settled()).toBe(false);
    await resign(m.ctx(), ra.leader);
    await until('b to lead', rb.settled);
    expect(rb.value()!.leader.rev).toBe(3);
    expect(Buffer.from((await leader(m.ctx(), E)).kv!.value).toString()).toBe('b');
  });

  it('a candidate whose call aborts resigns and closes its watch', async () => {
    const m = await member();
    const [a, b] = [m.grantLease(), m.grantLease()];
    await campaign(m.ctx(), E, a, v('a'));
    const ctl = new AbortController();
    const rb = track(campaign(m.ctx(ctl.signal), E, b, v('b')));
    await until('b to watch', () => m.openFeeds === 1);
    ctl.abort(new Error('context canceled'));
    await until('b to give up', rb.settled);
    expect(m.openFeeds).toBe(0);
    expect(await m.keys('E/')).toEqual([`E/${hex(a)}`]);
  });
});

describe('proclaim and resign', () => {
  it('act while the key is the campaign\'s; a re-created key (new create revision) is not theirs', async () => {
    const m = await member();
    const lease = m.grantLease();
    const r = await campaign(m.ctx(), E, lease, v('a'));
    expect((await proclaim(m.ctx(), r.leader, v('b'))).revision).toBe(3n);
    await m.del(`E/${hex(lease)}`);
    await m.put(`E/${hex(lease)}`, 'someone else', lease);
    await expect(proclaim(m.ctx(), r.leader, v('c'))).rejects.toThrow('election: not leader');
    const h = await resign(m.ctx(), r.leader); // no error, nothing deleted
    expect(h.revision).toBe(5n);
    expect(Buffer.from((await leader(m.ctx(), E)).kv!.value).toString()).toBe('someone else');
  });

  it('leader without candidates is etcd\'s "election: no leader"', async () => {
    const m = await member();
    await m.put('EE/x', 'not this election');
    await expect(leader(m.ctx(), E)).rejects.toThrow('election: no leader');
  });
});

describe('observe', () => {
  /** Runs observe until stopped; returns the [key, value, header revision] seen. */
  function observer(m: TestMember) {
    const ctl = new AbortController();
    const seen: [string, string, number][] = [];
    const done = observe(m.ctx(ctl.signal), info, E, async (res: pb.LeaderResponse) => {
      seen.push([Buffer.from(res.kv!.key).toString(), Buffer.from(res.kv!.value).toString(), Number(res.header!.revision)]);
    });
    return { seen, stop: () => ctl.abort(new Error('context canceled')), done };
  }

  it('sends the leader, each new value, and each next leader, in order', async () => {
    const m = await member();
    const [a, b] = [m.grantLease(), m.grantLease()];
    const ra = await campaign(m.ctx(), E, a, v('a1')); // rev 2
    const o = observer(m);
    await until('the first leader', () => o.seen.length === 1);
    const rb = track(campaign(m.ctx(), E, b, v('b1'))); // rev 3: not the leader, not sent
    await settle();
    await proclaim(m.ctx(), ra.leader, v('a2')); // rev 4
    await resign(m.ctx(), ra.leader); // rev 5
    await until('b to lead', rb.settled);
    await proclaim(m.ctx(), rb.value()!.leader, v('b2')); // rev 6
    await until('four responses', () => o.seen.length === 4);
    o.stop();
    await o.done;
    expect(o.seen).toEqual([
      [`E/${hex(a)}`, 'a1', 2],
      [`E/${hex(a)}`, 'a2', 4],
      [`E/${hex(b)}`, 'b1', 5],
      [`E/${hex(b)}`, 'b2', 6],
    ]);
    expect(m.openFeeds).toBe(0);
  });

  it('without a leader, waits for the first key put under the prefix (header at its revision)', async () => {
    const m = await member();
    await m.put('other', 'x'); // rev 2
    const o = observer(m);
    await until('the watch', () => m.openFeeds === 1);
    await m.put('other', 'y'); // rev 3
    await m.put('E/z', 'first'); // rev 4
    await until('the first leader', () => o.seen.length === 1);
    expect(o.seen).toEqual([['E/z', 'first', 4]]);
    o.stop();
    await o.done;
    expect(m.openFeeds).toBe(0);
  });

  it('ends without error when the call aborts, and when a read is refused', async () => {
    const m = await member();
    const o = observer(m);
    await until('the watch', () => m.openFeeds === 1);
    o.stop();
    await expect(o.done).resolves.toBeUndefined();
    m.unreadable.add('E/');
    const refused = observer(m);
    await expect(refused.done).resolves.toBeUndefined();
    expect(refused.seen).toEqual([]);
    expect(m.openFeeds).toBe(0);
  });

  it('a consumer that stops reading holds the values back (bounded), none lost or reordered', async () => {
    const m = await member();
    const lease = m.grantLease();
    const r = await campaign(m.ctx(), E, lease, v('0'));
    const ctl = new AbortController();
    const seen: string[] = [];
    let unblock!: () => void;
    const blocked = new Promise<void>((res) => (unblock = res));
    const done = observe(m.ctx(ctl.signal), info, E, async (res) => {
      seen.push(Buffer.from(res.kv!.value).toString());
      if (seen.length > 1) await blocked; // the watched values wait until all are written
    });
    await until('the watch on the leader key', () => m.openFeeds === 1);
    for (let i = 1; i <= 60; i++) await proclaim(m.ctx(), r.leader, v(String(i)));
    await settle();
    expect(seen).toEqual(['0', '1']);
    expect(m.hub.stats().victims).toBe(1); // the feed is full: the hub holds the rest
    unblock();
    await until('every value', () => seen.length === 61);
    ctl.abort(new Error('context canceled'));
    await done;
    expect(seen).toEqual(Array.from({ length: 61 }, (_, i) => String(i)));
  });
});
