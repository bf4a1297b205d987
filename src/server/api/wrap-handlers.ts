// One place that wraps every handler of a grpc-js service (as etcd's v3rpc
// interceptors wrap every RPC): the learner guard and the handling-time metrics
// both go through it. A handler the definition does not name is passed on as is.

import type * as grpc from '@grpc/grpc-js';

export type HandlerWrapper = (
  method: string,
  attrs: grpc.MethodDefinition<unknown, unknown>,
  handler: grpc.UntypedHandleCall,
) => grpc.UntypedHandleCall;

export function wrapHandlers(
  def: grpc.ServiceDefinition,
  impl: grpc.UntypedServiceImplementation,
  wrap: HandlerWrapper,
): grpc.UntypedServiceImplementation {
  const out: grpc.UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(impl)) {
    const attrs = def[method];
    out[method] = attrs ? wrap(method, attrs, handler) : handler;
  }
  return out;
}
