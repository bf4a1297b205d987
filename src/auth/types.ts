// The auth store's records (authpb.User, authpb.Role) and who a request comes from.

import { PermissionType } from '../pb/types.js';

/** authpb.Permission.Type: the wire enum, under the name the auth code uses. */
export const PermType = PermissionType;
export type PermType = PermissionType;

/**
 * Access to a key (rangeEnd empty), a range [key, rangeEnd), or every key from
 * `key` on (rangeEnd "\0", etcdctl --from-key). A prefix is a range whose end is
 * the prefix plus one (etcdctl --prefix computes it).
 */
export interface Permission {
  permType: PermType;
  key: Uint8Array;
  rangeEnd: Uint8Array;
}

export interface User {
  name: string;
  /** bcrypt hash ("$2a$10$..."); empty for a --no-password user. */
  password: string;
  /** Sorted, as etcd keeps them (the root check is a binary search there). */
  roles: string[];
  noPassword: boolean;
}

export interface Role {
  name: string;
  /** Sorted by key, as etcd keeps them. */
  permissions: Permission[];
}

/**
 * Who a request comes from and the auth revision its credentials were checked
 * against (etcd's AuthInfo). Revision 0 means no credentials: with auth enabled
 * every check then fails with "user name is empty".
 */
export interface AuthInfo {
  username: string;
  revision: number;
  /**
   * The revision came signed in the token (a JWT's claim). Otherwise (a simple
   * token, a client certificate) it is the auth store's revision at the lookup,
   * and a lookup made later gives the later revision: see atLookup.
   */
  signed?: true;
  /**
   * The simple token it was found by. A later lookup asks the provider again, as
   * etcd's AuthInfoFromCtx after a read's barrier does: the token may be gone by
   * then (its user deleted or its password changed meanwhile, or its TTL out).
   */
  token?: string;
}

/**
 * The caller as a lookup of its credentials now would find it, with the auth
 * store at `storeRevision`: a simple token's or a certificate's revision is the
 * store's; a JWT's is its own. etcd takes a linearizable read's caller only after
 * the read's barrier, so an auth change committed before the read does not make
 * the read fail with "revision of auth store is old".
 */
export function atLookup(who: AuthInfo | undefined, storeRevision: number): AuthInfo | undefined {
  if (who === undefined || who.signed || who.revision === 0 || who.revision === storeRevision) return who;
  return { username: who.username, revision: storeRevision };
}

/**
 * What a call presents to prove who it is: a token (gRPC metadata `token`, or
 * `authorization` from the JSON gateway), and the common name of a client
 * certificate the TLS layer verified with --client-cert-auth (etcd then takes
 * the CN as the user name when no token is given).
 */
export interface CallCredentials {
  token?: string;
  commonName?: string;
}

export const ROOT_USER = 'root';
export const ROOT_ROLE = 'root';

/**
 * A request the member makes on its own (the leader revoking an expired lease):
 * it acts as root, as etcd's WithRoot does. Its revision is never older than the
 * store's — the server vouches for it, not a token — and while auth is on the
 * root user exists and holds the root role (neither can be removed then).
 */
export const SERVER_AS_ROOT: AuthInfo = Object.freeze({ username: ROOT_USER, revision: Number.MAX_SAFE_INTEGER });
