// TLS for the load generator's KV connections (--cacert, --cert, --key, as etcd's
// benchmark tool names them): the files read once, for grpc-js credentials or
// node:http2's connect options.

import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import type { SecureContextOptions } from 'node:tls';

export interface ClientTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** Undefined when no TLS flag was given (plaintext, as before). */
export function clientTls(opts: { cacert: string; cert: string; key: string }): ClientTls | undefined {
  if (!opts.cacert && !opts.cert && !opts.key) return undefined;
  if (Boolean(opts.cert) !== Boolean(opts.key)) throw new Error('--cert and --key go together');
  return {
    ...(opts.cacert ? { ca: readFileSync(opts.cacert) } : {}),
    ...(opts.cert ? { cert: readFileSync(opts.cert), key: readFileSync(opts.key) } : {}),
  };
}

export function grpcCredentials(t: ClientTls | undefined): grpc.ChannelCredentials {
  return t ? grpc.credentials.createSsl(t.ca ?? null, t.key ?? null, t.cert ?? null) : grpc.credentials.createInsecure();
}

export function h2Options(t: ClientTls): SecureContextOptions & { ALPNProtocols: string[] } {
  return { ...t, ALPNProtocols: ['h2'] };
}
