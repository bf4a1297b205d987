// Auth service (etcd's v3rpc AuthServer): every RPC of etcd 3.4 plus AuthStatus
// (3.5), each one proposed through Raft behind the AuthApi port and answered
// once applied, with etcd's errors (auth/errors.ts). The caller's identity goes
// with the request: the Auth* changes and the lists need the root role.

import type { Logger } from 'pino';
import { PermType } from '../../auth/index.js';
import type * as pb from '../../pb/types.js';
import { Code, EtcdError } from '../errors.js';
import { type CallWithMetadata, callerOf } from './caller.js';
import type { ServiceImplementation } from '../grpc/types.js';
import type { AuthApi, AuthGate, HeaderSource } from './ports.js';
import { unary } from './unary.js';

type Call = CallWithMetadata;
type Handler<Req, Res> = (req: Req, call: Call) => Promise<Res>;

/** Each Auth RPC, keyed by its proto method name. */
export function authHandlers(auth: AuthApi & AuthGate, info: HeaderSource): Record<string, Handler<never, unknown>> {
  const who = (call: Call) => callerOf(auth, call);
  const ok = () => ({ header: info.header() });
  const h = {
    AuthEnable: async (_req: pb.Encodable<Record<string, never>>, call: Call) => (await auth.authEnable(await who(call)), ok()),
    AuthDisable: async (_req: unknown, call: Call) => (await auth.authDisable(await who(call)), ok()),
    AuthStatus: async (_req: unknown, call: Call) => {
      const s = await auth.authStatus(await who(call));
      return { header: info.header(), enabled: s.enabled, authRevision: BigInt(s.revision) };
    },
    Authenticate: async (req: { name: string; password: string }) => {
      const token = await auth.authenticate(req.name, req.password);
      return { header: info.header(), token };
    },
    UserAdd: async (req: pb.AuthUserAddRequest, call: Call) =>
      (await auth.userAdd(req.name, req.password, req.options?.noPassword ?? false, await who(call)), ok()),
    UserGet: async (req: { name: string }, call: Call) => ({ header: info.header(), roles: await auth.userGet(req.name, await who(call)) }),
    UserList: async (_req: unknown, call: Call) => ({ header: info.header(), users: await auth.userList(await who(call)) }),
    UserDelete: async (req: { name: string }, call: Call) => (await auth.userDelete(req.name, await who(call)), ok()),
    UserChangePassword: async (req: pb.AuthUserChangePasswordRequest, call: Call) =>
      (await auth.userChangePassword(req.name, req.password, await who(call)), ok()),
    UserGrantRole: async (req: pb.AuthUserGrantRoleRequest, call: Call) => (await auth.userGrantRole(req.user, req.role, await who(call)), ok()),
    UserRevokeRole: async (req: pb.AuthUserRevokeRoleRequest, call: Call) => (await auth.userRevokeRole(req.name, req.role, await who(call)), ok()),
    RoleAdd: async (req: { name: string }, call: Call) => (await auth.roleAdd(req.name, await who(call)), ok()),
    RoleGet: async (req: { role: string }, call: Call) => {
      const perms = await auth.roleGet(req.role, await who(call));
      return { header: info.header(), perm: perms.map((p) => ({ permType: p.permType, key: Buffer.from(p.key), rangeEnd: Buffer.from(p.rangeEnd) })) };
    },
    RoleList: async (_req: unknown, call: Call) => ({ header: info.header(), roles: await auth.roleList(await who(call)) }),
    RoleDelete: async (req: { role: string }, call: Call) => (await auth.roleDelete(req.role, await who(call)), ok()),
    RoleGrantPermission: async (req: pb.AuthRoleGrantPermissionRequest, call: Call) => {
      const p = req.perm;
      // etcd 3.4 crashes on a grant without a permission; refuse it instead.
      if (!p) throw new EtcdError(Code.INVALID_ARGUMENT, 'etcdserver: permission is not provided');
      await auth.roleGrantPermission(req.name, { permType: p.permType as PermType, key: p.key, rangeEnd: p.rangeEnd }, await who(call));
      return ok();
    },
    RoleRevokePermission: async (req: pb.AuthRoleRevokePermissionRequest, call: Call) =>
      (await auth.roleRevokePermission(req.role, req.key, req.rangeEnd, await who(call)), ok()),
  };
  return h as unknown as Record<string, Handler<never, unknown>>;
}

export function authService(auth: AuthApi & AuthGate, info: HeaderSource, logger: Logger): ServiceImplementation {
  const out: ServiceImplementation = {};
  for (const [method, handler] of Object.entries(authHandlers(auth, info))) {
    out[method] = unary<unknown, unknown>(logger, (req, call) => handler(req as never, call));
  }
  return out;
}
