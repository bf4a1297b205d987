// CorruptionChecker (corruption.ts) against fake peers: etcd 3.4's rules for the
// initial check and the leader's periodic check.

import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AlarmAction, AlarmType } from '../../src/pb/types.js';
import { CorruptionChecker, type CorruptionHost } from '../../src/server/corruption.js';

type Peer = { hash: number; compact: number; rev: number } | Error;

function host(local: { hash: number; compact: number; rev: number }, peers: Map<bigint, Peer>, leader = true) {
  const proposed: unknown[] = [];
  const h: CorruptionHost = {
    memberId: 1n,
    logger: pino({ level: 'silent' }),
    peers: () => [...peers.keys()],
    hashKV: async () => ({ hash: local.hash, compactRevision: local.compact, revision: local.rev, hashRevision: local.rev }),
    callPeer: async <Req, Res>(id: bigint) => {
      const p = peers.get(id)!;
      if (p instanceof Error) throw p;
      return { header: { memberId: id, revision: BigInt(p.rev), clusterId: 0n, raftTerm: 0n }, hash: p.hash, compactRevision: BigInt(p.compact) } as unknown as Res;
    },
    isLeader: () => leader,
    propose: async (body) => {
      proposed.push(body);
    },
  };
  return { h, proposed };
}

describe('initial corruption check', () => {
  it('passes when peers agree, or differ only in compact revision, or cannot answer', async () => {
    const { h } = host({ hash: 5, compact: 3, rev: 10 }, new Map<bigint, Peer>([
      [2n, { hash: 5, compact: 3, rev: 10 }],
      [3n, { hash: 9, compact: 4, rev: 10 }],
      [4n, new Error('unreachable')],
    ]));
    await expect(new CorruptionChecker(h).initialCheck()).resolves.toBeUndefined();
  });

  it('fails with etcd\'s message when a peer at the same compact revision has another hash', async () => {
    const { h } = host({ hash: 5, compact: 3, rev: 10 }, new Map<bigint, Peer>([[2n, { hash: 6, compact: 3, rev: 10 }]]));
    await expect(new CorruptionChecker(h).initialCheck()).rejects.toThrow('1 found data inconsistency with peers');
  });
});

describe('periodic corruption check (leader)', () => {
  it('raises CORRUPT through Raft for each inconsistent peer', async () => {
    const { h, proposed } = host({ hash: 5, compact: 3, rev: 10 }, new Map<bigint, Peer>([
      [2n, { hash: 5, compact: 3, rev: 10 }],
      [3n, { hash: 7, compact: 3, rev: 10 }], // other hash
      [4n, { hash: 5, compact: 3, rev: 11 }], // ahead of the leader
    ]));
    expect(await new CorruptionChecker(h).periodicCheck()).toEqual([3n, 4n]);
    expect(proposed).toEqual([
      { alarm: { action: AlarmAction.ACTIVATE, memberID: 3n, alarm: AlarmType.CORRUPT } },
      { alarm: { action: AlarmAction.ACTIVATE, memberID: 4n, alarm: AlarmType.CORRUPT } },
    ]);
  });

  it('does nothing on a follower', async () => {
    const { h, proposed } = host({ hash: 5, compact: 3, rev: 10 }, new Map<bigint, Peer>([[2n, { hash: 7, compact: 3, rev: 10 }]]), false);
    expect(await new CorruptionChecker(h).periodicCheck()).toEqual([]);
    expect(proposed).toEqual([]);
  });
});
