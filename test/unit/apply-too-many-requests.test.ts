// EtcdServer.propose refuses new proposals while the applier is more than
// 5,000 committed entries behind (etcd's maxGapBetweenApplyAndCommitIndex).

import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { AuthStore, SimpleTokens } from '../../src/auth/index.js';
import { MAX_GAP_BETWEEN_APPLY_AND_COMMIT_INDEX } from '../../src/server/apply/index.js';
import { Code, EtcdError } from '../../src/server/errors.js';
import { EtcdServer, type ServerParts } from '../../src/server/etcd-server.js';

/** A server over a fake Raft node and applier: only what propose() touches. */
function server(committed: number, applied: number) {
  const raft = {
    committedIndex: committed,
    propose: vi.fn(() => {
      throw new Error('proposed');
    }),
  };
  const parts = {
    cfg: { electionMs: 1000, maxRequestBytes: 1.5 * 1024 * 1024 },
    logger: pino({ level: 'silent' }),
    memberId: 1n,
    clusterId: 2n,
    raft,
    applier: { applied },
    auth: { store: new AuthStore(), tokens: new SimpleTokens({ ttlMs: 0, sweepTimer: false }) },
  } as unknown as ServerParts;
  return { srv: new EtcdServer(parts), raft };
}

const putBody = { put: { key: new TextEncoder().encode('k'), value: new Uint8Array(0) } };

describe('too many requests', () => {
  it('is etcd\'s error (ResourceExhausted) when committed - applied > 5000, and nothing is proposed', async () => {
    expect(MAX_GAP_BETWEEN_APPLY_AND_COMMIT_INDEX).toBe(5000);
    const { srv, raft } = server(10_001, 5000);
    const err = await srv.propose(putBody).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(EtcdError);
    expect((err as EtcdError).code).toBe(Code.RESOURCE_EXHAUSTED);
    expect((err as EtcdError).code).toBe(8);
    expect((err as EtcdError).message).toBe('etcdserver: too many requests');
    expect(raft.propose).not.toHaveBeenCalled();
  });

  it('proposes when the gap is exactly 5000', async () => {
    const { srv, raft } = server(10_000, 5000);
    await expect(srv.propose(putBody)).rejects.toThrow('proposed');
    expect(raft.propose).toHaveBeenCalledTimes(1);
  });
});
