// Auth at apply time (etcd's authApplierV3 and the Auth* cases of applierV3backend):
// - the Auth* requests change or read the replicated auth store (every change
//   staged in the entry's batch, with the consistent index);
// - every KV write, LeaseRevoke and admin request is checked against the user
//   and auth revision its proposer put in the entry's header. The store is the
//   same on every member at that index, so the answer is too; a permission
//   revoked between the proposer's check and the apply is honoured, and a token
//   checked at an older auth revision fails with "revision of auth store is old".

import {
  AuthError,
  type AuthInfo,
  type AuthStore,
  checkDeleteRange,
  checkLeaseKeys,
  checkPut,
  checkTxn,
  ErrPermissionDenied,
  PermType,
  type TokenProvider,
} from '../../auth/index.js';
import { toLeaseId, type Lessor } from '../../lease/index.js';
import type { InternalRaftRequest } from '../../pb/types.js';
import { Code, EtcdError } from '../errors.js';
import type { RequestHandler } from './handler.js';

/** The auth state the applier works on: the replicated store and this member's token provider. */
export interface AuthApplyState {
  store: AuthStore;
  tokens: TokenProvider;
}

/** Typed answers of the Auth* requests (the server builds the responses from them). */
export type AuthApplyResult =
  | { kind: 'none' }
  | { kind: 'token'; token: string }
  | { kind: 'status'; enabled: boolean; revision: number }
  | { kind: 'roles'; roles: string[] }
  | { kind: 'users'; users: string[] }
  | { kind: 'perms'; perms: ReturnType<AuthStore['roleGet']> };

/** Who proposed the entry, as its header says (etcd: no header, no user). */
export function authInfoOf(req: InternalRaftRequest): AuthInfo {
  return { username: req.header?.username ?? '', revision: Number(req.header?.authRevision ?? 0n) };
}

/** etcd's needAdminPermission: Auth* changes and the user/role lists need the root role. */
function needsAdmin(req: InternalRaftRequest): boolean {
  return !!(
    req.authEnable || req.authDisable || req.authUserAdd || req.authUserDelete || req.authUserChangePassword ||
    req.authUserGrantRole || req.authUserRevokeRole || req.authRoleAdd || req.authRoleGrantPermission ||
    req.authRoleRevokePermission || req.authRoleDelete || req.authUserList || req.authRoleList
  );
}

const leaseKeysOf = (lessor: Lessor) => (id: bigint): Uint8Array[] => lessor.lookup(toLeaseId(id))?.keys ?? [];

/** The refusal auth gives `req` at apply time, if any (thrown AuthError, returned). */
export function authRefusal(req: InternalRaftRequest, auth: AuthStore, lessor: Lessor): AuthError | undefined {
  if (!auth.enabled) return undefined;
  const ai = authInfoOf(req);
  try {
    if (needsAdmin(req)) auth.isAdminPermitted(ai);
    else if (req.put) checkPut(auth, ai, req.put, leaseKeysOf(lessor));
    else if (req.deleteRange) checkDeleteRange(auth, ai, req.deleteRange);
    else if (req.txn) checkTxn(auth, ai, req.txn, leaseKeysOf(lessor));
    else if (req.leaseRevoke) checkLeaseKeys(auth, ai, req.leaseRevoke.ID, leaseKeysOf(lessor));
    else if (req.authUserGet && req.authUserGet.name !== ai.username) auth.isAdminPermitted(ai);
    else if (req.authRoleGet && !auth.hasRole(ai.username, req.authRoleGet.role)) auth.isAdminPermitted(ai);
    return undefined;
  } catch (err) {
    if (err instanceof AuthError) return err;
    throw err;
  }
}

