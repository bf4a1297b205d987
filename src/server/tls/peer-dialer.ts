// How to dial a peer URL: the one place that knows http:// from https:// and
// which TLS material a member presents to its peers (--peer-cert-file and
// friends, or --peer-auto-tls's self-signed pair). The gRPC peer clients take
// channel credentials from it; a plain-socket stream takes connect options (or
// connect()). Credentials follow the reloaded files: `generation` moves on each
// reload, and a client made earlier should be rebuilt at its next (re)connect.

import * as grpc from '@grpc/grpc-js';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ReloadingTls } from './reloading-tls.js';

export type PeerSocketOptions =
  | { secure: false; options: net.TcpNetConnectOpts }
  | { secure: true; options: tls.ConnectionOptions };

export interface PeerDialer {
  /** host:port of a peer URL (gRPC's target); throws for a URL that is neither http:// nor https://. */
  target(url: string): string;
  /** gRPC channel credentials for the URL: insecure for http://, TLS with the peer material for https://. */
  grpcCredentials(url: string): grpc.ChannelCredentials;
  /** For a plain-socket stream: net.connect or tls.connect options (ALPN http/1.1). */
  socketOptions(url: string): PeerSocketOptions;
  /** Dials the URL with socketOptions(); for https:// the socket is a TLSSocket ('secureConnect' when ready). */
  connect(url: string): net.Socket;
  /** Moves when the peer TLS files are reloaded. */
  readonly generation: number;
}

export interface PeerDialTls {
  source: ReloadingTls;
  /** --peer-auto-tls: the peers' certificates are self-signed, so they are not verified (etcd: InsecureSkipVerify). */
  skipVerify: boolean;
}

function parse(url: string): { secure: boolean; host: string; port: number } {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`peer URL ${url}: the scheme must be http or https`);
  const secure = u.protocol === 'https:';
  return { secure, host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || (secure ? 443 : 80)) };
}

/** Without peer TLS material, https:// peers are still dialed with TLS (Node's CA store), as Go's default config would. */
export function peerDialer(peerTls?: PeerDialTls): PeerDialer {
  let cached: { gen: number; creds: grpc.ChannelCredentials } | undefined;
  const generation = (): number => peerTls?.source.generation ?? 0;
  const contextOptions = (): tls.SecureContextOptions => peerTls?.source.current.context ?? { minVersion: 'TLSv1.2' };
  const verify = (): grpc.VerifyOptions =>
    peerTls?.skipVerify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {};
  return {
    target(url) {
      const { host, port } = parse(url);
      return `${host.includes(':') ? `[${host}]` : host}:${port}`;
    },
    grpcCredentials(url) {
      if (!parse(url).secure) return grpc.credentials.createInsecure();
      if (cached === undefined || cached.gen !== generation()) {
        cached = { gen: generation(), creds: grpc.credentials.createFromSecureContext(tls.createSecureContext(contextOptions()), verify()) };
      }
      return cached.creds;
    },
    socketOptions(url) {
      const { secure, host, port } = parse(url);
      if (!secure) return { secure: false, options: { host, port, noDelay: true } };
      return {
        secure: true,
        options: {
          host,
          port,
          noDelay: true,
          ...(net.isIP(host) ? {} : { servername: host }),
          secureContext: tls.createSecureContext(contextOptions()),
          ALPNProtocols: ['http/1.1'],
          ...(peerTls?.skipVerify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {}),
        },
      };
    },
    connect(url) {
      const o = this.socketOptions(url);
      return o.secure ? tls.connect(o.options) : net.connect(o.options);
    },
    get generation() {
      return generation();
    },
  };
}
