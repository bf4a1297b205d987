// How users, roles, the enabled flag and the auth revision are kept in the
// backend (mvcc/keyspace.ts buckets 'u' and 'r', meta keys authEnabled and
// authRevision), in etcd's encodings: authpb.User / authpb.Role values, the
// revision as 8 big-endian bytes, the flag as one byte.

import { AUTH_ROLE_PREFIX, AUTH_USER_PREFIX } from '../mvcc/index.js';
import { messageCodec } from '../pb/registry.js';
import type { Permission, PermType, Role, User } from './types.js';

interface PbUser {
  name: Buffer;
  password: Buffer;
  roles: string[];
  options: { noPassword: boolean } | undefined;
}

interface PbRole {
  name: Buffer;
  keyPermission: { permType: number; key: Buffer; rangeEnd: Buffer }[];
}

const userCodec = () => messageCodec<PbUser>('authpb.User');
const roleCodec = () => messageCodec<PbRole>('authpb.Role');
const enc = new TextEncoder();

function prefixed(prefix: number, name: string): Uint8Array {
  const n = enc.encode(name);
  const k = new Uint8Array(n.length + 1);
  k[0] = prefix;
  k.set(n, 1);
  return k;
}

export const userKey = (name: string): Uint8Array => prefixed(AUTH_USER_PREFIX, name);
export const roleKey = (name: string): Uint8Array => prefixed(AUTH_ROLE_PREFIX, name);

export function encodeUser(u: User): Uint8Array {
  return userCodec().encode({
    name: Buffer.from(u.name),
    password: Buffer.from(u.password),
    roles: u.roles,
    options: { noPassword: u.noPassword },
  });
}

export function decodeUser(b: Uint8Array): User {
  const u = userCodec().decode(b);
  return {
    name: u.name.toString(),
    password: u.password.toString(),
    roles: [...u.roles].sort(),
    noPassword: u.options?.noPassword ?? false,
  };
}

export function encodeRole(r: Role): Uint8Array {
  return roleCodec().encode({
    name: Buffer.from(r.name),
    keyPermission: r.permissions.map((p) => ({ permType: p.permType, key: Buffer.from(p.key), rangeEnd: Buffer.from(p.rangeEnd) })),
  });
}

export function decodeRole(b: Uint8Array): Role {
  const r = roleCodec().decode(b);
  const permissions: Permission[] = r.keyPermission.map((p) => ({
    permType: p.permType as PermType,
    key: new Uint8Array(p.key),
    rangeEnd: new Uint8Array(p.rangeEnd),
  }));
  return { name: r.name.toString(), permissions };
}

export function encodeRevision(rev: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(rev));
  return b;
}

export function decodeRevision(b: Uint8Array | undefined): number {
  if (!b || b.length !== 8) return 0;
  return Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0));
}
