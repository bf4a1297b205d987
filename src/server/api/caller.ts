// Who a call comes from, as the adapters see it: the credentials a gRPC call
// carries (etcd's rpctypes.TokenFieldNameGRPC "token", or the gateway's
// "authorization"), resolved through the AuthGate port. A handler calls
// `callerOf(gate, call)` at its top and passes the result to its port.

import { AuthError, type AuthInfo } from '../../auth/index.js';
import { Code, EtcdError } from '../errors.js';
import { identityOfSocket } from '../tls/caller-identity.js';
import type { AuthGate, CallCredentials } from './ports.js';

/**
 * What the adapters read from a call: its custom headers (grpc-js's Metadata and
 * the client port's own gRPC server both fit), so this module needs neither.
 */
export interface CallWithMetadata {
  readonly metadata?: { get(key: string): unknown[] };
  /** A call on the client port's gRPC server: its connection, where TLS recorded a verified client certificate. */
  connectionSocket?(): object | undefined;
}

/**
 * The credentials of a call. `commonName`: the CN of the client certificate the
 * TLS layer verified (etcd uses it as the user name when the call carries no
 * token); by default, what the TLS acceptor recorded for the call's connection
 * (tls/caller-identity.ts: only a certificate that passed every check).
 */
export function credentialsOf(call: CallWithMetadata, commonName = certificateName(call)): CallCredentials {
  const md = call.metadata;
  const token = md?.get('token')[0] ?? md?.get('authorization')[0];
  const creds: CallCredentials = {};
  if (token !== undefined) creds.token = String(token);
  if (commonName) creds.commonName = commonName;
  return creds;
}

function certificateName(call: CallWithMetadata): string | undefined {
  return call.connectionSocket ? identityOfSocket(call.connectionSocket())?.commonName : undefined;
}

/** The caller of `call` (undefined: auth off, or nothing presented); throws "invalid auth token". */
export function callerOf(gate: AuthGate, call: CallWithMetadata, commonName?: string): AuthInfo | undefined | Promise<AuthInfo | undefined> {
  if (!gate.enabled) return undefined;
  return gate.identify(credentialsOf(call, commonName));
}

/**
 * `fn` with the caller of each call: called at once when the gate answers at once
 * (always with auth off), so a request costs no async frame and no microtask hop
 * here. A synchronous exception (an invalid token, a handler that throws) becomes
 * the returned promise's rejection, as it would in an async function.
 */
export function withCaller<Req, Res>(
  gate: AuthGate,
  fn: (req: Req, who: AuthInfo | undefined) => Promise<Res>,
): (req: Req, call: CallWithMetadata) => Promise<Res> {
  return (req, call) => {
    try {
      const who = callerOf(gate, call);
      return who instanceof Promise ? who.then((w) => fn(req, w)) : fn(req, who);
    } catch (err) {
      return Promise.reject(err);
    }
  };
}

/** A gate for a member without auth (tests, tools): everyone passes. */
export const OPEN_GATE: AuthGate = {
  enabled: false,
  identify: () => undefined,
  checkRange: () => {},
  checkAdmin: () => {},
  checkLeaseKeys: () => {},
};

/**
 * etcd 3.4's Maintenance service checks the caller and answers with the auth
 * store's error unconverted: Unknown, "auth: permission denied" (recorded:
 * `etcdctl defrag` as a non-root user). Wrap its identify and admin check in this.
 */
export async function unconvertedAuthErrors<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AuthError) throw new EtcdError(Code.UNKNOWN, err.storeMessage);
    throw err;
  }
}
