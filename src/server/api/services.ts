// The etcd v3 API's service definitions, built from our protos and the compiled
// codecs (so handlers receive and return the plain objects of types.ts, never
// protobufjs instances). Each method serves our gRPC server (decodeRequest,
// encodeResponse straight into a framed buffer) and has the fields grpc-js's
// client needs (requestSerialize, responseDeserialize...), which the tests and
// the bench load generator use to call us.

import { messageCodec } from '../../pb/registry.js';
import { withRawBytes } from '../../pb/raw.js';
import { schema } from '../../pb/schema.js';
import { PREFIX_BYTES } from '../grpc/framing.js';
import { Status, statusError } from '../grpc/status.js';
import type { MethodDefinition, ServiceImplementation, StreamCall, UnaryCallback } from '../grpc/types.js';

/** One method: our server's definition plus grpc-js's client fields. */
export interface ApiMethod<Req = any, Res = any> extends MethodDefinition<Req, Res> {
  requestSerialize(v: Req): Buffer;
  requestDeserialize(b: Buffer): Req;
  responseSerialize(v: Res): Buffer;
  responseDeserialize(b: Buffer): Res;
  /** grpc-js clients also get the method under its lowerCamel name. */
  originalName: string;
}

export type ApiServiceDefinition = Record<string, ApiMethod>;

export interface ApiServices {
  KV: ApiServiceDefinition;
  Watch: ApiServiceDefinition;
  Lease: ApiServiceDefinition;
  Cluster: ApiServiceDefinition;
  Maintenance: ApiServiceDefinition;
  Auth: ApiServiceDefinition;
  Lock: ApiServiceDefinition;
  Election: ApiServiceDefinition;
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

/** Builds one service's definition (keys are the proto method names, e.g. "Range"). */
export function serviceDefinition(fullName: string): ApiServiceDefinition {
  const svc = schema().lookupService(fullName);
  const def: ApiServiceDefinition = {};
  for (const m of svc.methodsArray) {
    m.resolve();
    const req = messageCodec(m.resolvedRequestType!.fullName.slice(1));
    const res = messageCodec(m.resolvedResponseType!.fullName.slice(1));
    const decodeRequest = (b: Buffer): unknown => withRawBytes(req.decode(b), b);
    def[m.name] = {
      path: `/${fullName}/${m.name}`,
      requestStream: !!m.requestStream,
      responseStream: !!m.responseStream,
      decodeRequest,
      encodeResponse: (v: unknown) => {
        const out = res.encodeAfter(v as never, PREFIX_BYTES);
        out[0] = 0;
        out.writeUInt32BE(out.length - PREFIX_BYTES, 1);
        return out;
      },
      requestSerialize: (v: unknown) => req.encode(v as never),
      requestDeserialize: decodeRequest,
      responseSerialize: (v: unknown) => res.encode(v as never),
      responseDeserialize: (b: Buffer) => res.decode(b),
      originalName: m.name.charAt(0).toLowerCase() + m.name.slice(1),
    };
  }
  return def;
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
export function unimplementedHandlers(def: ApiServiceDefinition, serviceName: string): ServiceImplementation {
  const impl: ServiceImplementation = {};
  for (const [method, attrs] of Object.entries(def)) {
    const error = () => statusError(Status.UNIMPLEMENTED, `etcd-ts: ${serviceName}.${method} is not implemented yet`);
    if (attrs.responseStream) {
      impl[method] = (call: StreamCall<unknown, unknown>) => call.fail(error());
    } else {
      impl[method] = (_call: unknown, callback: UnaryCallback<unknown>) => callback(error());
    }
  }
  return impl;
}
