// The auth store (etcd's auth/store.go): users, roles, the enabled flag and the
// auth revision, as every member holds them. Replicated state: it changes only
// when the applier applies an Auth* request, on every member alike, and every
// change is staged in the backend (records.ts) in the batch of that entry, so it
// survives restarts and travels in store images. Every change bumps the auth
// revision, which makes a permission check made against an older state fail
// ("revision of auth store is old") instead of trusting a stale answer.
//
// Pure: no I/O beyond the injected `stage`, no clock, no server imports. Password
// hashing happens before the request is proposed (the entry carries the hash),
// so applying is deterministic and cheap.

import {
  ErrAuthFailed,
  ErrAuthNotEnabled,
  ErrAuthOldRevision,
  ErrInvalidAuthMgmt,
  ErrNoPasswordUser,
  ErrPermissionDenied,
  ErrPermissionNotGranted,
  ErrRoleAlreadyExist,
  ErrRoleEmpty,
  ErrRoleNotFound,
  ErrRoleNotGranted,
  ErrRootRoleNotExist,
  ErrRootUserNotExist,
  ErrUserAlreadyExist,
  ErrUserEmpty,
  ErrUserNotFound,
} from './errors.js';
import { RangePermissions } from './permissions.js';
import { decodeRevision, decodeRole, decodeUser, encodeRevision, encodeRole, encodeUser, roleKey, userKey } from './records.js';
import { META_AUTH_ENABLED, META_AUTH_REVISION } from '../mvcc/index.js';
import { type AuthInfo, type Permission, PermType, ROOT_ROLE, ROOT_USER, type Role, type User } from './types.js';

/** Where a change is persisted (the backend's stageRaw: value null deletes). */
export type AuthStage = (key: Uint8Array, value: Uint8Array | null) => void;

/** What a backend holds for the auth store (start-up, a store image installed). */
export interface AuthBackendState {
  users: Uint8Array[];
  roles: Uint8Array[];
  enabled: Uint8Array | undefined;
  revision: Uint8Array | undefined;
}

/** What the token provider hears about (it keeps per-member, unreplicated state). */
export interface AuthStoreListener {
  /** Auth was enabled or disabled (simple tokens are dropped on disable). */
  enabledChanged?(enabled: boolean): void;
  /** The user was deleted or its password changed: its simple tokens are dropped. */
  userInvalidated?(name: string): void;
}

const ENABLED = new Uint8Array([1]);
const DISABLED = new Uint8Array([0]);

const cmpBytes = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b);
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => cmpBytes(a, b) === 0;

export class AuthStore {
  private readonly users = new Map<string, User>();
  private readonly roles = new Map<string, Role>();
  private enabledFlag = false;
  /** etcd writes revision 1 when it creates the store; an empty backend means 1. */
  private rev = 1;
  /** Merged permissions per user, rebuilt lazily after any change. */
  private readonly permCache = new Map<string, RangePermissions>();

  constructor(private readonly listener: AuthStoreListener = {}) {}

  get enabled(): boolean {
    return this.enabledFlag;
  }

  get revision(): number {
    return this.rev;
  }

  /** Replaces the whole state with what a backend holds. */
  load(state: AuthBackendState): void {
    this.users.clear();
    this.roles.clear();
    this.permCache.clear();
    for (const v of state.users) {
      const u = decodeUser(v);
      this.users.set(u.name, u);
    }
    for (const v of state.roles) {
      const r = decodeRole(v);
      this.roles.set(r.name, r);
    }
    const wasEnabled = this.enabledFlag;
    this.enabledFlag = state.enabled !== undefined && state.enabled.length === 1 && state.enabled[0] === 1;
    this.rev = Math.max(1, decodeRevision(state.revision));
    if (wasEnabled !== this.enabledFlag) this.listener.enabledChanged?.(this.enabledFlag);
  }

  // --- changes (the apply path) --------------------------------------------------

  /** etcd: already enabled is no error; the root user must exist and hold the root role. */
  authEnable(stage: AuthStage): void {
    if (this.enabledFlag) return;
    const root = this.users.get(ROOT_USER);
    if (!root) throw ErrRootUserNotExist();
    if (!root.roles.includes(ROOT_ROLE)) throw ErrRootRoleNotExist();
    stage(META_AUTH_ENABLED, ENABLED);
    this.enabledFlag = true;
    this.permCache.clear();
    this.listener.enabledChanged?.(true);
  }

