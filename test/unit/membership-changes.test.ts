// Runtime membership changes: apply-time validation (the same on every member),
// the checks before proposing (strict reconfig, learner readiness, one change at
// a time), and the learner guard of the client API.
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { type ConfChange, ConfChangeType } from '../../src/raft/types.js';
import { confChangeRequestId, encodeMemberContext, type Member, Membership } from '../../src/server/membership.js';
import { MemberChanges, type MemberChangePorts, validPeerURLs } from '../../src/server/member-changes.js';
import { guardForLearner } from '../../src/server/api/learner-guard.js';
import { apiServices } from '../../src/server/api/services.js';

const A = 0xan;
const B = 0xbn;
const C = 0xcn;

function cc(type: ConfChangeType, id: bigint, peerURLs: string[], opts: { promote?: boolean; reqId?: bigint } = {}): ConfChange {
  return {
    type,
    nodeId: id,
    context: encodeMemberContext({ id, name: '', peerURLs, isLearner: type === ConfChangeType.AddLearnerNode }, opts.reqId, opts.promote),
  };
}

function threeMembers(): Membership {
  const m = new Membership(1n, A);
  for (const [id, port] of [[A, 1], [B, 2], [C, 3]] as const) {
    m.applyConfChange(cc(ConfChangeType.AddNode, id, [`http://h:${port}`]));
    m.setAttributes(id, `m${port}`, [`http://h:${port}0`]);
  }
  return m;
}

describe('Membership.validateConfChange (apply time, etcd texts)', () => {
  it('refuses an existing id, taken peer URLs, a removed or unknown member', () => {
    const m = threeMembers();
    expect(m.validateConfChange(cc(ConfChangeType.AddNode, B, ['http://h:9']))?.message).toBe('etcdserver: member ID already exist');
    expect(m.validateConfChange(cc(ConfChangeType.AddNode, 0xdn, ['http://h:2']))?.message).toBe('etcdserver: Peer URLs already exists');
    expect(m.validateConfChange(cc(ConfChangeType.AddNode, 0xdn, ['http://h:4']))).toBeUndefined();
    expect(m.validateConfChange(cc(ConfChangeType.RemoveNode, 0xdn, []))?.message).toBe('etcdserver: member not found');
    m.applyConfChange(cc(ConfChangeType.RemoveNode, C, []));
    expect(m.validateConfChange(cc(ConfChangeType.RemoveNode, C, []))?.message).toBe('etcdserver: member not found');
    expect(m.validateConfChange(cc(ConfChangeType.AddNode, C, ['http://h:3']))?.message).toBe('etcdserver: member not found');
    expect(m.validateConfChange(cc(ConfChangeType.UpdateNode, 0xdn, ['http://h:7']))?.message).toBe('etcdserver: member not found');
    expect(m.validateConfChange(cc(ConfChangeType.UpdateNode, B, ['http://h:1']))?.message).toBe('etcdserver: Peer URLs already exists');
    expect(m.validateConfChange(cc(ConfChangeType.UpdateNode, B, ['http://h:2', 'http://h:8']))).toBeUndefined();
  });

  it('learners: at most --experimental-max-learners; only a learner is promoted', () => {
    const m = threeMembers();
    m.applyConfChange(cc(ConfChangeType.AddLearnerNode, 0xdn, ['http://h:4']));
    expect(m.get(0xdn)?.isLearner).toBe(true);
    expect(m.validateConfChange(cc(ConfChangeType.AddLearnerNode, 0xen, ['http://h:5']))?.message).toBe(
      'etcdserver: too many learner members in cluster',
    );
    m.maxLearners = 2;
    expect(m.validateConfChange(cc(ConfChangeType.AddLearnerNode, 0xen, ['http://h:5']))).toBeUndefined();
    expect(m.validateConfChange(cc(ConfChangeType.AddNode, A, ['http://h:1'], { promote: true }))?.message).toBe(
      'etcdserver: can only promote a learner member',
    );
    expect(m.validateConfChange(cc(ConfChangeType.AddNode, 0xfn, ['http://h:6'], { promote: true }))?.message).toBe(
      'etcdserver: member not found',
    );
    const promote = cc(ConfChangeType.AddNode, 0xdn, ['http://h:4'], { promote: true, reqId: 0x1234n });
    expect(m.validateConfChange(promote)).toBeUndefined();
    expect(confChangeRequestId(promote)).toBe(0x1234n);
    m.applyConfChange(promote);
    expect(m.get(0xdn)?.isLearner).toBe(false);
  });

  it('the membership survives a snapshot round trip (removed ids too)', () => {
    const m = threeMembers();
    m.applyConfChange(cc(ConfChangeType.RemoveNode, C, []));
    const copy = new Membership(1n, A);
    copy.restore(m.toSnapshot());
    expect(copy.list()).toEqual(m.list());
    expect(copy.isRemoved(C)).toBe(true);
  });
});

