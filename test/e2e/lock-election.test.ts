// Issue 14 acceptance for the v3lock and v3election services on a three-member
// cluster: etcdctl lock/elect print what they print against etcd 3.4.23
// (fixtures/lock-elect-etcdctl.json, recorded with record-lock-elect.ts); over
// gRPC, the answers and errors etcd gives, mutual exclusion of 5 contenders over
// 50 rounds, every observer seeing the same leaders in the same order, a
// cancelled wait leaving nothing behind, and a lock held by a client killed
// with SIGKILL released once its lease expires. One cluster for the file; the
// etcdctl case runs first, on the fresh cluster, as the recording did.
//
// ETCD_TS_E2E_IMPL=etcd runs the same file against the real etcd on PATH.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Cluster, eachCaseOnCluster, leaderLookups, MaintenanceClient, sleep, waitFor } from './helpers/cluster.js';
import { etcdctl, requireEtcdctl } from './helpers/etcd-process.js';
import { KvClient } from './helpers/kv-client.js';
import { LeaseClient } from './helpers/lease-client.js';
import { runLockElectSequence, type Step } from './helpers/lock-elect-sequence.js';
import { REPO, type Member } from './helpers/member.js';
import { RecipeClient } from './helpers/recipe-client.js';
import type * as pb from '../../src/pb/types.js';
import { apiServices } from '../../src/server/api/services.js';

const IMPL = process.env.ETCD_TS_E2E_IMPL === 'etcd' ? 'etcd' : 'etcd-ts';
const RUN = requireEtcdctl();
const EXPECTED_CTL = JSON.parse(readFileSync(join(REPO, 'test/e2e/fixtures/lock-elect-etcdctl.json'), 'utf8')) as Step[];

const ELECTION_BOUND_MS = 10_000;
/** The members' election timeout (the default). */
const ELECTION_MS = 1_000;
/** How long after its last renewal a lease may take to be revoked: TTL + 2 election timeouts + 3 s. */
const expiryBoundMs = (ttlSec: number): number => ttlSec * 1_000 + 2 * ELECTION_MS + 3_000;

const str = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString();
const hex = (id: bigint): string => id.toString(16);

/** The status of a call that should fail: [code, details]. */
async function failure(p: Promise<unknown>): Promise<[number, string]> {
  const err = (await p.then(() => undefined, (e: unknown) => e)) as grpc.ServiceError | undefined;
  if (!err) throw new Error('the call succeeded');
  return [err.code, err.details];
}

/** An auth token for name/password (Auth.Authenticate). */
function authenticate(endpoint: string, name: string, password: string): Promise<string> {
  type Authenticate = (req: unknown, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v: { token: string }) => void) => void;
  const Ctor = grpc.makeGenericClientConstructor(apiServices().Auth, 'Auth');
  const c = new Ctor(endpoint, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Authenticate: Authenticate };
  return new Promise<string>((res, rej) => {
    c.Authenticate({ name, password }, { deadline: new Date(Date.now() + 10_000) }, (err, v) => (err ? rej(err) : res(v.token)));
  }).finally(() => c.close());
}