  authDisable(stage: AuthStage): void {
    if (!this.enabledFlag) return;
    stage(META_AUTH_ENABLED, DISABLED);
    this.commitRevision(stage);
    this.enabledFlag = false;
    this.listener.enabledChanged?.(false);
  }

  /** `hashedPassword` is the bcrypt hash made before proposing; ignored for a no-password user. */
  userAdd(r: { name: string; hashedPassword: string; noPassword: boolean }, stage: AuthStage): void {
    if (r.name.length === 0) throw ErrUserEmpty();
    if (this.users.has(r.name)) throw ErrUserAlreadyExist();
    const u: User = { name: r.name, password: r.noPassword ? '' : r.hashedPassword, roles: [], noPassword: r.noPassword };
    this.putUser(u, stage);
    this.commitRevision(stage);
  }

  userDelete(name: string, stage: AuthStage): void {
    if (this.enabledFlag && name === ROOT_USER) throw ErrInvalidAuthMgmt();
    if (!this.users.has(name)) throw ErrUserNotFound();
    this.users.delete(name);
    stage(userKey(name), null);
    this.commitRevision(stage);
    this.listener.userInvalidated?.(name);
  }

  userChangePassword(name: string, hashedPassword: string, stage: AuthStage): void {
    const u = this.users.get(name);
    if (!u) throw ErrUserNotFound();
    this.putUser({ ...u, password: hashedPassword }, stage);
    this.commitRevision(stage);
    this.listener.userInvalidated?.(name);
  }

  /** The root role need not exist as a role record; granting a role twice is no error (and no change). */
  userGrantRole(user: string, role: string, stage: AuthStage): void {
    const u = this.users.get(user);
    if (!u) throw ErrUserNotFound();
    if (role !== ROOT_ROLE && !this.roles.has(role)) throw ErrRoleNotFound();
    if (u.roles.includes(role)) return;
    this.putUser({ ...u, roles: [...u.roles, role].sort() }, stage);
    this.commitRevision(stage);
  }

  userRevokeRole(name: string, role: string, stage: AuthStage): void {
    if (this.enabledFlag && name === ROOT_USER && role === ROOT_ROLE) throw ErrInvalidAuthMgmt();
    const u = this.users.get(name);
    if (!u) throw ErrUserNotFound();
    if (!u.roles.includes(role)) throw ErrRoleNotGranted();
    this.putUser({ ...u, roles: u.roles.filter((r) => r !== role) }, stage);
    this.commitRevision(stage);
  }

  roleAdd(name: string, stage: AuthStage): void {
    if (name.length === 0) throw ErrRoleEmpty();
    if (this.roles.has(name)) throw ErrRoleAlreadyExist();
    this.putRole({ name, permissions: [] }, stage);
    this.commitRevision(stage);
  }

  /** Also revokes the role from every user holding it. */
  roleDelete(name: string, stage: AuthStage): void {
    if (this.enabledFlag && name === ROOT_ROLE) throw ErrInvalidAuthMgmt();
    if (!this.roles.has(name)) throw ErrRoleNotFound();
    this.roles.delete(name);
    stage(roleKey(name), null);
    for (const u of [...this.users.values()]) {
      if (u.roles.includes(name)) this.putUser({ ...u, roles: u.roles.filter((r) => r !== name) }, stage);
    }
    this.commitRevision(stage);
  }

  /** The same [key, rangeEnd) again updates its type; permissions stay sorted by key. */
  roleGrantPermission(name: string, perm: Permission, stage: AuthStage): void {
    const role = this.roles.get(name);
    if (!role) throw ErrRoleNotFound();
    const permissions = [...role.permissions];
    const same = permissions.findIndex((p) => sameBytes(p.key, perm.key) && sameBytes(p.rangeEnd, perm.rangeEnd));
    const copy: Permission = { permType: perm.permType, key: new Uint8Array(perm.key), rangeEnd: new Uint8Array(perm.rangeEnd) };
    if (same >= 0) permissions[same] = copy;
    else {
      permissions.push(copy);
      permissions.sort((a, b) => cmpBytes(a.key, b.key));
    }
    this.putRole({ name, permissions }, stage);
    this.commitRevision(stage);
  }

  roleRevokePermission(name: string, key: Uint8Array, rangeEnd: Uint8Array, stage: AuthStage): void {
    const role = this.roles.get(name);
    if (!role) throw ErrRoleNotFound();
    const permissions = role.permissions.filter((p) => !(sameBytes(p.key, key) && sameBytes(p.rangeEnd, rangeEnd)));
    if (permissions.length === role.permissions.length) throw ErrPermissionNotGranted();
    this.putRole({ name, permissions }, stage);
    this.commitRevision(stage);
  }

