// etcd 3.6's v3 discovery protocol (discovery/v3-discovery.ts) over an in-memory
// registry: keys, ordering by create revision, the full-cluster rule, the size
// key's validation, retries with etcd's backoff, and the wait by watch.

import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { type RegistryClient, type RegistryKv, parseEndpoint, prefixEnd } from '../../src/server/discovery/v3-client.js';
import { joinV3Discovery, memberKey, Registrations, validClusterString, V3DiscoveryError } from '../../src/server/discovery/v3-discovery.js';

const logger = pino({ level: 'silent' });
const TOKEN = 'tok';

/** A registry in memory: revisions, prefix gets, puts that wake watchers; failures injectable. */
class FakeRegistry implements RegistryClient {
  rev = 1n;
  kvs = new Map<string, RegistryKv>();
  failNext = 0;
  failWatches = 0;
  calls: string[] = [];
  private watchers: { prefix: string; onPut: (kv: RegistryKv) => boolean; done: () => void }[] = [];

  async connect(): Promise<void> {
    this.calls.push('connect');
  }

  set(key: string, value: string): void {
    this.rev++;
    const kv = { key, value, createRevision: this.kvs.get(key)?.createRevision ?? this.rev };
    this.kvs.set(key, kv);
    for (const w of [...this.watchers]) {
      if (key.startsWith(w.prefix) && w.onPut(kv)) {
        this.watchers = this.watchers.filter((x) => x !== w);
        w.done();
      }
    }
  }

  private maybeFail(what: string): void {
    this.calls.push(what);
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('14 UNAVAILABLE: No connection established');
    }
  }

  async get(key: string, prefix: boolean) {
    this.maybeFail(`get ${key}`);
    const kvs = [...this.kvs.values()].filter((kv) => (prefix ? kv.key.startsWith(key) : kv.key === key));
    return { kvs, revision: this.rev };
  }

  async put(key: string, value: string) {
    this.maybeFail(`put ${key}`);
    this.set(key, value);
  }

  watchPuts(prefix: string, fromRev: bigint, onPut: (kv: RegistryKv) => boolean): Promise<void> {
    this.calls.push(`watch ${prefix} from ${fromRev}`);
    if (this.failWatches > 0) {
      this.failWatches--;
      return Promise.reject(new Error('14 UNAVAILABLE: Connection dropped'));
    }
    return new Promise((done) => this.watchers.push({ prefix, onPut, done }));
  }

  close(): void {}
}

const sizeKey = `/_etcd/registry/${TOKEN}/_config/size`;

function join(reg: FakeRegistry, id: bigint, self: string, sleeps: number[] = []) {
  return joinV3Discovery({ client: reg, token: TOKEN, memberId: id, self, logger, sleep: async (ms) => void sleeps.push(ms) });
}

