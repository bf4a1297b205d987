// JWT tokens (--auth-token jwt,...) on a 3-member bin/etcd-ts cluster, keys made
// by the test: a token one member issued works on the others; a member restarted
// with the same key pair still accepts it, one restarted with another pair does
// not; an expired token gets etcd's "invalid auth token"; a token signed before
// an auth change gets "revision of auth store is old"; etcdctl works on each member.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as pb from '../../src/pb/types.js';
import { apiServices } from '../../src/server/api/services.js';
import { Cluster, sleep, waitFor } from './helpers/cluster.js';
import { etcdctl, requireEtcdctl } from './helpers/etcd-process.js';

type Unary = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

/** Authenticate and Range on one member, with a token or without. */
class Client {
  private readonly auth: grpc.Client & Record<string, Unary>;
  private readonly kv: grpc.Client & Record<string, Unary>;

  constructor(endpoint: string) {
    const make = (svc: grpc.ServiceDefinition, name: string) =>
      new (grpc.makeGenericClientConstructor(svc, name))(endpoint, grpc.credentials.createInsecure(), {
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 500,
      }) as unknown as grpc.Client & Record<string, Unary>;
    this.auth = make(apiServices().Auth, 'Auth');
    this.kv = make(apiServices().KV, 'KV');
  }

  private call<Res>(c: grpc.Client & Record<string, Unary>, method: string, req: unknown, token?: string): Promise<Res> {
    const md = new grpc.Metadata();
    if (token) md.set('token', token);
    return new Promise((res, rej) => {
      c[method]!.call(c, req, md, { deadline: new Date(Date.now() + 5000) }, (err, v) => (err ? rej(err) : res(v as Res)));
    });
  }

  async token(name: string, password: string): Promise<string> {
    return (await this.call<{ token: string }>(this.auth, 'Authenticate', { name, password })).token;
  }

  async get(key: string, token?: string): Promise<string[]> {
    const r = await this.call<pb.RangeResponse>(this.kv, 'Range', { key: Buffer.from(key) }, token);
    return r.kvs.map((kv) => kv.value.toString());
  }

  close(): void {
    this.auth.close();
    this.kv.close();
  }
}

async function keyPair(dir: string, name: string): Promise<{ pub: string; priv: string }> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const pub = join(dir, `${name}.pub`);
  const priv = join(dir, `${name}.key`);
  await writeFile(pub, publicKey);
  await writeFile(priv, privateKey, { mode: 0o600 });
  return { pub, priv };
}

const jwtFlag = (k: { pub: string; priv: string }, ttl: string) => ['--auth-token', `jwt,pub-key=${k.pub},priv-key=${k.priv},sign-method=RS256,ttl=${ttl}`];

const INVALID = { code: grpc.status.UNAUTHENTICATED, details: 'etcdserver: invalid auth token' };

describe.skipIf(!requireEtcdctl())('JWT tokens on 3 members', () => {
  let cluster: Cluster | undefined;
  let keyDir = '';
  let k1: { pub: string; priv: string };
  let clients: Client[] = [];

  beforeAll(async () => {
    keyDir = await mkdtemp(join(tmpdir(), 'etcd-ts-jwt-'));
    k1 = await keyPair(keyDir, 'k1');
    cluster = await Cluster.create({ extraArgs: jwtFlag(k1, '60s') });
    await cluster.start();
    clients = cluster.members.map((m) => new Client(m.endpoint));
    const ep = cluster.members[0]!.clientPort;
    for (const args of [['user', 'add', 'root:rootpw'], ['user', 'grant-role', 'root', 'root'], ['auth', 'enable'], ['put', 'foo', 'bar', '--user', 'root:rootpw']]) {
      const r = await etcdctl(ep, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
  }, 90_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.cleanup();
    if (keyDir) await rm(keyDir, { recursive: true, force: true });
  });

  it('a token from one member works on every member; etcdctl works on each', async () => {
    const token = await clients[0]!.token('root', 'rootpw');
    expect(token.split('.')).toHaveLength(3);
    for (const c of clients) expect(await c.get('foo', token)).toEqual(['bar']);
    await expect(clients[1]!.get('foo', `${token}x`)).rejects.toMatchObject(INVALID);
    await expect(clients[2]!.get('foo')).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'etcdserver: user name is empty' });
    for (const m of cluster!.members) {
      const r = await etcdctl(m.clientPort, ['get', 'foo', '--print-value-only', '--user', 'root:rootpw']);
      expect(r).toMatchObject({ code: 0, stdout: 'bar\n' });
    }
  }, 30_000);

  it('a token signed before an auth change is refused as stale, and a new one works', async () => {
    const token = await clients[1]!.token('root', 'rootpw');
    const r = await etcdctl(cluster!.members[0]!.clientPort, ['role', 'add', 'extra', '--user', 'root:rootpw']);
    expect(r.code).toBe(0);
    // Every member applies the change; then the old revision in the token is refused everywhere.
    await waitFor('the role on member c', 5000, async () =>
      (await clients[2]!.get('foo', token).then(() => undefined, (e: grpc.ServiceError) => e.details)),
    ).then((details) => expect(details).toBe('etcdserver: revision of auth store is old'));
    const fresh = await clients[1]!.token('root', 'rootpw');
    expect(await clients[2]!.get('foo', fresh)).toEqual(['bar']);
  }, 30_000);

  it('survives a member restart with the same key pair, not with another one', async () => {
    const [a, b, c] = cluster!.members;
    const token = await clients[0]!.token('root', 'rootpw');
    await b!.stop();
    await b!.start();
    await waitFor('member b serving with the old token', 15_000, () => clients[1]!.get('foo', token).catch(() => undefined));
    expect(await clients[1]!.get('foo', token)).toEqual(['bar']);

    const k2 = await keyPair(keyDir, 'k2');
    await c!.stop();
    c!.setExtraArgs(['--initial-cluster-token', `etcd-ts-e2e-${process.pid}`, '--initial-cluster-state', 'new', ...jwtFlag(k2, '60s')]);
    await c!.start();
    await waitFor('member c serving', 15_000, async () => (await clients[2]!.token('root', 'rootpw').catch(() => undefined)));
    await expect(clients[2]!.get('foo', token)).rejects.toMatchObject(INVALID);
    // And what c signs now, a and b do not accept.
    const fromC = await clients[2]!.token('root', 'rootpw');
    expect(await clients[2]!.get('foo', fromC)).toEqual(['bar']);
    await expect(clients[0]!.get('foo', fromC)).rejects.toMatchObject(INVALID);
    expect(a).toBeDefined();
  }, 90_000);

  it("an expired token gets etcd's error", async () => {
    const a = cluster!.members[0]!;
    await a.stop();
    a.setExtraArgs(['--initial-cluster-token', `etcd-ts-e2e-${process.pid}`, '--initial-cluster-state', 'new', ...jwtFlag(k1, '1s')]);
    await a.start();
    const token = await waitFor('a token from member a', 15_000, () => clients[0]!.token('root', 'rootpw').catch(() => undefined));
    expect(await clients[1]!.get('foo', token)).toEqual(['bar']);
    await sleep(2100); // exp is in whole seconds: past it by more than a second
    await expect(clients[1]!.get('foo', token)).rejects.toMatchObject(INVALID);
    await expect(clients[0]!.get('foo', token)).rejects.toMatchObject(INVALID);
  }, 60_000);
});