  /**
   * The applied half of Authenticate (the password was checked before proposing):
   * auth must be on, the user must exist and have a password.
   */
  checkAuthenticate(name: string): void {
    if (!this.enabledFlag) throw ErrAuthNotEnabled();
    const u = this.users.get(name);
    if (!u || u.noPassword) throw ErrAuthFailed();
  }

  // --- reads -------------------------------------------------------------------

  user(name: string): User | undefined {
    return this.users.get(name);
  }

  userGet(name: string): string[] {
    const u = this.users.get(name);
    if (!u) throw ErrUserNotFound();
    return [...u.roles];
  }

  /** Sorted by name, as etcd's bucket order gives them. */
  userList(): string[] {
    return [...this.users.keys()].sort(byBytes);
  }

  roleGet(name: string): Permission[] {
    const r = this.roles.get(name);
    if (!r) throw ErrRoleNotFound();
    return r.permissions.map((p) => ({ ...p }));
  }

  roleList(): string[] {
    return [...this.roles.keys()].sort(byBytes);
  }

  hasRole(user: string, role: string): boolean {
    return this.users.get(user)?.roles.includes(role) ?? false;
  }

  /**
   * Before proposing Authenticate (etcd's CheckPassword, minus the bcrypt compare,
   * which the caller does off the lock): the user's hash and the revision it was read at.
   */
  passwordOf(name: string): { hash: string; revision: number } {
    if (!this.enabledFlag) throw ErrAuthNotEnabled();
    const u = this.users.get(name);
    if (!u) throw ErrAuthFailed();
    if (u.noPassword) throw ErrNoPasswordUser();
    return { hash: u.password, revision: this.rev };
  }

  // --- permission checks (etcd's isOpPermitted and IsAdminPermitted) -----------

  isRangePermitted(ai: AuthInfo, key: Uint8Array, rangeEnd: Uint8Array): void {
    this.checkOp(ai, key, rangeEnd, PermType.READ);
  }

  isPutPermitted(ai: AuthInfo, key: Uint8Array): void {
    this.checkOp(ai, key, EMPTY, PermType.WRITE);
  }

  isDeleteRangePermitted(ai: AuthInfo, key: Uint8Array, rangeEnd: Uint8Array): void {
    this.checkOp(ai, key, rangeEnd, PermType.WRITE);
  }

  isAdminPermitted(ai: AuthInfo | undefined): void {
    if (!this.enabledFlag) return;
    if (!ai || ai.username === '') throw ErrUserEmpty();
    const u = this.users.get(ai.username);
    if (!u) throw ErrUserNotFound();
    if (!u.roles.includes(ROOT_ROLE)) throw ErrPermissionDenied();
  }

  private checkOp(ai: AuthInfo, key: Uint8Array, rangeEnd: Uint8Array, type: typeof PermType.READ | typeof PermType.WRITE): void {
    if (!this.enabledFlag) return;
    if (ai.revision === 0) throw ErrUserEmpty();
    if (ai.revision < this.rev) throw ErrAuthOldRevision();
    const u = this.users.get(ai.username);
    if (!u) throw ErrPermissionDenied();
    if (u.roles.includes(ROOT_ROLE)) return;
    if (!this.permissionsOf(u).permits(type, key, rangeEnd)) throw ErrPermissionDenied();
  }

  private permissionsOf(u: User): RangePermissions {
    let p = this.permCache.get(u.name);
    if (!p) {
      const perms: Permission[] = [];
      for (const r of u.roles) perms.push(...(this.roles.get(r)?.permissions ?? []));
      p = new RangePermissions(perms);
      this.permCache.set(u.name, p);
    }
    return p;
  }

  private putUser(u: User, stage: AuthStage): void {
    this.users.set(u.name, u);
    stage(userKey(u.name), encodeUser(u));
  }

  private putRole(r: Role, stage: AuthStage): void {
    this.roles.set(r.name, r);
    stage(roleKey(r.name), encodeRole(r));
  }

  private commitRevision(stage: AuthStage): void {
    this.rev += 1;
    this.permCache.clear();
    stage(META_AUTH_REVISION, encodeRevision(this.rev));
  }
}

const EMPTY = new Uint8Array(0);

function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
