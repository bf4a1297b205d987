// Joining with --initial-cluster-state=existing: the cluster id and this member's
// id come from a peer's Membership service; a member the cluster does not list
// (not added first) is refused with etcd's validation error.
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs, type Config } from '../../src/server/config.js';
import { joinExistingCluster } from '../../src/server/join.js';
import { membershipPeerService } from '../../src/server/member-peer-service.js';
import type { Member } from '../../src/server/membership.js';

const logger = pino({ level: 'silent' });

describe('joinExistingCluster', () => {
  let server: grpc.Server;
  let port = 0;
  const members: Member[] = [];

  beforeAll(async () => {
    server = new grpc.Server();
    const [def, impl] = membershipPeerService(
      () => ({ clusterId: 0xc1n, members }),
      async () => [],
      () => undefined,
    );
    server.addService(def, impl);
    port = await new Promise<number>((res, rej) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? rej(err) : res(p))),
    );
    members.push(
      { id: 0xan, name: 'a', peerURLs: [`http://127.0.0.1:${port}`], clientURLs: [], isLearner: false },
      { id: 0xbn, name: '', peerURLs: ['http://127.0.0.1:1'], clientURLs: [], isLearner: false },
    );
  });

  afterAll(() => server.forceShutdown());

  const cfgFor = (name: string, peer: string, initial: string): Config => {
    const r = parseArgs([
      '--name', name, '--initial-cluster-state', 'existing', '--initial-advertise-peer-urls', peer, '--initial-cluster', initial,
    ]);
    if (r.kind !== 'run') throw new Error('not a run config');
    return r.config;
  };

  it('takes the cluster id and the id the cluster gave its peer URLs', async () => {
    const joined = await joinExistingCluster(cfgFor('b', 'http://127.0.0.1:1', `a=http://127.0.0.1:${port},b=http://127.0.0.1:1`), logger);
    expect(joined.clusterId).toBe(0xc1n);
    expect(joined.memberId).toBe(0xbn);
    expect(joined.members).toHaveLength(2);
  });

  it('refuses a member that was not added first (etcd: error validating peerURLs)', async () => {
    await expect(
      joinExistingCluster(cfgFor('x', 'http://127.0.0.1:2', `a=http://127.0.0.1:${port},b=http://127.0.0.1:1,x=http://127.0.0.1:2`), logger),
    ).rejects.toThrow(/error validating peerURLs .*: member count is unequal/);
    await expect(
      joinExistingCluster(cfgFor('x', 'http://127.0.0.1:2', `a=http://127.0.0.1:${port},x=http://127.0.0.1:2`), logger),
    ).rejects.toThrow(/error validating peerURLs .*: unmatched member while checking PeerURLs/);
  });
});
