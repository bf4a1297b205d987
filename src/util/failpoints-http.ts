// Failpoints changed while the member runs, as gofail's GOFAIL_HTTP endpoint:
// ETCD_TS_FAILPOINTS_HTTP=127.0.0.1:PORT starts a plain HTTP listener on that
// loopback address (only then; never on another interface):
//   GET /          every armed failpoint, "name=term" per line
//   GET /name      its term (404 when it is not armed)
//   PUT /name      body = term (e.g. panic, 2*sleep(100)); 204, or 400 with why
//   DELETE /name   disarms it; 204
// An unknown failpoint name is 404 with the list of known ones.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { clearFailpoint, FailpointSpecError, listFailpoints, setFailpoint } from './failpoints.js';
import { checkName } from './failpoint-spec.js';

const MAX_BODY = 4096;

/** host:port from ETCD_TS_FAILPOINTS_HTTP; throws FailpointSpecError when it is not a loopback address. */
export function parseFailpointHttpAddress(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value.trim());
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || host === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new FailpointSpecError(`ETCD_TS_FAILPOINTS_HTTP: "${value}" is not host:port (e.g. 127.0.0.1:22381)`);
  }
  const loopback = host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
  if (!loopback) throw new FailpointSpecError(`ETCD_TS_FAILPOINTS_HTTP: ${host} is not a loopback address (the endpoint can crash the member)`);
  return { host, port };
}

function reply(res: ServerResponse, status: number, body = ''): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
      if (body.length > MAX_BODY) reject(new FailpointSpecError('failpoint term too long'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const name = decodeURIComponent((req.url ?? '/').split('?')[0]!.slice(1));
  if (name === '') {
    if (req.method !== 'GET') return reply(res, 405, 'GET / lists the failpoints\n');
    return reply(res, 200, [...listFailpoints()].map(([n, t]) => `${n}=${t}\n`).join(''));
  }
  try {
    checkName(name);
  } catch (err) {
    return reply(res, 404, `${(err as Error).message}\n`);
  }
  switch (req.method) {
    case 'GET': {
      const term = listFailpoints().get(checkName(name));
      return term === undefined ? reply(res, 404, `failpoint ${name} is not armed\n`) : reply(res, 200, `${term}\n`);
    }
    case 'PUT':
      try {
        setFailpoint(name, await readBody(req));
      } catch (err) {
        if (err instanceof FailpointSpecError) return reply(res, 400, `${err.message}\n`);
        throw err;
      }
      return reply(res, 204);
    case 'DELETE':
      clearFailpoint(name);
      return reply(res, 204);
    default:
      return reply(res, 405, 'GET, PUT or DELETE\n');
  }
}

/** Starts the endpoint; resolves once it listens. */
export function startFailpointHttp(address: string): Promise<Server> {
  const { host, port } = parseFailpointHttpAddress(address);
  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => reply(res, 500, `${err.message}\n`));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.unref(); // never what keeps the process alive
      resolve(server);
    });
  });
}
