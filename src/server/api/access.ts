// etcd's access controller in front of the client port's HTTP handlers
// (embed/serve.go accessController, etcdserver/server_access_control.go):
// --host-whitelist refuses plain-HTTP requests whose Host is not listed (421,
// against DNS rebinding, CVE-2018-5702); --cors decides the CORS headers ("*",
// the default, allows every origin); OPTIONS is answered 200 with the headers.

import type * as http from 'node:http';
import { goError } from '../http-reply.js';

export interface AccessOptions {
  /** --cors origins; empty or containing "*": all. */
  cors: string[];
  /** --host-whitelist; empty or containing "*": all. */
  hostWhitelist: string[];
}

/** The host of a Host header without its port (Go's httputil.GetHostname). */
export function hostnameOf(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end < 0 ? host : host.slice(1, end);
  }
  const colon = host.lastIndexOf(':');
  return colon < 0 || host.indexOf(':') !== colon ? host : host.slice(0, colon);
}

function allows(list: string[], value: string | undefined): boolean {
  if (list.length === 0 || list.includes('*')) return true;
  return value !== undefined && list.includes(value);
}

function hostRefused(host: string): string {
  return `
etcd received your request, but the Host header was unrecognized.

To fix this, choose one of the following options:
- Enable TLS, then any HTTPS request will be allowed.
- Add the hostname you want to use to the whitelist in settings.
  - e.g. etcd --host-whitelist ${JSON.stringify(host)}

This requirement has been added to help prevent "DNS Rebinding" attacks (CVE-2018-5702).
`;
}

export function withAccessControl(handler: http.RequestListener, opts: AccessOptions): http.RequestListener {
  return (req, res) => {
    const host = hostnameOf(req.headers.host ?? '');
    // As etcd: the whitelist guards plaintext connections only (TLS already names the server).
    const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
    if (!secure && !allows(opts.hostWhitelist, host)) return goError(res, 421, hostRefused(host));
    const anyOrigin = allows(opts.cors, '*');
    const origin = req.headers.origin;
    if (anyOrigin || allows(opts.cors, origin)) {
      res.setHeader('Access-Control-Allow-Methods', 'POST, GET, OPTIONS, PUT, DELETE');
      res.setHeader('Access-Control-Allow-Origin', anyOrigin ? '*' : origin!);
      res.setHeader('Access-Control-Allow-Headers', 'accept, content-type, authorization');
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(200);
      res.end();
      return;
    }
    handler(req, res);
  };
}
