// A linearizable read's caller is looked up after the read's barrier, as etcd's
// Range does (linearizableReadNotify, then doSerialize's AuthInfoFromCtx): an auth
// change applied while the read waited does not fail it with "revision of auth
// store is old" — unless the caller's revision came signed in a JWT.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { atLookup, type AuthInfo, type AuthStore, SimpleTokens } from '../../src/auth/index.js';
import { AuthService } from '../../src/server/auth-service.js';
import { MemberKV, type KvMember } from '../../src/server/member-kv.js';

describe('atLookup', () => {
  it("gives a simple token's or a certificate's caller the store's revision, and leaves a JWT's, no caller and no credentials alone", () => {
    expect(atLookup({ username: 'dave', revision: 4 }, 5)).toEqual({ username: 'dave', revision: 5 });
    expect(atLookup({ username: 'dave', revision: 4, signed: true }, 5)).toEqual({ username: 'dave', revision: 4, signed: true });
    expect(atLookup(undefined, 5)).toBeUndefined();
    expect(atLookup({ username: '', revision: 0 }, 5)).toEqual({ username: '', revision: 0 });
    const same = { username: 'dave', revision: 5 };
    expect(atLookup(same, 5)).toBe(same);
  });
});

/** A member whose auth store moves from revision 4 to 5 while a linearizable read waits for its barrier. */
function member(): { m: KvMember; checked: AuthInfo[] } {
  let rev = 4;
  const checked: AuthInfo[] = [];
  const m = {
    store: { range: async () => ({ kvs: [], more: false, count: 0, revision: 7 }) },
    auth: {
      checkRange: (who: AuthInfo | undefined) => void checked.push(who!),
      // As AuthService: the read fails if the store moved past the caller's revision.
      checkStillCurrent: (who: AuthInfo | undefined) => {
        if (who && who.revision !== rev) throw new Error('etcdserver: revision of auth store is old');
      },
      lookedUpNow: (who: AuthInfo | undefined) => atLookup(who, rev),
    },
    maintenance: { checkQuota: () => undefined },
    header: (revision?: number) => ({ clusterId: 1n, memberId: 2n, revision: BigInt(revision ?? 0), raftTerm: 3n }),
    propose: async () => ({}),
    linearizableReadBarrier: async () => {
      rev = 5; // the auth change committed before the read is applied here while the read waits
    },
  } as unknown as KvMember;
  return { m, checked };
}

const range = (serializable: boolean) => ({ key: Buffer.from('shared'), rangeEnd: Buffer.alloc(0), serializable }) as never;

describe('MemberKV.range with auth', () => {
  it('checks a linearizable read with the caller looked up after the barrier', async () => {
    const { m, checked } = member();
    await expect(new MemberKV(m).range(range(false), { username: 'dave', revision: 4 })).resolves.toBeDefined();
    expect(checked).toEqual([{ username: 'dave', revision: 5 }]);
  });

  it("refuses it when the caller's revision came signed in a JWT older than the store", async () => {
    const { m } = member();
    await expect(new MemberKV(m).range(range(false), { username: 'dave', revision: 4, signed: true })).rejects.toThrow(/revision of auth store is old/);
  });

  it('looks a serializable read\'s caller up when it arrives (no barrier to wait for)', async () => {
    const { m, checked } = member();
    await new MemberKV(m).range(range(true), { username: 'dave', revision: 4 });
    expect(checked).toEqual([{ username: 'dave', revision: 4 }]);
  });
});

describe('AuthService.lookedUpNow (after a read\'s barrier)', () => {
  function service() {
    const store = { enabled: true, revision: 4 };
    const tokens = new SimpleTokens({ ttlMs: 60_000, sweepTimer: false });
    tokens.enable();
    const svc = new AuthService({
      store: store as unknown as AuthStore, tokens, bcryptCost: 4, logger: pino({ level: 'silent' }),
      propose: async () => ({}), readBarrier: async () => {}, leaseKeys: () => [],
    });
    return { svc, store, tokens };
  }

  it("asks for a simple token again: the store's revision now, or 'invalid auth token' once it was dropped meanwhile", async () => {
    const { svc, store, tokens } = service();
    const token = tokens.assign('dave', 4, { index: 7, prefix: 'abcdefghijklmnop' });
    const who = (await svc.identify({ token }))!;
    expect(who).toEqual({ username: 'dave', revision: 4, token });
    store.revision = 5; // a role changed while the read waited
    expect(svc.lookedUpNow(who)).toEqual({ username: 'dave', revision: 5, token });
    tokens.invalidateUser('dave'); // dave's password changed (or dave was deleted) while it waited
    expect(() => svc.lookedUpNow(who)).toThrow('etcdserver: invalid auth token');
  });

  it("gives a certificate's caller the store's revision and leaves a JWT's alone", () => {
    const { svc, store } = service();
    store.revision = 6;
    expect(svc.lookedUpNow({ username: 'cn-user', revision: 4 })).toEqual({ username: 'cn-user', revision: 6 });
    expect(svc.lookedUpNow({ username: 'dave', revision: 4, signed: true })).toEqual({ username: 'dave', revision: 4, signed: true });
    expect(svc.lookedUpNow(undefined)).toBeUndefined();
  });
});
