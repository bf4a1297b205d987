// Issue 14 acceptance for the v3lock and v3election services on a three-member
// cluster: etcdctl lock/elect print what they print against etcd 3.4.23
// (fixtures/lock-elect-etcdctl.json, recorded with record-lock-elect.ts); over
// gRPC, the answers and errors etcd gives, mutual exclusion of 5 contenders over
// 50 rounds, every observer seeing the same leaders in the same order, a
// cancelled wait leaving nothing behind, and a lock held by a client killed
// with SIGKILL released once its lease expires. The same over the /v3 JSON
// gateway with plain fetch (mutual exclusion, observers, a holder whose HTTP
// client drops, its lease then expiring); the contention and observer
// scenarios are shared (helpers/recipe-scenarios.ts). One cluster for the
// file; the etcdctl case runs first, on the fresh cluster, as the recording did.
//
// ETCD_TS_E2E_IMPL=etcd runs the same file against the real etcd on PATH.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
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
import { RecipeHttpClient, type JsonLeaderKey } from './helpers/recipe-http.js';
import { type Candidate, expectMutualExclusion, expectObserversAgree, type LockContender } from './helpers/recipe-scenarios.js';
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
  function http(m: Member): RecipeHttpClient {
    return new RecipeHttpClient(m.clientPort);
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

  /** The contenders: leases granted on members[i % 3] and each contender's client of that member. */
  async function contenders<C>(n: number, grantOn: (m: Member) => Promise<bigint>, client: (m: Member) => C): Promise<{ lease: bigint; client: C }[]> {
    const members = cluster.members;
    const leases = await Promise.all(Array.from({ length: n }, (_, i) => grantOn(members[i % 3]!)));
    return leases.map((lease, i) => ({ lease, client: client(members[i % 3]!) }));
  }
  const keysOnA = (prefix: string): Promise<string[]> => keysUnder(cluster.members[0]!, prefix);

  it('mutual exclusion over gRPC: 5 contenders on the three members, 50 rounds each, never two inside', async () => {
    const grpcContender = (m: Member): LockContender => {
      const locks = recipes(m);
      const kv = kvOn(m);
      return {
        lock: async (name, lease) => str((await locks.Lock(name, lease, { timeoutMs: 60_000 })).key),
        unlock: async (key) => void (await locks.Unlock(Buffer.from(key))),
        get: async (key) => {
          const kvs = (await kv.get(key)).kvs;
          return kvs[0] ? str(kvs[0].value) : undefined;
        },
        put: async (key, value) => void (await kv.put(key, value)),
      };
    };
    const all = await contenders(5, (m) => grant(m, 120), grpcContender);
    await expectMutualExclusion(all, { name: 'mutex', counter: 'mutex-counter', rounds: 50, keysUnder: keysOnA });
  }, 240_000);

  it('mutual exclusion over the JSON gateway: 5 contenders on the three members, 50 rounds each, never two inside', async () => {
    const all = await contenders(5, (m) => http(m).grant(120), (m): LockContender => {
      const c = http(m);
      return { lock: (name, lease) => c.lock(name, lease, 60_000), unlock: (key) => c.unlock(key), get: (key) => c.get(key), put: (key, v) => c.put(key, v) };
    });
    await expectMutualExclusion(all, { name: 'json-mutex', counter: 'json-mutex-counter', rounds: 50, keysUnder: keysOnA });
  }, 240_000);

  it('over gRPC, every observer, on every member, sees the same leaders and values in the same order', async () => {
    const members = cluster.members;
    const observers = members.map((m) => recipes(m).Observe('obs'));
    const candidates = members.map((m): Candidate<pb.LeaderKey> => {
      const c = recipes(m);
      return {
        campaign: async (name, lease, value) => (await c.Campaign(name, lease, value, { timeoutMs: 60_000 })).leader!,
        proclaim: async (leader, value) => void (await c.Proclaim(leader, value)),
        resign: async (leader) => void (await c.Resign(leader)),
      };
    });
    const leases = await Promise.all(members.map((m) => grant(m, 120)));
    const observed = observers.map((o) => () => o.responses.map((r) => ({ key: str(r.kv!.key), value: str(r.kv!.value), revision: r.header!.revision })));
    await expectObserversAgree('obs', candidates as [Candidate<pb.LeaderKey>, Candidate<pb.LeaderKey>, Candidate<pb.LeaderKey>],
      leases as [bigint, bigint, bigint], observed, keysOnA);
    for (const o of observers) o.cancel();
    for (const o of observers) expect((await o.ended).code).toBe(1);
  }, 120_000);

  it('over the JSON gateway, campaign/proclaim/leader/resign, and observers on every member see the same leaders in the same order', async () => {
    const members = cluster.members;
    // Two observers on each member.
    const observers = [...members, ...members].map((m) => http(m).observe('json-obs'));
    const candidates = members.map((m): Candidate<JsonLeaderKey> => {
      const c = http(m);
      return {
        campaign: (name, lease, value) => c.campaign(name, lease, value, 60_000),
        proclaim: (leader, value) => c.proclaim(leader, value),
        resign: (leader) => c.resign(leader),
      };
    });
    const leases = await Promise.all(members.map((m) => http(m).grant(120)));
    await expectObserversAgree('json-obs', candidates as [Candidate<JsonLeaderKey>, Candidate<JsonLeaderKey>, Candidate<JsonLeaderKey>],
      leases as [bigint, bigint, bigint], observers.map((o) => () => o.observations), keysOnA);
    for (const o of observers) o.cancel();
    await Promise.all(observers.map((o) => o.ended));

    // Leader through each member while someone reigns; none once they resign.
    const [a, b, c] = members as [Member, Member, Member];
    const won = await http(a).campaign('json-obs', leases[0]!, 'last');
    expect(won).toMatchObject({ name: Buffer.from('json-obs').toString('base64'), key: Buffer.from(`json-obs/${hex(leases[0]!)}`).toString('base64') });
    for (const m of members) expect(await http(m).leader('json-obs')).toEqual({ key: `json-obs/${hex(leases[0]!)}`, value: 'last' });
    await http(b).resign(won);
    await expect(http(c).leader('json-obs')).rejects.toMatchObject({ status: 500, code: 2, message: 'election: no leader' });
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

  it('over the JSON gateway, a lock whose HTTP client went away is released when its lease expires', async () => {
    const [a, b] = cluster.members as [Member, Member];
    const TTL = 3;
    const lease = await http(a).grant(TTL);
    // The holder renews its lease over one open /v3/lease/keepalive request body, as a live HTTP client does.
    const keepAlive = httpRequest({ host: '127.0.0.1', port: a.clientPort, path: '/v3/lease/keepalive', method: 'POST', agent: false });
    keepAlive.on('error', () => {});
    keepAlive.on('response', (res) => res.resume());
    const renew = (): void => void keepAlive.write(JSON.stringify({ ID: lease.toString() }));
    renew();
    const renewing = setInterval(renew, 1_000);
    try {
      const key = await http(a).lock('json-crash', lease);
      expect(key).toBe(`json-crash/${hex(lease)}`);

      const waiterLease = await http(b).grant(60);
      let acquiredAt = 0;
      const waiter = http(b).lock('json-crash', waiterLease, 60_000).then((k) => ((acquiredAt = Date.now()), k));
      // Renewed, the holder keeps the lock well past its TTL.
      await sleep(TTL * 1_000 + 1_500);
      expect(acquiredAt).toBe(0);
      expect((await keysOnA('json-crash/')).sort()).toEqual([key, `json-crash/${hex(waiterLease)}`].sort());

      // The client goes away without a word: no unlock, no revoke, its connection just drops.
      const goneAt = Date.now();
      clearInterval(renewing);
      keepAlive.destroy();
      const held = await Promise.race([waiter, sleep(expiryBoundMs(TTL)).then(() => undefined)]);
      expect(held, 'the lock was not released within the lease expiry bound').toBe(`json-crash/${hex(waiterLease)}`);
      // Released by the lease's expiry, not by the connection closing.
      expect(acquiredAt - goneAt).toBeGreaterThanOrEqual(1_000);
      expect(await keysOnA('json-crash/')).toEqual([held]);
      await http(b).unlock(held!);
    } finally {
      clearInterval(renewing);
      keepAlive.destroy();
    }
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
