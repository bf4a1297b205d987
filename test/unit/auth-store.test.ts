// The auth store: every etcd error path, the root rules, the revision, and
// persistence (what it stages loads back into an equal store).
import { describe, expect, it } from 'vitest';
import {
  AuthError,
  AuthStore,
  passwordMatches,
  hashPassword,
  PermType,
  effectiveBcryptCost,
  type AuthInfo,
  type Permission,
} from '../../src/auth/index.js';
import { AUTH_ROLE_PREFIX, AUTH_USER_PREFIX, META_AUTH_ENABLED, META_AUTH_REVISION } from '../../src/mvcc/index.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const perm = (permType: PermType, key: string, rangeEnd = ''): Permission => ({ permType, key: b(key), rangeEnd: b(rangeEnd) });

/** A store whose staged writes land in a map, as the backend's raw keys would. */
function rig() {
  const kv = new Map<string, Uint8Array | null>();
  const stage = (k: Uint8Array, v: Uint8Array | null) => kv.set(Buffer.from(k).toString('latin1'), v);
  const events: string[] = [];
  const store = new AuthStore({ enabledChanged: (on) => events.push(`enabled:${on}`), userInvalidated: (n) => events.push(`invalidated:${n}`) });
  const reload = () => {
    const bucket = (p: number) => [...kv].filter(([k, v]) => k.charCodeAt(0) === p && v !== null).map(([, v]) => v!);
    const get = (k: Uint8Array) => kv.get(Buffer.from(k).toString('latin1')) ?? undefined;
    const copy = new AuthStore();
    copy.load({ users: bucket(AUTH_USER_PREFIX), roles: bucket(AUTH_ROLE_PREFIX), enabled: get(META_AUTH_ENABLED), revision: get(META_AUTH_REVISION) });
    return copy;
  };
  return { store, stage, kv, events, reload };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof AuthError) return `${err.status}: ${err.message}`;
    throw err;
  }
  return 'ok';
}

/** root (with the root role) and auth on. */
function enabled() {
  const r = rig();
  r.store.userAdd({ name: 'root', hashedPassword: 'h', noPassword: false }, r.stage);
  r.store.userGrantRole('root', 'root', r.stage);
  r.store.authEnable(r.stage);
  return r;
}

describe('auth store: users', () => {
  it('adds, lists (byte order), gets, deletes', () => {
    const { store, stage } = rig();
    store.userAdd({ name: 'b', hashedPassword: 'h', noPassword: false }, stage);
    store.userAdd({ name: 'a', hashedPassword: 'h', noPassword: false }, stage);
    store.userAdd({ name: 'B', hashedPassword: 'h', noPassword: false }, stage);
    expect(store.userList()).toEqual(['B', 'a', 'b']);
    expect(store.userGet('a')).toEqual([]);
    store.userDelete('a', stage);
    expect(store.userList()).toEqual(['B', 'b']);
  });

  it('refuses an empty name, a duplicate, an unknown user', () => {
    const { store, stage } = rig();
    expect(code(() => store.userAdd({ name: '', hashedPassword: 'h', noPassword: false }, stage))).toBe('INVALID_ARGUMENT: etcdserver: user name is empty');
    store.userAdd({ name: 'u', hashedPassword: 'h', noPassword: false }, stage);
    expect(code(() => store.userAdd({ name: 'u', hashedPassword: 'h', noPassword: false }, stage))).toBe('FAILED_PRECONDITION: etcdserver: user name already exists');
    for (const fn of [
      () => store.userDelete('x', stage),
      () => store.userGet('x'),
      () => store.userChangePassword('x', 'h', stage),
      () => store.userGrantRole('x', 'root', stage),
      () => store.userRevokeRole('x', 'root', stage),
    ]) {
      expect(code(fn)).toBe('FAILED_PRECONDITION: etcdserver: user name not found');
    }
  });

  it('grants roles sorted, once; the root role needs no role record; unknown roles and ungranted revokes fail', () => {
    const { store, stage } = rig();
    store.userAdd({ name: 'u', hashedPassword: 'h', noPassword: false }, stage);
    store.roleAdd('z', stage);
    store.roleAdd('a', stage);
    store.userGrantRole('u', 'z', stage);
    store.userGrantRole('u', 'a', stage);
    store.userGrantRole('u', 'root', stage);
    const rev = store.revision;
    store.userGrantRole('u', 'a', stage); // again: no change, no new revision
    expect(store.revision).toBe(rev);
    expect(store.userGet('u')).toEqual(['a', 'root', 'z']);
    expect(code(() => store.userGrantRole('u', 'nope', stage))).toBe('FAILED_PRECONDITION: etcdserver: role name not found');
    store.userRevokeRole('u', 'z', stage);
    expect(code(() => store.userRevokeRole('u', 'z', stage))).toBe('FAILED_PRECONDITION: etcdserver: role is not granted to the user');
  });

  it('a password change or a deletion drops the user\'s tokens', () => {
    const { store, stage, events } = rig();
    store.userAdd({ name: 'u', hashedPassword: 'h1', noPassword: false }, stage);
    store.userChangePassword('u', 'h2', stage);
    expect(store.user('u')!.password).toBe('h2');
    store.userDelete('u', stage);
    expect(events).toEqual(['invalidated:u', 'invalidated:u']);
  });
});