/** The handler of an Auth* request, or undefined when `req` holds none. */
export function authHandler(req: InternalRaftRequest, auth: AuthApplyState): RequestHandler | undefined {
  const as = auth.store;
  const change = (name: string, fn: (stage: (k: Uint8Array, v: Uint8Array | null) => void) => AuthApplyResult): RequestHandler => ({
    name,
    run: ({ store }, index) => {
      const result = fn((k, v) => store.backend.stageRaw(k, v));
      store.setConsistentIndex(index); // same batch as the auth records
      return result;
    },
  });
  const none: AuthApplyResult = { kind: 'none' };
  if (req.authEnable) return change('authEnable', (st) => (as.authEnable(st), none));
  if (req.authDisable) return change('authDisable', (st) => (as.authDisable(st), none));
  if (req.authStatus) return change('authStatus', () => ({ kind: 'status', enabled: as.enabled, revision: as.revision }));
  if (req.authenticate) {
    const a = req.authenticate;
    return {
      name: 'authenticate',
      run: ({ store }, index) => {
        as.checkAuthenticate(a.name);
        store.setConsistentIndex(index);
        let token: string;
        try {
          token = auth.tokens.assign(a.name, as.revision, { index, prefix: a.simpleToken });
        } catch (err) {
          // A member holding only the public key cannot sign: its proposer's answer, not a fault.
          throw new EtcdError(Code.UNKNOWN, (err as Error).message);
        }
        return { kind: 'token', token } satisfies AuthApplyResult;
      },
    };
  }
  if (req.authUserAdd) {
    const r = req.authUserAdd;
    return change('authUserAdd', (st) => (as.userAdd({ name: r.name, hashedPassword: r.hashedPassword, noPassword: r.options?.noPassword ?? false }, st), none));
  }
  if (req.authUserDelete) return change('authUserDelete', (st) => (as.userDelete(req.authUserDelete!.name, st), none));
  if (req.authUserChangePassword) {
    const r = req.authUserChangePassword;
    return change('authUserChangePassword', (st) => (as.userChangePassword(r.name, r.hashedPassword, st), none));
  }
  if (req.authUserGrantRole) return change('authUserGrantRole', (st) => (as.userGrantRole(req.authUserGrantRole!.user, req.authUserGrantRole!.role, st), none));
  if (req.authUserRevokeRole) return change('authUserRevokeRole', (st) => (as.userRevokeRole(req.authUserRevokeRole!.name, req.authUserRevokeRole!.role, st), none));
  if (req.authUserGet) return change('authUserGet', () => ({ kind: 'roles', roles: as.userGet(req.authUserGet!.name) }));
  if (req.authUserList) return change('authUserList', () => ({ kind: 'users', users: as.userList() }));
  if (req.authRoleAdd) return change('authRoleAdd', (st) => (as.roleAdd(req.authRoleAdd!.name, st), none));
  if (req.authRoleDelete) return change('authRoleDelete', (st) => (as.roleDelete(req.authRoleDelete!.role, st), none));
  if (req.authRoleGet) return change('authRoleGet', () => ({ kind: 'perms', perms: as.roleGet(req.authRoleGet!.role) }));
  if (req.authRoleList) return change('authRoleList', () => ({ kind: 'roles', roles: as.roleList() }));
  if (req.authRoleGrantPermission) {
    const r = req.authRoleGrantPermission;
    return change('authRoleGrantPermission', (st) => {
      const p = r.perm;
      // etcd dereferences a missing perm; refusing it is the safe answer.
      if (!p) throw ErrPermissionDenied();
      const permType = p.permType === PermType.WRITE || p.permType === PermType.READWRITE ? p.permType : PermType.READ;
      as.roleGrantPermission(r.name, { permType, key: p.key, rangeEnd: p.rangeEnd }, st);
      return none;
    });
  }
  if (req.authRoleRevokePermission) {
    const r = req.authRoleRevokePermission;
    return change('authRoleRevokePermission', (st) => (as.roleRevokePermission(r.role, r.key, r.rangeEnd, st), none));
  }
  return undefined;
}
