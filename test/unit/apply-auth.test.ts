// Auth at apply time: the Auth* requests change the replicated store (and what
// they stage survives a reopen of the backend), and writes are checked against the
// user and auth revision in the entry's header — so a permission revoked after
// the proposer's check, but before the entry applies, is honoured.
import { afterEach, describe, expect, it } from 'vitest';
import { AuthStore, PermType, SERVER_AS_ROOT, SimpleTokens } from '../../src/auth/index.js';
import { decodeInternalRequest, encodeInternalRequest, encodeInternalRequestRaw, INTERNAL_FIELD } from '../../src/pb/index.js';
import { messageCodec } from '../../src/pb/registry.js';
import { MvccStore } from '../../src/mvcc/index.js';
import { type Entry, EntryType } from '../../src/raft/types.js';
import type { AuthApplyState } from '../../src/server/apply/auth.js';
import { loadAuthStore } from '../../src/server/auth-setup.js';
import { apply, type Body, b, get, put, req, rig } from './apply-helpers.js';
import { TmpStores } from './mvcc-helpers.js';

const stores = new TmpStores();
afterEach(() => stores.cleanup());

/** An entry proposed by `username`, checked at auth revision `revision`. */
function as(username: string, revision: number, index: number, body: Body): Entry {
  return { term: 1, index, type: EntryType.Normal, data: encodeInternalRequest({ ...body, header: { ID: BigInt(index), username, authRevision: BigInt(revision) } }), encoded: undefined };
}

async function authRig() {
  const auth: AuthApplyState = { store: new AuthStore(), tokens: new SimpleTokens({ ttlMs: 60_000, sweepTimer: false }) };
  auth.store = new AuthStore({ enabledChanged: (on) => (on ? auth.tokens.enable() : auth.tokens.disable()) });
  const r = await rig(stores, {}, { auth });
  return { ...r, auth };
}

const error = (r: { delivered: Map<bigint, { ok: boolean; error?: unknown; value?: unknown }> }, id: number) => {
  const res = r.delivered.get(BigInt(id));
  return res && !res.ok ? (res.error as Error).message : 'ok';
};

describe('Auth* requests at apply time', () => {
  it('build the store on every member alike, answer typed results, and persist in the entry batch', async () => {
    const r = await authRig();
    await apply(
      r,
      req(1, { authUserAdd: { name: 'root', hashedPassword: '$2a$10$x', options: { noPassword: false } } }),
      req(2, { authUserGrantRole: { user: 'root', role: 'root' } }),
      req(3, { authRoleAdd: { name: 'r' } }),
      req(4, { authRoleGrantPermission: { name: 'r', perm: { permType: PermType.READWRITE, key: b('k'), rangeEnd: b('') } } }),
      req(5, { authUserAdd: { name: 'u', hashedPassword: '$2a$10$y', options: { noPassword: false } } }),
      req(6, { authUserGrantRole: { user: 'u', role: 'r' } }),
      req(7, { authEnable: {} }),
      req(8, { authUserAdd: { name: 'u2', hashedPassword: 'h', options: { noPassword: false } } }),
      as('root', 99, 9, { authUserList: {} }),
      as('root', 99, 10, { authRoleGet: { role: 'r' } }),
      as('root', 99, 11, { authStatus: {} }),
      as('root', 99, 12, { authRoleAdd: { name: 'r' } }),
    );
    expect(r.fatal).not.toHaveBeenCalled();
    expect(error(r, 8)).toBe('etcdserver: user name is empty'); // auth is on: a request with no user
    expect(r.delivered.get(9n)).toEqual({ ok: true, value: { kind: 'users', users: ['root', 'u'] } });
    expect((r.delivered.get(10n) as { value: unknown }).value).toMatchObject({ kind: 'perms', perms: [{ permType: PermType.READWRITE }] });
    expect((r.delivered.get(11n) as { value: unknown }).value).toEqual({ kind: 'status', enabled: true, revision: 7 });
    expect(error(r, 12)).toBe('etcdserver: role name already exists');
    expect(r.store.consistentIndex()).toBe(12);
    // What was staged reloads into the same store (restart, or an image sent to a follower).
    await r.store.sync();
    const copy = new AuthStore();
    await loadAuthStore(copy, r.store);
    expect([copy.enabled, copy.revision, copy.userList(), copy.roleList()]).toEqual([true, 7, ['root', 'u'], ['r']]);
    // And a store image (what a follower behind the log gets) carries it too.
    const restored = await MvccStore.restoreState(await stores.dir(), r.store.exportState());
    try {
      const fromImage = new AuthStore();
      await loadAuthStore(fromImage, restored);
      expect([fromImage.enabled, fromImage.revision, fromImage.userList(), fromImage.roleGet('r')]).toEqual([true, 7, ['root', 'u'], copy.roleGet('r')]);
    } finally {
      await restored.close();
    }
  });

  it('tell authChanged after a batch that moved the auth revision, not after a KV write or a refused change', async () => {
    let calls = 0;
    const auth: AuthApplyState = { store: new AuthStore(), tokens: new SimpleTokens({ ttlMs: 60_000, sweepTimer: false }) };
    const r = await rig(stores, { authChanged: () => calls++ }, { auth });
    await apply(r, put(1, 'k', 'v'));
    expect(calls).toBe(0);
    await apply(r, req(2, { authRoleAdd: { name: 'r' } }), put(3, 'k', 'w'));
    expect(calls).toBe(1);
    await apply(r, req(4, { authRoleAdd: { name: 'r' } })); // refused: the role exists, the revision stays
    expect(error(r, 4)).toBe('etcdserver: role name already exists');
    expect(calls).toBe(1);
  });

  it('Authenticate assigns a simple token on every member; a no-password user cannot', async () => {
    const r = await authRig();
    await apply(
      r,
      req(1, { authUserAdd: { name: 'root', hashedPassword: 'h', options: { noPassword: false } } }),
      req(2, { authUserGrantRole: { user: 'root', role: 'root' } }),
      req(3, { authUserAdd: { name: 'cn', hashedPassword: '', options: { noPassword: true } } }),
      req(4, { authEnable: {} }),
      req(5, { authenticate: { name: 'root', password: '', simpleToken: 'abcdefghijklmnop' } }),
      req(6, { authenticate: { name: 'cn', password: '', simpleToken: 'bcdefghijklmnopq' } }),
    );
    expect(r.delivered.get(5n)).toEqual({ ok: true, value: { kind: 'token', token: 'abcdefghijklmnop.5' } });
    expect(r.auth.tokens.info('abcdefghijklmnop.5', 4)).toEqual({ username: 'root', revision: 4, token: 'abcdefghijklmnop.5' });
    expect(error(r, 6)).toBe('etcdserver: authentication failed, invalid user ID or password');
  });
});

