// One place that wraps every handler of a service (as etcd's v3rpc
// interceptors wrap every RPC): the learner guard and the handling-time metrics
// both go through it. A handler the definition does not name is passed on as is.

import type { Handler, MethodDefinition, ServiceImplementation } from '../grpc/types.js';

export type HandlerWrapper = (method: string, attrs: MethodDefinition, handler: Handler) => Handler;

export function wrapHandlers(
  def: Readonly<Record<string, MethodDefinition>>,
  impl: ServiceImplementation,
  wrap: HandlerWrapper,
): ServiceImplementation {
  const out: ServiceImplementation = {};
  for (const [method, handler] of Object.entries(impl)) {
    const attrs = def[method];
    out[method] = attrs ? wrap(method, attrs, handler) : handler;
  }
  return out;
}
