// Wraps an async handler as a grpc-js unary handler: thrown errors become the
// gRPC status and message etcd would send.

import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { Code, toEtcdError } from '../errors.js';

export function unary<Req, Res>(
  logger: Logger,
  fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request, call).then(
      (res) => callback(null, res),
      (err: unknown) => {
        const e = toEtcdError(err);
        if (e.code === Code.UNKNOWN) logger.error({ err }, 'request failed');
        callback({ code: e.code, details: e.message, metadata: new grpc.Metadata() } as grpc.ServiceError);
      },
    );
  };
}