describe('writes checked at apply time against the header', () => {
  async function enabledRig() {
    const r = await authRig();
    await apply(
      r,
      req(1, { authUserAdd: { name: 'root', hashedPassword: 'h', options: { noPassword: false } } }),
      req(2, { authUserGrantRole: { user: 'root', role: 'root' } }),
      req(3, { authRoleAdd: { name: 'w' } }),
      req(4, { authRoleGrantPermission: { name: 'w', perm: { permType: PermType.WRITE, key: b('k'), rangeEnd: b('') } } }),
      req(5, { authUserAdd: { name: 'u', hashedPassword: 'h', options: { noPassword: false } } }),
      req(6, { authUserGrantRole: { user: 'u', role: 'w' } }),
      req(7, { authEnable: {} }),
    );
    return r;
  }

  it('a put by a user with the permission applies; without it, or without a user, it is refused', async () => {
    const r = await enabledRig();
    const rev = r.auth.store.revision;
    await apply(r, as('u', rev, 8, { put: { key: b('k'), value: b('1') } }), as('u', rev, 9, { put: { key: b('x'), value: b('1') } }), put(10, 'k', '2'));
    expect([error(r, 8), error(r, 9), error(r, 10)]).toEqual(['ok', 'etcdserver: permission denied', 'etcdserver: user name is empty']);
    expect(await get(r.store, 'k')).toBe('1');
    expect(r.store.consistentIndex()).toBe(10);
  });

  it('a permission revoked after the proposer checked and before the entry applies is honoured', async () => {
    const r = await enabledRig();
    const checkedAt = r.auth.store.revision;
    // The proposer checked at `checkedAt`; meanwhile root revokes the role, then the put applies.
    await apply(r, as('root', checkedAt, 8, { authUserRevokeRole: { name: 'u', role: 'w' } }), as('u', checkedAt, 9, { put: { key: b('k'), value: b('1') } }));
    expect(error(r, 8)).toBe('ok');
    expect(error(r, 9)).toBe('etcdserver: revision of auth store is old');
    // Re-checked at the new revision, it is simply denied.
    await apply(r, as('u', r.auth.store.revision, 10, { put: { key: b('k'), value: b('1') } }));
    expect(error(r, 10)).toBe('etcdserver: permission denied');
    expect(await get(r.store, 'k')).toBeUndefined();
  });

  it("the raw fast path's header carries the caller too", async () => {
    const r = await enabledRig();
    const putBytes = (key: string) => messageCodec('etcdserverpb.PutRequest').encode({ key: b(key), value: b('1') });
    const raw = (index: number, key: string, caller?: { username: string; revision: number }): Entry => ({
      term: 1, index, type: EntryType.Normal, data: encodeInternalRequestRaw(BigInt(index), INTERNAL_FIELD.put, putBytes(key), caller), encoded: undefined,
    });
    const rev = r.auth.store.revision;
    const decoded = decodeInternalRequest(raw(8, 'k', { username: 'u', revision: rev }).data);
    expect(decoded.header).toMatchObject({ ID: 8n, username: 'u', authRevision: BigInt(rev) });
    await apply(r, raw(8, 'k', { username: 'u', revision: rev }), raw(9, 'x', { username: 'u', revision: rev }), raw(10, 'k'));
    expect([8, 9, 10].map((i) => error(r, i))).toEqual(['ok', 'etcdserver: permission denied', 'etcdserver: user name is empty']);
  });

  it('admin requests need root; a user may read itself; the member acting as root passes', async () => {
    const r = await enabledRig();
    const rev = r.auth.store.revision;
    await apply(
      r,
      as('u', rev, 8, { authRoleAdd: { name: 'x' } }),
      as('u', rev, 9, { authUserGet: { name: 'u' } }),
      as('u', rev, 10, { authUserGet: { name: 'root' } }),
      as('u', rev, 11, { authRoleGet: { role: 'w' } }),
      as('ghost', rev, 12, { authDisable: {} }),
      as(SERVER_AS_ROOT.username, SERVER_AS_ROOT.revision, 13, { put: { key: b('any'), value: b('1') } }),
    );
    expect([8, 9, 10, 11, 12, 13].map((i) => error(r, i))).toEqual([
      'etcdserver: permission denied',
      'ok',
      'etcdserver: permission denied',
      'ok',
      'etcdserver: user name not found',
      'ok',
    ]);
  });
});
