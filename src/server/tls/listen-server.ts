// The server behind one listen URL: plain TCP for http://, TLS terminated by the
// side's acceptor for https:// (tls-accept.ts). Either way onSocket gets a
// plaintext stream, and 'connection' carries the raw TCP sockets.

import * as net from 'node:net';
import type { TlsAcceptor } from './tls-accept.js';

export function listenServerFor(url: URL, acceptor: TlsAcceptor | undefined, onSocket: (socket: net.Socket) => void): net.Server {
  if (url.protocol !== 'https:') return net.createServer(onSocket);
  if (acceptor === undefined) throw new Error(`cannot listen on TLS for ${url.host}: KeyFile and CertFile are not presented`);
  return acceptor.createServer(onSocket);
}