describe('auth store: roles and permissions', () => {
  it('adds, refuses empty and duplicate names, lists', () => {
    const { store, stage } = rig();
    expect(code(() => store.roleAdd('', stage))).toBe('INVALID_ARGUMENT: etcdserver: role name is empty');
    store.roleAdd('r', stage);
    expect(code(() => store.roleAdd('r', stage))).toBe('FAILED_PRECONDITION: etcdserver: role name already exists');
    for (const fn of [() => store.roleGet('x'), () => store.roleDelete('x', stage), () => store.roleGrantPermission('x', perm(PermType.READ, 'k'), stage), () => store.roleRevokePermission('x', b('k'), b(''), stage)]) {
      expect(code(fn)).toBe('FAILED_PRECONDITION: etcdserver: role name not found');
    }
    expect(store.roleList()).toEqual(['r']);
  });

  it('keeps permissions sorted by key; the same [key, range_end) updates its type', () => {
    const { store, stage } = rig();
    store.roleAdd('r', stage);
    store.roleGrantPermission('r', perm(PermType.WRITE, 'z', '\0'), stage);
    store.roleGrantPermission('r', perm(PermType.READ, 'a', 'c'), stage);
    store.roleGrantPermission('r', perm(PermType.READ, 'z', '\0'), stage);
    expect(store.roleGet('r').map((p) => [p.permType, Buffer.from(p.key).toString(), Buffer.from(p.rangeEnd).toString()])).toEqual([
      [PermType.READ, 'a', 'c'],
      [PermType.READ, 'z', '\0'],
    ]);
    expect(code(() => store.roleRevokePermission('r', b('a'), b(''), stage))).toBe('FAILED_PRECONDITION: etcdserver: permission is not granted to the role');
    store.roleRevokePermission('r', b('a'), b('c'), stage);
    expect(store.roleGet('r')).toHaveLength(1);
  });

  it('deleting a role revokes it from every user', () => {
    const { store, stage } = rig();
    store.roleAdd('r', stage);
    for (const u of ['u1', 'u2']) {
      store.userAdd({ name: u, hashedPassword: 'h', noPassword: false }, stage);
      store.userGrantRole(u, 'r', stage);
    }
    store.roleDelete('r', stage);
    expect(store.userGet('u1')).toEqual([]);
    expect(store.userGet('u2')).toEqual([]);
  });
});

