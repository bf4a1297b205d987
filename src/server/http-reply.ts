// Plain-HTTP answers shared by the client port's handlers (api/http.ts) and the
// peer port's (transport/peer-http.ts): Go's http.Error, a body with its
// Content-Type and Content-Length, and GET /version, which etcd serves on both ports.

import type * as http from 'node:http';
import { ETCD_API_VERSION, ETCD_CLUSTER_VERSION } from '../version.js';

/** Go's http.Error: plain text, nosniff, the message and a newline. */
export function goError(res: http.ServerResponse, status: number, message: string): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  reply(res, status, message + '\n');
}

export function reply(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.writeHead(status);
  res.end(body);
}

/** GET /version, on the client and the peer port: {"etcdserver":…,"etcdcluster":…} as JSON. */
export function versionReply(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.method !== 'GET') {
    res.setHeader('Allow', 'GET');
    return goError(res, 405, 'Method Not Allowed');
  }
  reply(res, 200, JSON.stringify({ etcdserver: ETCD_API_VERSION, etcdcluster: ETCD_CLUSTER_VERSION }), 'application/json');
}
