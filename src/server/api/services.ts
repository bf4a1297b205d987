// grpc-js service definitions for the etcd v3 API, built from our protos and
// the compiled codecs (so handlers receive and return the plain objects of
// types.ts, never protobufjs instances).

import * as grpc from '@grpc/grpc-js';
import { messageCodec } from '../../pb/registry.js';
import { withRawBytes } from '../../pb/raw.js';
import { schema } from '../../pb/schema.js';

export interface ApiServices {
  KV: grpc.ServiceDefinition;
  Watch: grpc.ServiceDefinition;
  Lease: grpc.ServiceDefinition;
  Cluster: grpc.ServiceDefinition;
  Maintenance: grpc.ServiceDefinition;
  Auth: grpc.ServiceDefinition;
  Lock: grpc.ServiceDefinition;
  Election: grpc.ServiceDefinition;
}

/** Short service name -> fully qualified proto service (the gRPC path prefix). */
export const SERVICE_NAMES: Readonly<Record<keyof ApiServices, string>> = {
  KV: 'etcdserverpb.KV',
  Watch: 'etcdserverpb.Watch',
  Lease: 'etcdserverpb.Lease',
  Cluster: 'etcdserverpb.Cluster',
  Maintenance: 'etcdserverpb.Maintenance',
  Auth: 'etcdserverpb.Auth',
  Lock: 'v3lockpb.Lock',
  Election: 'v3electionpb.Election',
};

/** Builds one grpc-js ServiceDefinition (keys are the proto method names, e.g. "Range"). */
export function serviceDefinition(fullName: string): grpc.ServiceDefinition {
  const svc = schema().lookupService(fullName);
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const m of svc.methodsArray) {
    m.resolve();
    const req = messageCodec(m.resolvedRequestType!.fullName.slice(1));
    const res = messageCodec(m.resolvedResponseType!.fullName.slice(1));
    def[m.name] = {
      path: `/${fullName}/${m.name}`,
      requestStream: !!m.requestStream,
      responseStream: !!m.responseStream,
      requestSerialize: (v: unknown) => req.encode(v as never),
      requestDeserialize: (b: Buffer) => withRawBytes(req.decode(b), b),
      responseSerialize: (v: unknown) => res.encode(v as never),
      responseDeserialize: (b: Buffer) => res.decode(b),
      // grpc-js also accepts implementations keyed by the lowerCamel name.
      originalName: m.name.charAt(0).toLowerCase() + m.name.slice(1),
    };
  }
  return def as grpc.ServiceDefinition;
}

let services: ApiServices | undefined;

/** All eight services, built once. */
export function apiServices(): ApiServices {
  if (services) return services;
  const out = {} as ApiServices;
  for (const k of Object.keys(SERVICE_NAMES) as (keyof ApiServices)[]) {
    out[k] = serviceDefinition(SERVICE_NAMES[k]);
  }
  return (services = out);
}

/**
 * Handlers answering every method of `def` with status UNIMPLEMENTED and the
 * message "etcd-ts: <serviceName>.<Method> is not implemented yet". Lets the
 * server register all services from day one and fill them in one by one
 * (spread real handlers over these).
 */
export function unimplementedHandlers(
  def: grpc.ServiceDefinition,
  serviceName: string,
): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [method, attrs] of Object.entries(def)) {
    const error = (): grpc.ServiceError =>
      Object.assign(new Error(`etcd-ts: ${serviceName}.${method} is not implemented yet`), {
        code: grpc.status.UNIMPLEMENTED,
        details: `etcd-ts: ${serviceName}.${method} is not implemented yet`,
        metadata: new grpc.Metadata(),
      });
    if (attrs.responseStream) {
      // Server-streaming and bidi calls: an 'error' event ends the call with that status.
      impl[method] = ((call: grpc.ServerWritableStream<unknown, unknown>) => {
        call.emit('error', error());
      }) as grpc.UntypedHandleCall;
    } else {
      // Unary and client-streaming calls answer through the callback.
      impl[method] = ((_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
        callback(error());
      }) as grpc.UntypedHandleCall;
    }
  }
  return impl;
}