function ports(m: Membership, over: Partial<MemberChangePorts> = {}): MemberChangePorts & { proposed: ConfChange[] } {
  const proposed: ConfChange[] = [];
  return {
    proposed,
    memberId: A,
    membership: m,
    strictReconfigCheck: true,
    proposeConfChange: async (make) => {
      const c = make(42n);
      proposed.push(c);
      const err = m.validateConfChange(c);
      if (err) throw err;
      m.applyConfChange(c);
      return m.list();
    },
    progress: () => new Map([[A, { match: 100 }], [B, { match: 100 }], [C, { match: 100 }]]),
    // Every peer connected for a minute.
    activeSince: () => 0,
    now: () => 60_000,
    forwardPromote: async () => [],
    ...over,
  };
}

describe('MemberChanges (before proposing)', () => {
  it('validates peer URLs as etcd does', async () => {
    expect(validPeerURLs(['http://127.0.0.1:2380'])).toBe(true);
    expect(validPeerURLs(['127.0.0.1:2380'])).toBe(false);
    expect(validPeerURLs(['http://127.0.0.1'])).toBe(false);
    expect(validPeerURLs([])).toBe(false);
    const changes = new MemberChanges(ports(threeMembers()));
    await expect(changes.add(['foo'], false)).rejects.toThrow('etcdserver: given member URLs are invalid');
  });

  it('strict reconfig: not enough started members, unhealthy cluster; a down member may be removed', async () => {
    const m = new Membership(1n, A);
    for (const [id, port] of [[A, 1], [B, 2], [C, 3]] as const) m.applyConfChange(cc(ConfChangeType.AddNode, id, [`http://h:${port}`]));
    m.setAttributes(A, 'a', []);
    // Two of three never started: adding a voter would leave quorum to members that never ran.
    await expect(new MemberChanges(ports(m)).add(['http://h:4'], false)).rejects.toThrow(
      'etcdserver: re-configuration failed due to not enough started members',
    );
    m.setAttributes(B, 'b', []);
    m.setAttributes(C, 'c', []);
    await expect(new MemberChanges(ports(m, { activeSince: (id) => (id === C ? undefined : 0) })).add(['http://h:4'], true)).rejects.toThrow(
      'etcdserver: unhealthy cluster',
    );
    // C is down: removing it is safe. Removing B while C is down would leave one of two.
    const down = new MemberChanges(ports(m, { activeSince: (id) => (id === C ? undefined : 0) }));
    await expect(down.remove(B)).rejects.toThrow('etcdserver: unhealthy cluster');
    await expect(down.remove(C)).resolves.toHaveLength(2);
    // Without the check, the add goes through.
    await expect(new MemberChanges(ports(m, { strictReconfigCheck: false, activeSince: () => undefined })).add(['http://h:4'], false)).resolves.toBeDefined();
  });

  it('strict reconfig: a peer counts as active only after 5 s connected without a break (etcd HealthInterval)', async () => {
    const m = threeMembers();
    for (const [id, n] of [[A, 'a'], [B, 'b'], [C, 'c']] as const) m.setAttributes(id, n, []);
    let now = 100_000;
    // C's stream came up (again) 4.9 s ago: not yet healthy.
    const since = (id: bigint): number | undefined => (id === C ? 95_100 : 0);
    const changes = (): MemberChanges => new MemberChanges(ports(m, { activeSince: since, now: () => now }));
    await expect(changes().add(['http://h:4'], true)).rejects.toThrow('etcdserver: unhealthy cluster');
    // Removing B: A and C would be left, but C has not been up for 5 s yet (1 of 3 counted minus B).
    await expect(changes().remove(B)).rejects.toThrow('etcdserver: unhealthy cluster');
    now = 100_101; // 5.001 s since C connected
    await expect(changes().add(['http://h:4'], true)).resolves.toBeDefined();
  });

  it('promote: only in sync with the leader (90% of its match), forwarded when not the leader', async () => {
    const m = threeMembers();
    m.applyConfChange(cc(ConfChangeType.AddLearnerNode, 0xdn, ['http://h:4']));
    const behind = ports(m, { progress: () => new Map([[A, { match: 100 }], [0xdn, { match: 89 }]]) });
    await expect(new MemberChanges(behind).promote(0xdn)).rejects.toThrow(
      'etcdserver: can only promote a learner member which is in sync with leader',
    );
    let forwarded: bigint | undefined;
    const follower = ports(m, { progress: () => undefined, forwardPromote: async (id) => ((forwarded = id), []) });
    await new MemberChanges(follower).promote(0xdn);
    expect(forwarded).toBe(0xdn);
    const synced = ports(m, { progress: () => new Map([[A, { match: 100 }], [0xdn, { match: 90 }]]) });
    const members: Member[] = await new MemberChanges(synced).promote(0xdn);
    expect(members.find((x) => x.id === 0xdn)?.isLearner).toBe(false);
    await expect(new MemberChanges(synced).promote(A)).rejects.toThrow('etcdserver: can only promote a learner member');
  });

  it('one change at a time: the second is proposed only after the first was answered', async () => {
    const m = threeMembers();
    const order: string[] = [];
    let release!: () => void;
    const p = ports(m);
    const first = new Promise<void>((r) => (release = r));
    const changes = new MemberChanges({
      ...p,
      proposeConfChange: async (make) => {
        const c = make(1n);
        order.push(`start ${c.nodeId.toString(16)}`);
        if (c.nodeId === B) await first;
        order.push(`end ${c.nodeId.toString(16)}`);
        return m.list();
      },
    });
    const r1 = changes.update(B, ['http://h:2']);
    const r2 = changes.update(C, ['http://h:3']);
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual(['start b']);
    release();
    await Promise.all([r1, r2]);
    expect(order).toEqual(['start b', 'end b', 'start c', 'end c']);
  });
});