describe('v3 discovery protocol', () => {
  it('registers under members/<id hex> and returns the first size members once all registered', async () => {
    const reg = new FakeRegistry();
    reg.set(sizeKey, '3');
    reg.set(memberKey(TOKEN, 0xaan), 'a=http://127.0.0.1:1');
    const joining = join(reg, 0xbbn, 'b=http://127.0.0.1:2');
    await new Promise((r) => setTimeout(r, 10));
    expect(reg.kvs.get(`/_etcd/registry/${TOKEN}/members/bb`)?.value).toBe('b=http://127.0.0.1:2');
    expect(reg.calls.at(-1)).toMatch(/^watch \/_etcd\/registry\/tok\/members from \d+$/);
    reg.set(memberKey(TOKEN, 0xccn), 'c=http://127.0.0.1:3');
    expect(await joining).toBe('a=http://127.0.0.1:1,b=http://127.0.0.1:2,c=http://127.0.0.1:3');
  });

  it('a watch that breaks is followed by a fresh read of the registrations (what came meanwhile counts)', async () => {
    const reg = new FakeRegistry();
    reg.set(sizeKey, '2');
    reg.failWatches = 1;
    const sleeps: number[] = [];
    const joining = join(reg, 1n, 'a=http://127.0.0.1:1', sleeps);
    await new Promise((r) => setTimeout(r, 10));
    reg.set(memberKey(TOKEN, 2n), 'b=http://127.0.0.1:2');
    expect(await joining).toBe('a=http://127.0.0.1:1,b=http://127.0.0.1:2');
    expect(sleeps).toEqual([2000]);
  });

  it('a refused authentication (clientv3.New) fails the start at once, with the server\'s text', async () => {
    const reg = new FakeRegistry();
    reg.set(sizeKey, '1');
    reg.connect = async () => {
      throw new Error('etcdserver: authentication failed, invalid user ID or password');
    };
    const sleeps: number[] = [];
    await expect(join(reg, 1n, 'a=http://127.0.0.1:1', sleeps)).rejects.toThrow(
      'failed to join discovery cluster (etcdserver: authentication failed, invalid user ID or password)',
    );
    expect(sleeps).toEqual([]);
  });

  it('a member that is not among the first size registrations finds the cluster full', async () => {
    const reg = new FakeRegistry();
    reg.set(sizeKey, '2');
    reg.set(memberKey(TOKEN, 1n), 'a=http://127.0.0.1:1');
    reg.set(memberKey(TOKEN, 2n), 'b=http://127.0.0.1:2');
    await expect(join(reg, 3n, 'c=http://127.0.0.1:3')).rejects.toThrow('failed to join discovery cluster (discovery: cluster is full)');
    // It did not register.
    expect(reg.kvs.has(memberKey(TOKEN, 3n))).toBe(false);
  });

  it('a member already registered among the first size (a retried start) gets the cluster', async () => {
    const reg = new FakeRegistry();
    reg.set(sizeKey, '2');
    reg.set(memberKey(TOKEN, 1n), 'a=http://127.0.0.1:1');
    reg.set(memberKey(TOKEN, 2n), 'b=http://127.0.0.1:2');
    expect(await join(reg, 2n, 'b=http://127.0.0.1:2')).toBe('a=http://127.0.0.1:1,b=http://127.0.0.1:2');
  });

  it.each([
    [undefined, 'discovery: size key not found'],
    ['0', 'discovery: size key is bad'],
    ['-1', 'discovery: size key is bad'],
    ['three', 'discovery: size key is bad'],
    ['3.0', 'discovery: size key is bad'],
    [' 3', 'discovery: size key is bad'],
  ])('size %j fails at once: %s', async (size, cause) => {
    const reg = new FakeRegistry();
    if (size !== undefined) reg.set(sizeKey, size);
    const sleeps: number[] = [];
    const err = await join(reg, 1n, 'a=http://127.0.0.1:1', sleeps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(V3DiscoveryError);
    expect((err as Error).message).toBe(`failed to join discovery cluster (${cause})`);
    expect(sleeps).toEqual([]);
  });

  it('"+2" is a size, as Go\'s ParseInt reads it', async () => {
    const reg = new FakeRegistry();
    reg.set(sizeKey, '+1');
    expect(await join(reg, 1n, 'a=http://127.0.0.1:1')).toBe('a=http://127.0.0.1:1');
  });

  it('an unreachable registry is retried with etcd\'s backoff: 2, 4, 8 ... s, at most 256 s', async () => {
    const reg = new FakeRegistry();
    reg.set(sizeKey, '1');
    reg.failNext = 10;
    const sleeps: number[] = [];
    expect(await join(reg, 1n, 'a=http://127.0.0.1:1', sleeps)).toBe('a=http://127.0.0.1:1');
    expect(sleeps).toEqual([2, 4, 8, 16, 32, 64, 128, 256, 256, 256].map((s) => s * 1000));
  });

  it('gives up with "too many retries" after the configured count', async () => {
    const reg = new FakeRegistry();
    reg.failNext = 100;
    await expect(
      joinV3Discovery({ client: reg, token: TOKEN, memberId: 1n, self: 'a=http://127.0.0.1:1', logger, sleep: async () => {}, maxRetries: 3 }),
    ).rejects.toThrow('failed to join discovery cluster (discovery: too many retries)');
  });

  it('a registration that is not a URL map makes the cluster invalid', async () => {
    const reg = new FakeRegistry();
    reg.set(sizeKey, '2');
    reg.set(memberKey(TOKEN, 1n), 'a=not-a-url');
    await expect(join(reg, 2n, 'b=http://127.0.0.1:2')).rejects.toThrow('failed to join discovery cluster (discovery: invalid peer URL)');
  });
});

describe('Registrations', () => {
  it('orders by create revision, skips foreign keys, values without "=" and duplicates', () => {
    const r = new Registrations(TOKEN);
    expect(r.add({ key: memberKey(TOKEN, 2n), value: 'b=http://h:2', createRevision: 9n })).toBeUndefined();
    expect(r.add({ key: memberKey(TOKEN, 1n), value: ' a=http://h:1 ', createRevision: 5n })).toBeUndefined();
    expect(r.add({ key: '/_etcd/registry/other/members/3', value: 'c=http://h:3', createRevision: 1n })).toBe('invalid peer registry key');
    expect(r.add({ key: memberKey(TOKEN, 4n), value: 'garbage', createRevision: 2n })).toBe('invalid peer info returned from discovery service');
    expect(r.add({ key: memberKey(TOKEN, 2n), value: 'b=http://h:2', createRevision: 9n })).toBe('found duplicate peer from discovery service');
    expect(r.initialCluster(5)).toBe('a=http://h:1,b=http://h:2');
    expect(r.initialCluster(1)).toBe('a=http://h:1');
    expect(r.full(memberKey(TOKEN, 2n), 1)).toBe(true);
    expect(r.full(memberKey(TOKEN, 2n), 2)).toBe(false);
    expect(r.full(memberKey(TOKEN, 7n), 3)).toBe(false);
    expect(r.full(memberKey(TOKEN, 7n), 2)).toBe(true);
  });

  it('validClusterString wants name=http(s)://host:port pairs', () => {
    expect(validClusterString('a=http://h:1,a=https://h:2,b=http://[::1]:3')).toBe(true);
    expect(validClusterString('a=http://h')).toBe(false);
    expect(validClusterString('a=unix://h:1')).toBe(false);
    expect(validClusterString('a')).toBe(false);
  });
});

describe('v3 registry client helpers', () => {
  it('prefixEnd is clientv3\'s GetPrefixRangeEnd', () => {
    expect(prefixEnd(Buffer.from('/a/b')).toString()).toBe('/a/c');
    expect([...prefixEnd(Buffer.from([0x61, 0xff]))]).toEqual([0x62]);
    expect([...prefixEnd(Buffer.from([0xff, 0xff]))]).toEqual([0]);
  });

  it('endpoints take an optional scheme; https or the TLS flags mean TLS', () => {
    expect(parseEndpoint('127.0.0.1:2379', false)).toEqual({ target: '127.0.0.1:2379', secure: false });
    expect(parseEndpoint('http://127.0.0.1:2379', false)).toEqual({ target: '127.0.0.1:2379', secure: false });
    expect(parseEndpoint('https://h:2379/', false)).toEqual({ target: 'h:2379', secure: true });
    expect(parseEndpoint('h:2379', true)).toEqual({ target: 'h:2379', secure: true });
  });
});