describe.skipIf(!RUN)(`Lock and Election services on a three-member cluster (${IMPL})`, () => {
  let cluster: Cluster;
  const maint = new Map<Member, MaintenanceClient>();
  const closers: { close(): void }[] = [];
  const children: ChildProcess[] = [];
  const { agreedLeader } = leaderLookups(() => cluster.running(), maint);

  function recipes(m: Member): RecipeClient {
    const c = new RecipeClient(m.endpoint);
    closers.push(c);
    return c;
  }
  function kvOn(m: Member): KvClient {
    const c = new KvClient(m.endpoint);
    closers.push(c);
    return c;
  }
  async function grant(m: Member, ttl: number): Promise<bigint> {
    const lc = new LeaseClient(m.endpoint);
    try {
      return (await lc.grant(ttl)).ID;
    } finally {
      lc.close();
    }
  }
  async function keysUnder(m: Member, prefix: string): Promise<string[]> {
    const end = Buffer.from(prefix);
    end[end.length - 1]!++;
    return (await kvOn(m).range({ key: Buffer.from(prefix), rangeEnd: end })).kvs.map((kv) => str(kv.key));
  }

  beforeAll(async () => {
    cluster = await Cluster.create({ impl: IMPL });
    for (const m of cluster.members) maint.set(m, new MaintenanceClient(m.endpoint));
    await cluster.start();
    await agreedLeader(cluster.members, ELECTION_BOUND_MS);
  });

  afterAll(async () => {
    for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const c of closers) c.close();
    for (const c of maint.values()) c.close();
    await cluster?.cleanup();
  });

  beforeEach(eachCaseOnCluster(() => cluster, () => agreedLeader(cluster.members, ELECTION_BOUND_MS)));

  it('etcdctl lock and elect print what they print against etcd 3.4.23', async () => {
    const steps = await runLockElectSequence(cluster.endpoints());
    expect(steps).toEqual(EXPECTED_CTL);
  }, 90_000);

  it('answers and errors as etcd 3.4.23 (recorded): missing lease, no leader, not leader, missing leader key, empty key', async () => {
    const [a, b] = cluster.members as [Member, Member];
    const c = recipes(a);
    expect(await failure(c.Lock('e/lock', 0x7777n))).toEqual([2, 'etcdserver: requested lease not found']);
    expect(await failure(c.Campaign('e/elect', 0x7777n, 'v'))).toEqual([2, 'etcdserver: requested lease not found']);
    expect(await failure(c.Leader('e/elect'))).toEqual([2, 'election: no leader']);
    expect(await failure(c.Proclaim(undefined, 'v'))).toEqual([2, '"leader" field must be provided']);
    expect(await failure(c.Resign(undefined))).toEqual([2, '"leader" field must be provided']);
    expect(await failure(c.Unlock(Buffer.alloc(0)))).toEqual([2, 'etcdserver: key is not provided']);
    const stranger = { name: Buffer.from('e/elect'), key: Buffer.from('e/elect/1'), rev: 5n, lease: 1n };
    expect(await failure(c.Proclaim(stranger, 'v'))).toEqual([2, 'election: not leader']);
    expect((await c.Resign(stranger)).header).toBeDefined(); // not ours: nothing to do, no error

    const lease = await grant(a, 60);
    const held = await c.Lock('e/lock', lease);
    expect(str(held.key)).toBe(`e/lock/${hex(lease)}`);
    const again = await recipes(b).Lock('e/lock', lease); // same lease, through another member: the same key
    expect(str(again.key)).toBe(str(held.key));
    expect(again.header!.revision).toBe(held.header!.revision);
    expect((await c.Unlock(held.key)).header!.revision).toBeGreaterThan(held.header!.revision);

    const won = await c.Campaign('e/elect', lease, 'v1');
    expect(won.leader).toMatchObject({ key: Buffer.from(`e/elect/${hex(lease)}`), lease, rev: won.header!.revision });
    expect(str(won.leader!.name)).toBe('e/elect');
    await recipes(b).Proclaim(won.leader, 'v2');
    const l = await recipes(b).Leader('e/elect');
    expect([str(l.kv!.key), str(l.kv!.value), l.kv!.version, l.kv!.createRevision]).toEqual([`e/elect/${hex(lease)}`, 'v2', 2n, won.leader!.rev]);
    await c.Resign(won.leader);
    expect(await failure(c.Leader('e/elect'))).toEqual([2, 'election: no leader']);
  });

  it('a client cancelling a waiting Lock or Campaign stops the wait and its key is deleted', async () => {
    const [a, b] = cluster.members as [Member, Member];
    const [la, lb] = [await grant(a, 60), await grant(b, 60)];
    const held = await recipes(a).Lock('c/lock', la);
    const won = await recipes(a).Campaign('c/elect', la, 'a');
    for (const [prefix, start] of [
      ['c/lock/', (signal: AbortSignal) => recipes(b).Lock('c/lock', lb, { signal, timeoutMs: 30_000 })],
      ['c/elect/', (signal: AbortSignal) => recipes(b).Campaign('c/elect', lb, 'b', { signal, timeoutMs: 30_000 })],
    ] as const) {
      const ctl = new AbortController();
      const waiting = start(ctl.signal);
      await waitFor(`the waiter's key under ${prefix}`, 10_000, async () => ((await keysUnder(a, prefix)).length === 2 ? true : undefined));
      ctl.abort();
      expect((await failure(waiting))[0]).toBe(1); // CANCELLED, client side
      await waitFor(`the waiter's key under ${prefix} deleted`, 10_000, async () =>
        ((await keysUnder(a, prefix)).length === 1 ? true : undefined));
      expect(await keysUnder(a, prefix)).toEqual([`${prefix}${hex(la)}`]);
    }
    await recipes(a).Unlock(held.key);
    await recipes(a).Resign(won.leader);
  });

  it('mutual exclusion: 5 contenders on the three members, 50 rounds each, never two inside', async () => {
    const CONTENDERS = 5;
    const ROUNDS = 50;
    const members = cluster.members;
    const leases = await Promise.all(Array.from({ length: CONTENDERS }, (_, i) => grant(members[i % 3]!, 120)));
    let inside = 0;
    let overlaps = 0;
    const holders: number[] = [];
    await Promise.all(leases.map(async (lease, i) => {
      const m = members[i % 3]!;
      const locks = recipes(m);
      const kv = kvOn(m);
      for (let r = 0; r < ROUNDS; r++) {
        const held = await locks.Lock('mutex', lease, { timeoutMs: 60_000 });
        expect(str(held.key)).toBe(`mutex/${hex(lease)}`);
        if (++inside > 1) overlaps++;
        holders.push(i);
        // A read-modify-write that loses updates if two contenders overlap.
        const cur = await kv.get('mutex-counter');
        const n = cur.kvs[0] ? Number(str(cur.kvs[0].value)) : 0;
        await kv.put('mutex-counter', String(n + 1));
        inside--; // before Unlock is sent: the next holder can only be told after it
        await locks.Unlock(held.key);
      }
    }));
    expect(overlaps).toBe(0);
    const final = await kvOn(members[0]!).get('mutex-counter');
    expect(str(final.kvs[0]!.value)).toBe(String(CONTENDERS * ROUNDS));
    expect(new Set(holders).size).toBe(CONTENDERS);
    expect(await keysUnder(members[0]!, 'mutex/')).toEqual([]);
  }, 240_000);

  it('every observer, on every member, sees the same leaders and values in the same order', async () => {
    const members = cluster.members;
    const observers = members.map((m) => recipes(m).Observe('obs'));
    const seen = (o: (typeof observers)[number]): string[] => o.responses.map((r) => `${str(r.kv!.key)}=${str(r.kv!.value)}`);
    const all = async (n: number): Promise<void> => {
      await waitFor(`${n} responses on every observer`, 15_000, async () => (observers.every((o) => o.responses.length >= n) ? true : undefined), 20);
    };
    const leases = await Promise.all(members.map((m) => grant(m, 120)));
    const candidates = members.map((m) => recipes(m));
    const expected: string[] = [];
    const leaderKey = (i: number): string => `obs/${hex(leases[i]!)}`;

    const c0 = await candidates[0]!.Campaign('obs', leases[0]!, 'c0-0');
    expected.push(`${leaderKey(0)}=c0-0`);
    await all(expected.length);
    const c1 = candidates[1]!.Campaign('obs', leases[1]!, 'c1-0', { timeoutMs: 60_000 });
    await waitFor('the second candidate', 10_000, async () => ((await keysUnder(members[0]!, 'obs/')).length === 2 ? true : undefined));
    const c2 = candidates[2]!.Campaign('obs', leases[2]!, 'c2-0', { timeoutMs: 60_000 });
    await waitFor('the third candidate', 10_000, async () => ((await keysUnder(members[0]!, 'obs/')).length === 3 ? true : undefined));
    const reign = async (i: number, leader: pb.LeaderKey, values: string[]): Promise<void> => {
      for (const v of values) {
        await candidates[(i + 1) % 3]!.Proclaim(leader, v); // through another member
        expected.push(`${leaderKey(i)}=${v}`);
        await all(expected.length);
      }
      await candidates[i]!.Resign(leader);
    };
    await reign(0, c0.leader!, ['c0-1', 'c0-2']);
    const w1 = await c1;
    expected.push(`${leaderKey(1)}=c1-0`);
    await all(expected.length);
    await reign(1, w1.leader!, ['c1-1']);
    const w2 = await c2;
    expected.push(`${leaderKey(2)}=c2-0`);
    await all(expected.length);
    await reign(2, w2.leader!, ['c2-1', 'c2-2']);
    await sleep(300); // anything more (a duplicate, a delete) would show now
    for (const o of observers) {
      expect(seen(o)).toEqual(expected);
      const revs = o.responses.map((r) => r.header!.revision);
      expect([...revs].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual(revs);
    }
    for (const o of observers) o.cancel();
    for (const o of observers) expect((await o.ended).code).toBe(1);
  }, 120_000);

  it('a lock held by a client killed with SIGKILL is released when its lease expires', async () => {
    const [a, b] = cluster.members as [Member, Member];
    const TTL = 3;
    const child = spawn(process.execPath, [join(REPO, 'test/e2e/helpers/lock-holder.mjs'), a.endpoint, 'crash', String(TTL)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const holder = await waitFor('the child to hold the lock', 20_000, async () => {
      if (child.exitCode !== null) throw new Error(`lock holder exited ${child.exitCode}: ${err}`);
      return out.includes('\n') ? (JSON.parse(out) as { lease: string; key: string }) : undefined;
    });
    expect(holder.key).toBe(`crash/${hex(BigInt(holder.lease))}`);

    const lease = await grant(b, 60);
    let acquiredAt = 0;
    const waiter = recipes(b).Lock('crash', lease, { timeoutMs: 60_000 }).then((r) => ((acquiredAt = Date.now()), r));
    // Alive and renewing, the holder keeps the lock well past its TTL.
    await sleep(TTL * 1_000 + 1_500);
    expect(acquiredAt).toBe(0);
    expect((await keysUnder(a, 'crash/')).sort()).toEqual([holder.key, `crash/${hex(lease)}`].sort());

    const killedAt = Date.now();
    child.kill('SIGKILL');
    const held = await Promise.race([waiter, sleep(expiryBoundMs(TTL)).then(() => undefined)]);
    expect(held, 'the lock was not released within the lease expiry bound').toBeDefined();
    expect(str(held!.key)).toBe(`crash/${hex(lease)}`);
    // Released by the lease's expiry, not by anything the kill itself did.
    expect(acquiredAt - killedAt).toBeGreaterThanOrEqual(1_000);
    expect(await keysUnder(a, 'crash/')).toEqual([`crash/${hex(lease)}`]);
    await recipes(b).Unlock(held!.key);
  }, 60_000);

  // Last: it turns auth on (and off again at the end).
  it('with auth on, each call needs the permissions of the KV operations it does; Observe without them just ends', async () => {
    const [a, b] = cluster.members as [Member, Member];
    const ctl = async (args: string[]): Promise<void> => {
      const r = await etcdctl(a.clientPort, args);
      expect(r.code, `etcdctl ${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0);
    };
    await ctl(['user', 'add', 'root:rootpw']);
    await ctl(['user', 'add', 'alice:apw']);
    await ctl(['user', 'add', 'bob:bpw']);
    await ctl(['role', 'add', 'recipes']);
    await ctl(['role', 'grant-permission', 'recipes', 'readwrite', '--prefix=true', 'auth-lock/']);
    await ctl(['role', 'grant-permission', 'recipes', 'readwrite', '--prefix=true', 'auth-elect/']);
    await ctl(['user', 'grant-role', 'alice', 'recipes']);
    await ctl(['auth', 'enable']);
    try {
      const [leaseA, leaseB] = [await grant(a, 60), await grant(b, 60)];
      const alice = new RecipeClient(b.endpoint, await authenticate(b.endpoint, 'alice', 'apw'));
      const bob = new RecipeClient(b.endpoint, await authenticate(b.endpoint, 'bob', 'bpw'));
      const anonymous = recipes(b);
      const forged = new RecipeClient(b.endpoint, 'not-a-token');
      closers.push(alice, bob, forged);

      const held = await alice.Lock('auth-lock', leaseA);
      expect(str(held.key)).toBe(`auth-lock/${hex(leaseA)}`);
      expect(await failure(bob.Lock('auth-lock', leaseB))).toEqual([2, 'etcdserver: permission denied']);
      expect(await failure(anonymous.Lock('auth-lock', leaseB))).toEqual([2, 'etcdserver: user name is empty']);
      expect(await failure(forged.Lock('auth-lock', leaseB))).toEqual([2, 'etcdserver: invalid auth token']);
      expect(await failure(bob.Unlock(held.key))).toEqual([2, 'etcdserver: permission denied']);
      await alice.Unlock(held.key);

      const won = await alice.Campaign('auth-elect', leaseA, 'a');
      expect(str((await alice.Leader('auth-elect')).kv!.value)).toBe('a');
      expect(await failure(bob.Leader('auth-elect'))).toEqual([2, 'etcdserver: permission denied']);
      expect(await failure(bob.Proclaim(won.leader, 'b'))).toEqual([2, 'etcdserver: permission denied']);
      expect(await failure(bob.Campaign('auth-elect', leaseB, 'b'))).toEqual([2, 'etcdserver: permission denied']);
      const allowed = alice.Observe('auth-elect');
      const refused = bob.Observe('auth-elect');
      await waitFor('alice to observe the leader', 10_000, async () => (allowed.responses.length === 1 ? true : undefined));
      expect((await refused.ended).code).toBe(0);
      expect(refused.responses).toEqual([]);
      allowed.cancel();
      await alice.Resign(won.leader);
    } finally {
      await ctl(['--user', 'root:rootpw', 'auth', 'disable']);
    }
  });
});