describe('learner guard', () => {
  const defs = apiServices();
  const call = (service: 'KV' | 'Maintenance' | 'Cluster', method: string, req: unknown, learner: boolean) =>
    new Promise<grpc.ServiceError | null>((resolve) => {
      const impl = { [method]: (_c: unknown, cb: (e: null, r: object) => void) => cb(null, {}) };
      const guarded = guardForLearner(service, defs[service], impl, () => learner);
      (guarded[method] as (c: unknown, cb: grpc.sendUnaryData<unknown>) => void)({ request: req }, (err) =>
        resolve(err as grpc.ServiceError | null),
      );
    });

  it('refuses writes and linearizable reads on a learner; serializable reads and Status pass', async () => {
    const put = await call('KV', 'Put', {}, true);
    expect(put?.code).toBe(grpc.status.UNAVAILABLE); // etcd 3.4.23 (recorded)
    expect(put?.details).toBe('etcdserver: rpc not supported for learner');
    expect((await call('KV', 'Range', { serializable: false }, true))?.details).toBe('etcdserver: rpc not supported for learner');
    expect(await call('KV', 'Range', { serializable: true }, true)).toBeNull();
    expect(await call('Maintenance', 'Status', {}, true)).toBeNull();
    expect(await call('KV', 'Put', {}, false)).toBeNull();
  });
});
