// A learner serves almost no client RPCs (etcd's v3rpc interceptors): unary
// calls other than Status and serializable Range, and every stream but Snapshot,
// fail with "etcdserver: rpc not supported for learner" — Unavailable, as etcd
// 3.4.23 answers it (recorded; 3.5+ says FailedPrecondition).

import { Status, statusError } from '../grpc/status.js';
import type { MethodDefinition, ServiceImplementation, StreamCall, StreamHandler, UnaryCall, UnaryCallback, UnaryHandler } from '../grpc/types.js';
import { wrapHandlers } from './wrap-handlers.js';

const DETAILS = 'etcdserver: rpc not supported for learner';

function supported(service: string, method: string, req: unknown): boolean {
  if (service === 'Maintenance' && method === 'Status') return true;
  if (service === 'KV' && method === 'Range') return (req as { serializable?: boolean }).serializable === true;
  return false;
}

const refusal = () => statusError(Status.UNAVAILABLE, DETAILS);

/** Wraps every handler of one service with the learner check. */
export function guardForLearner(
  service: string,
  def: Readonly<Record<string, MethodDefinition>>,
  impl: ServiceImplementation,
  isLearner: () => boolean,
): ServiceImplementation {
  return wrapHandlers(def, impl, (method, attrs, handler) => {
    if (attrs.responseStream) {
      if (service === 'Maintenance' && method === 'Snapshot') return handler;
      const h = handler as StreamHandler;
      return (call: StreamCall<unknown, unknown>) => (isLearner() ? call.fail(refusal()) : h(call));
    }
    const h = handler as UnaryHandler;
    if (attrs.requestStream) {
      return (call: UnaryCall<unknown>, cb: UnaryCallback<unknown>) => (isLearner() ? cb(refusal()) : h(call, cb));
    }
    return (call: UnaryCall<unknown>, cb: UnaryCallback<unknown>) => {
      if (isLearner() && !supported(service, method, call.request)) return cb(refusal());
      return h(call, cb);
    };
  });
}
