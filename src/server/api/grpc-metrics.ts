// --metrics extensive: every client RPC's handling time goes into
// go-grpc-prometheus's grpc_server_handling_seconds histogram, labelled as it
// labels them (grpc_type unary | client_stream | server_stream | bidi_stream,
// grpc_service "etcdserverpb.KV", grpc_method "Range"). Unary and client-stream
// calls end when the handler answers; server and bidi streams when the call ends
// (finished, cancelled or failed), as the Go interceptor's handler returns then.

import type { CallBase, MethodDefinition, ServiceImplementation, StreamHandler, UnaryCallback, UnaryHandler } from '../grpc/types.js';
import { wrapHandlers } from './wrap-handlers.js';

/** What the wrapper observes into: a series per method, resolved on the method's first completed call (a SeriesHistogram with these labels fits). */
export interface HandlingHistogram {
  series(labels: { grpc_type: string; grpc_service: string; grpc_method: string }): { observe(seconds: number): void };
}

export function grpcType(attrs: { requestStream: boolean; responseStream: boolean }): string {
  if (attrs.requestStream && attrs.responseStream) return 'bidi_stream';
  if (attrs.requestStream) return 'client_stream';
  if (attrs.responseStream) return 'server_stream';
  return 'unary';
}

/** The service's handlers, each timed into `histogram`; `now` is in ms (default performance.now). */
export function instrumentService(
  def: Readonly<Record<string, MethodDefinition>>,
  impl: ServiceImplementation,
  histogram: HandlingHistogram,
  now: () => number = () => performance.now(),
): ServiceImplementation {
  return wrapHandlers(def, impl, (method, attrs, handler) => {
    // path: /etcdserverpb.KV/Range
    const [, service = '', name = method] = attrs.path.split('/');
    const labels = { grpc_type: grpcType(attrs), grpc_service: service, grpc_method: name };
    // Resolved on first use: a method never called exports no series (as with prom-client's Histogram before).
    let series: { observe(seconds: number): void } | undefined;
    const observe = (seconds: number) => (series ??= histogram.series(labels)).observe(seconds);
    if (!attrs.responseStream) {
      // unary and client streams: done when the callback is called.
      const h = handler as UnaryHandler;
      return (call, cb: UnaryCallback<unknown>) => {
        const t0 = now();
        return h(call, (err, res) => {
          observe((now() - t0) / 1000);
          return cb(err, res);
        });
      };
    }
    // Server and bidi streams: done when the call ends ('close' comes once, however it ends).
    const h = handler as StreamHandler;
    return ((call: CallBase) => {
      const t0 = now();
      call.once('close', () => observe((now() - t0) / 1000));
      return h(call as never);
    }) as StreamHandler;
  });
}
