// Which txns a member serves itself and which it proposes, as etcd 3.4's
// EtcdServer.Txn: ranges only (top level) are served from local state — after the
// ReadIndex barrier unless every op is serializable, with the caller looked up
// after it and checked as applying would; anything else goes through the log.
import { describe, expect, it } from 'vitest';
import { atLookup, type AuthInfo } from '../../src/auth/index.js';
import { isReadOnlyTxn, isSerializableTxn, MemberKV, type KvMember } from '../../src/server/member-kv.js';
import type * as pb from '../../src/pb/types.js';

const key = Buffer.from('k');
const none = Buffer.alloc(0);
const range = (serializable = false): pb.RequestOp => ({ requestRange: { key, rangeEnd: none, serializable } }) as never;
const put: pb.RequestOp = { requestPut: { key, value: Buffer.from('v') } } as never;
const nested = (inner: pb.TxnRequest): pb.RequestOp => ({ requestTxn: inner }) as never;
const txn = (success: pb.RequestOp[], failure: pb.RequestOp[] = []): pb.TxnRequest => ({ compare: [], success, failure }) as never;

function member() {
  let authRev = 4;
  const log: string[] = [];
  const checked: (AuthInfo | undefined)[] = [];
  const m = {
    store: {
      readTxn: async () => { log.push('read'); return { succeeded: true, responses: [], revision: 9 }; },
    },
    auth: {
      checkTxn: (who: AuthInfo | undefined) => void checked.push(who),
      checkStillCurrent: (who: AuthInfo | undefined) => {
        if (who && who.revision !== authRev) throw new Error('etcdserver: revision of auth store is old');
      },
      lookedUpNow: (who: AuthInfo | undefined) => atLookup(who, authRev),
    },
    maintenance: { checkQuota: () => undefined },
    header: (revision?: number) => ({ clusterId: 1n, memberId: 2n, revision: BigInt(revision ?? 0), raftTerm: 3n }),
    propose: async () => { log.push('propose'); return { succeeded: true, responses: [], revision: 10 }; },
    linearizableReadBarrier: async () => { log.push('barrier'); authRev = 5; },
  } as unknown as KvMember;
  return { kv: new MemberKV(m), log, checked };
}

describe('isReadOnlyTxn / isSerializableTxn (etcd 3.4 v3_server.go)', () => {
  it('counts ranges only, top level: a nested txn is a write', () => {
    expect(isReadOnlyTxn(txn([range()], [range(true)]))).toBe(true);
    expect(isReadOnlyTxn(txn([]))).toBe(true);
    expect(isReadOnlyTxn(txn([range()], [put]))).toBe(false);
    expect(isReadOnlyTxn(txn([nested(txn([range()]))]))).toBe(false);
  });
  it('is serializable when every op is a serializable range — vacuously for a txn of compares alone', () => {
    expect(isSerializableTxn(txn([range(true)], [range(true)]))).toBe(true);
    expect(isSerializableTxn(txn([]))).toBe(true);
    expect(isSerializableTxn(txn([range(true)], [range(false)]))).toBe(false);
    expect(isSerializableTxn(txn([put]))).toBe(false);
  });
});

describe('MemberKV.txn', () => {
  it('serves a txn of linearizable ranges after the barrier, with the caller looked up after it', async () => {
    const { kv, log, checked } = member();
    const res = await kv.txn(txn([range()], [range(true)]), { username: 'dave', revision: 4 });
    expect(log).toEqual(['barrier', 'read']);
    expect(checked).toEqual([{ username: 'dave', revision: 5 }]);
    expect(res.header!.revision).toBe(9n);
  });

  it('serves a txn of serializable ranges (or of compares alone) without the barrier', async () => {
    for (const req of [txn([range(true)]), txn([])]) {
      const { kv, log, checked } = member();
      await kv.txn(req, { username: 'dave', revision: 4 });
      expect(log).toEqual(['read']);
      expect(checked).toEqual([{ username: 'dave', revision: 4 }]);
    }
  });

  it('proposes a txn with a write or a nested txn, checked when applied', async () => {
    for (const req of [txn([range()], [put]), txn([nested(txn([range()]))])]) {
      const { kv, log, checked } = member();
      const res = await kv.txn(req, { username: 'dave', revision: 4 });
      expect(log).toEqual(['propose']);
      expect(checked).toEqual([]);
      expect(res.header!.revision).toBe(10n);
    }
  });

  it("refuses a read-only txn whose JWT revision the store has passed", async () => {
    const { kv } = member();
    await expect(kv.txn(txn([range()]), { username: 'dave', revision: 4, signed: true })).rejects.toThrow(/revision of auth store is old/);
  });
});
