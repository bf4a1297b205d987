// How the Lock and Election services report failures. etcd runs them over an
// in-process clientv3, which turns every server error into a plain error value
// that grpc-go then sends as status Unknown with the same text (recorded with
// etcd 3.4.23: a Lock on a missing lease answers Unknown "etcdserver: requested
// lease not found", not NotFound).

import type { Logger } from 'pino';
import type { AuthInfo } from '../../auth/index.js';
import { Code, EtcdError, toEtcdError } from '../errors.js';
import type { UnaryCall, UnaryHandler } from '../grpc/types.js';
import { callerOf, type CallWithMetadata } from './caller.js';
import type { AuthGate } from './ports.js';

/** A failure as these services answer it; `unexpected`: no layer recognised the error (worth a log line). */
export class RecipeError extends EtcdError {
  constructor(code: number, message: string, readonly unexpected: boolean, readonly original?: unknown) {
    super(code, message);
  }
}

export function recipeError(err: unknown, signal?: AbortSignal): RecipeError {
  if (err instanceof RecipeError) return err;
  if (signal?.aborted) return new RecipeError(Code.CANCELLED, 'context canceled', false);
  const known = toEtcdError(err);
  const unexpected = !(err instanceof EtcdError) && known.code === Code.UNKNOWN;
  return new RecipeError(Code.UNKNOWN, known.message, unexpected, err);
}

/**
 * A unary handler whose failures are answered as recipeError says; only
 * unexpected ones are logged ("election: no leader" is an answer, not a fault).
 */
export function recipeUnary<Req, Res>(logger: Logger, fn: (req: Req, call: UnaryCall<Req>) => Promise<Res>): UnaryHandler<Req, Res> {
  return (call, callback) => {
    fn(call.request, call).then(
      (res) => callback(null, res),
      (err: unknown) => {
        const e = recipeError(err);
        if (e.unexpected) logger.error({ err: e.original }, 'request failed');
        callback({ code: e.code, details: e.message });
      },
    );
  };
}

/** The caller of a Lock or Election call; a bad token fails as every other error does (status Unknown). */
export async function identify(gate: AuthGate, call: CallWithMetadata): Promise<AuthInfo | undefined> {
  try {
    return await callerOf(gate, call);
  } catch (err) {
    throw recipeError(err);
  }
}
