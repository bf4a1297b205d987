// A learner serves almost no client RPCs (etcd's v3rpc interceptors): unary
// calls other than Status and serializable Range, and every stream but Snapshot,
// fail with "etcdserver: rpc not supported for learner" — Unavailable, as etcd
// 3.4.23 answers it (recorded; 3.5+ says FailedPrecondition).

import * as grpc from '@grpc/grpc-js';
import { wrapHandlers } from './wrap-handlers.js';

const DETAILS = 'etcdserver: rpc not supported for learner';

function supported(service: string, method: string, req: unknown): boolean {
  if (service === 'Maintenance' && method === 'Status') return true;
  if (service === 'KV' && method === 'Range') return (req as { serializable?: boolean }).serializable === true;
  return false;
}

const refusal = (): grpc.ServiceError =>
  Object.assign(new Error(DETAILS), { code: grpc.status.UNAVAILABLE, details: DETAILS, metadata: new grpc.Metadata() });

/** Wraps every handler of one service with the learner check. */
export function guardForLearner(
  service: string,
  def: grpc.ServiceDefinition,
  impl: grpc.UntypedServiceImplementation,
  isLearner: () => boolean,
): grpc.UntypedServiceImplementation {
  return wrapHandlers(def, impl, (method, attrs, handler) => {
    if (attrs.responseStream || attrs.requestStream) {
      if (service === 'Maintenance' && method === 'Snapshot') return handler;
      return ((call: grpc.ServerDuplexStream<unknown, unknown>, cb?: grpc.sendUnaryData<unknown>) => {
        if (!isLearner()) return (handler as (...a: unknown[]) => void)(call, cb);
        if (cb) return cb(refusal());
        call.emit('error', refusal());
      }) as grpc.UntypedHandleCall;
    }
    return ((call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      if (isLearner() && !supported(service, method, call.request)) return cb(refusal());
      return (handler as (...a: unknown[]) => void)(call, cb);
    }) as grpc.UntypedHandleCall;
  });
}
