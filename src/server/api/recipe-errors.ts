// How the Lock and Election services report failures. etcd runs them over an
// in-process clientv3, which turns every server error into a plain error value
// that grpc-go then sends as status Unknown with the same text (recorded with
// etcd 3.4.23: a Lock on a missing lease answers Unknown "etcdserver: requested
// lease not found", not NotFound).

import type { AuthInfo } from '../../auth/index.js';
import { Code, EtcdError, toEtcdError } from '../errors.js';
import { callerOf, type CallWithMetadata } from './caller.js';
import type { AuthGate } from './ports.js';

export function recipeError(err: unknown, signal?: AbortSignal): EtcdError {
  if (signal?.aborted) return new EtcdError(Code.CANCELLED, 'context canceled');
  return new EtcdError(Code.UNKNOWN, toEtcdError(err).message);
}

/** The caller of a Lock or Election call; a bad token fails as every other error does (status Unknown). */
export async function identify(gate: AuthGate, call: CallWithMetadata): Promise<AuthInfo | undefined> {
  try {
    return await callerOf(gate, call);
  } catch (err) {
    throw recipeError(err);
  }
}
