// Wraps an async handler as a unary gRPC handler: thrown errors become the
// gRPC status and message etcd would send.

import type { Logger } from 'pino';
import { Code, toEtcdError } from '../errors.js';
import type { UnaryCall, UnaryHandler } from '../grpc/types.js';

export function unary<Req, Res>(
  logger: Logger,
  fn: (req: Req, call: UnaryCall<Req>) => Promise<Res>,
): UnaryHandler<Req, Res> {
  return (call, callback) => {
    fn(call.request, call).then(
      (res) => callback(null, res),
      (err: unknown) => {
        const e = toEtcdError(err);
        if (e.code === Code.UNKNOWN) logger.error({ err }, 'request failed');
        callback({ code: e.code, details: e.message });
      },
    );
  };
}