describe('auth store: enable, disable and the root rules', () => {
  it('enabling needs the root user holding the root role; enabling twice is no error', () => {
    const { store, stage, events } = rig();
    expect(code(() => store.authEnable(stage))).toBe('FAILED_PRECONDITION: etcdserver: root user does not exist');
    store.userAdd({ name: 'root', hashedPassword: 'h', noPassword: false }, stage);
    expect(code(() => store.authEnable(stage))).toBe('FAILED_PRECONDITION: etcdserver: root user does not have root role');
    store.userGrantRole('root', 'root', stage);
    store.authEnable(stage);
    store.authEnable(stage);
    expect(store.enabled).toBe(true);
    store.authDisable(stage);
    store.authDisable(stage);
    expect(store.enabled).toBe(false);
    expect(events).toEqual(['enabled:true', 'enabled:false']);
  });

  it('while enabled, root cannot be deleted nor lose the root role, and the root role cannot be deleted', () => {
    const { store, stage } = enabled();
    store.roleAdd('root', stage);
    expect(code(() => store.userDelete('root', stage))).toBe('INVALID_ARGUMENT: etcdserver: invalid auth management');
    expect(code(() => store.userRevokeRole('root', 'root', stage))).toBe('INVALID_ARGUMENT: etcdserver: invalid auth management');
    expect(code(() => store.roleDelete('root', stage))).toBe('INVALID_ARGUMENT: etcdserver: invalid auth management');
    store.authDisable(stage);
    store.userRevokeRole('root', 'root', stage);
    store.userDelete('root', stage);
  });

  it('every change bumps the revision, from 1 (etcd creates the store at revision 1); enabling does not', () => {
    const { store, stage } = rig();
    expect(store.revision).toBe(1);
    store.userAdd({ name: 'root', hashedPassword: 'h', noPassword: false }, stage);
    store.userGrantRole('root', 'root', stage);
    store.roleAdd('r', stage);
    expect(store.revision).toBe(4);
    store.authEnable(stage);
    expect(store.revision).toBe(4);
    store.authDisable(stage);
    expect(store.revision).toBe(5);
  });

  it('what it stages loads back into the same state (restart, store image)', () => {
    const r = enabled();
    r.store.roleAdd('r', r.stage);
    r.store.roleGrantPermission('r', perm(PermType.READWRITE, 'p/', 'p0'), r.stage);
    r.store.userAdd({ name: 'u', hashedPassword: '$2a$hash', noPassword: false }, r.stage);
    r.store.userAdd({ name: 'cn', hashedPassword: '', noPassword: true }, r.stage);
    r.store.userGrantRole('u', 'r', r.stage);
    r.store.userDelete('cn', r.stage);
    const copy = r.reload();
    expect(copy.enabled).toBe(true);
    expect(copy.revision).toBe(r.store.revision);
    expect(copy.userList()).toEqual(['root', 'u']);
    expect(copy.user('u')).toEqual({ name: 'u', password: '$2a$hash', roles: ['r'], noPassword: false });
    expect(copy.roleGet('r')).toEqual(r.store.roleGet('r'));
    copy.isPutPermitted({ username: 'u', revision: copy.revision }, b('p/x'));
  });
});

