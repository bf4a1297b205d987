// Who is calling, by the client certificate its connection presented (etcd uses
// the verified certificate's Common Name as the user when auth is enabled and no
// token is given). Recorded per connection by the TLS acceptor once every check
// passed (CA, CRL, allowed CN/hostname), so a socket that reaches a handler with
// an identity has a verified certificate. The auth layer reads it through
// identityOfSocket (HTTP: req.socket) or identityOfCall (a call on src/server/grpc).

import type { PeerCertificate } from 'node:tls';

export interface CallerIdentity {
  /** The certificate subject's CN; '' when it has none (etcd then has no user from TLS). */
  readonly commonName: string;
}

const identities = new WeakMap<object, CallerIdentity>();

export function recordIdentity(socket: object, cert: PeerCertificate): void {
  const cn = cert.subject?.CN;
  identities.set(socket, { commonName: Array.isArray(cn) ? (cn[0] ?? '') : (cn ?? '') });
}

/** The verified client certificate's identity of the connection `socket` (a TLSSocket the acceptor let in). */
export function identityOfSocket(socket: object | null | undefined): CallerIdentity | undefined {
  return socket ? identities.get(socket) : undefined;
}

/** The same for a call on our gRPC server (src/server/grpc), through its connection's socket. */
export function identityOfCall(call: { connectionSocket(): object | undefined }): CallerIdentity | undefined {
  return identityOfSocket(call.connectionSocket());
}