describe('auth store: checks', () => {
  function withUser() {
    const r = enabled();
    r.store.roleAdd('r', r.stage);
    r.store.roleGrantPermission('r', perm(PermType.READ, 'k'), r.stage);
    r.store.userAdd({ name: 'u', hashedPassword: 'h', noPassword: false }, r.stage);
    r.store.userGrantRole('u', 'r', r.stage);
    return r;
  }

  it('pass everything while auth is off', () => {
    const { store } = rig();
    store.isPutPermitted({ username: '', revision: 0 }, b('x'));
    store.isAdminPermitted(undefined);
  });

  it('no credentials: user name is empty; an older revision: revision of auth store is old; unknown user: denied', () => {
    const { store } = withUser();
    const rev = store.revision;
    expect(code(() => store.isRangePermitted({ username: '', revision: 0 }, b('k'), b('')))).toBe('INVALID_ARGUMENT: etcdserver: user name is empty');
    expect(code(() => store.isRangePermitted({ username: 'u', revision: rev - 1 }, b('k'), b('')))).toBe('INVALID_ARGUMENT: etcdserver: revision of auth store is old');
    expect(code(() => store.isRangePermitted({ username: 'ghost', revision: rev }, b('k'), b('')))).toBe('PERMISSION_DENIED: etcdserver: permission denied');
    expect(code(() => store.isRangePermitted({ username: 'u', revision: rev }, b('k'), b('')))).toBe('ok');
    expect(code(() => store.isPutPermitted({ username: 'u', revision: rev }, b('k')))).toBe('PERMISSION_DENIED: etcdserver: permission denied');
  });

  it('a change of roles takes effect at once (no stale cache)', () => {
    const { store, stage } = withUser();
    const ai = (): AuthInfo => ({ username: 'u', revision: store.revision });
    store.roleGrantPermission('r', perm(PermType.WRITE, 'w'), stage);
    expect(code(() => store.isPutPermitted(ai(), b('w')))).toBe('ok');
    store.roleRevokePermission('r', b('w'), b(''), stage);
    expect(code(() => store.isPutPermitted(ai(), b('w')))).toBe('PERMISSION_DENIED: etcdserver: permission denied');
    store.userGrantRole('u', 'root', stage);
    expect(code(() => store.isPutPermitted(ai(), b('anything')))).toBe('ok');
  });

  it('admin: empty user, unknown user, non-root, root', () => {
    const { store } = withUser();
    expect(code(() => store.isAdminPermitted(undefined))).toBe('INVALID_ARGUMENT: etcdserver: user name is empty');
    expect(code(() => store.isAdminPermitted({ username: 'ghost', revision: 9 }))).toBe('FAILED_PRECONDITION: etcdserver: user name not found');
    expect(code(() => store.isAdminPermitted({ username: 'u', revision: 9 }))).toBe('PERMISSION_DENIED: etcdserver: permission denied');
    expect(code(() => store.isAdminPermitted({ username: 'root', revision: 1 }))).toBe('ok');
  });

  it('Authenticate: off, unknown user, no-password user', () => {
    const r = rig();
    expect(code(() => r.store.passwordOf('x'))).toBe('FAILED_PRECONDITION: etcdserver: authentication is not enabled');
    expect(code(() => r.store.checkAuthenticate('x'))).toBe('FAILED_PRECONDITION: etcdserver: authentication is not enabled');
    const e = enabled();
    e.store.userAdd({ name: 'cn', hashedPassword: '', noPassword: true }, e.stage);
    expect(code(() => e.store.passwordOf('x'))).toBe('INVALID_ARGUMENT: etcdserver: authentication failed, invalid user ID or password');
    expect(code(() => e.store.passwordOf('cn'))).toBe('UNKNOWN: auth: authentication failed, password was given for no password user');
    expect(code(() => e.store.checkAuthenticate('cn'))).toBe('INVALID_ARGUMENT: etcdserver: authentication failed, invalid user ID or password');
    expect(e.store.passwordOf('root')).toEqual({ hash: 'h', revision: e.store.revision });
  });
});

describe('bcrypt', () => {
  it("verifies etcd 3.4.23's own hash (Go's bcrypt, cost 10) and rejects a wrong password", async () => {
    // `etcdctl user add gopher:hunter2` on etcd 3.4.23, read back from its bbolt file.
    const fromEtcd = '$2a$10$t5uiRudtufTK6IfZr1FBjeyhFelrCN5M0IBG2YDbLCQNMZkACMLau';
    expect(await passwordMatches('hunter2', fromEtcd)).toBe(true);
    expect(await passwordMatches('hunter3', fromEtcd)).toBe(false);
    expect(await passwordMatches('hunter2', 'not a hash')).toBe(false);
    expect(await passwordMatches('', '')).toBe(false);
  });

  it('hashes at the given cost; out-of-range costs mean 10, as etcd', async () => {
    const h = await hashPassword('pw', 4);
    expect(h).toMatch(/^\$2[ab]\$04\$/);
    expect(await passwordMatches('pw', h)).toBe(true);
    expect([effectiveBcryptCost(3), effectiveBcryptCost(32), effectiveBcryptCost(12)]).toEqual([10, 10, 12]);
  });
});
