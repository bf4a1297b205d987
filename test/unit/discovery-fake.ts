// An in-process v2 keys server with just what discovery uses (GET a key or a
// directory, PUT ?prevExist=false, long-poll waits from a waitIndex), plus
// switches for the failures discovery must survive or report: 503s, HTML
// answers, a server that is not listening yet. Answers are shaped as etcd 3.4's.

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

interface StoredNode {
  key: string;
  value: string;
  createdIndex: number;
  modifiedIndex: number;
}

type Mode = 'ok' | 'unavailable' | 'html';

export class FakeDiscovery {
  private index = 1;
  readonly nodes = new Map<string, StoredNode>();
  private waiters: { key: string; recursive: boolean; from: number; res: http.ServerResponse }[] = [];
  private server: http.Server | undefined;
  /** Every request's method and path+query, in order. */
  readonly requests: string[] = [];
  mode: Mode = 'ok';
  port = 0;

  /** Listens on `port` (0: any free one). */
  async start(port = this.port): Promise<void> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const w of this.waiters) w.res.destroy();
    this.waiters = [];
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = undefined;
  }

  url(token: string): string {
    return `http://127.0.0.1:${this.port}/v2/keys/discovery/${token}`;
  }

  /** Writes a key directly (the operator's `curl -X PUT .../_config/size -d value=3`, or another member's registration). */
  set(key: string, value: string): StoredNode {
    const i = ++this.index;
    const old = this.nodes.get(key);
    const node = { key, value, createdIndex: old?.createdIndex ?? i, modifiedIndex: i };
    this.nodes.set(key, node);
    this.wake(node);
    return node;
  }

  /** The registrations under a token, in creation order. */
  registered(token: string): StoredNode[] {
    const dir = `/discovery/${token}/`;
    return [...this.nodes.values()].filter((n) => n.key.startsWith(dir) && !n.key.slice(dir.length).startsWith('_')).sort((a, b) => a.createdIndex - b.createdIndex);
  }

  private readonly history: StoredNode[] = [];

  private wake(node: StoredNode): void {
    this.history.push({ ...node });
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (node.modifiedIndex >= w.from && sees(w.key, w.recursive, node.key)) this.reply(w.res, 200, { action: 'create', node }, node.modifiedIndex);
      else still.push(w);
    }
    this.waiters = still;
  }

  private reply(res: http.ServerResponse, status: number, body: unknown, index = this.index): void {
    res.writeHead(status, { 'Content-Type': 'application/json', 'X-Etcd-Index': String(index) });
    res.end(JSON.stringify(body) + '\n');
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.requests.push(`${req.method} ${req.url}`);
    if (this.mode === 'unavailable') {
      res.writeHead(503).end();
      return;
    }
    if (this.mode === 'html') {
      res.writeHead(404, { 'Content-Type': 'text/html' }).end('<html><body>404 page not found</body></html>');
      return;
    }
    const u = new URL(req.url ?? '/', 'http://x');
    const key = u.pathname.replace(/^\/v2\/keys/, '').replace(/\/$/, '');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'PUT') {
        if (u.searchParams.get('prevExist') === 'false' && this.nodes.has(key)) {
          this.reply(res, 412, { errorCode: 105, message: 'Key already exists', cause: key, index: this.index });
          return;
        }
        const value = new URLSearchParams(Buffer.concat(chunks).toString()).get('value') ?? '';
        const node = this.set(key, value);
        this.reply(res, 201, { action: 'create', node }, node.modifiedIndex);
        return;
      }
      if (u.searchParams.get('wait') === 'true') {
        const from = Number(u.searchParams.get('waitIndex') ?? this.index + 1);
        const recursive = u.searchParams.get('recursive') === 'true';
        const past = this.history.find((n) => n.modifiedIndex >= from && sees(key, recursive, n.key));
        if (past) this.reply(res, 200, { action: 'create', node: past }, past.modifiedIndex);
        else this.waiters.push({ key, recursive, from, res });
        return;
      }
      const exact = this.nodes.get(key);
      if (exact) {
        this.reply(res, 200, { action: 'get', node: exact });
        return;
      }
      const children = [...this.nodes.values()].filter((n) => n.key.startsWith(key + '/'));
      // A listing hides keys whose name starts with "_" (the _config directory).
      const visible = children.filter((n) => !n.key.slice(key.length + 1).startsWith('_'));
      if (children.length === 0) {
        this.reply(res, 404, { errorCode: 100, message: 'Key not found', cause: key, index: this.index });
        return;
      }
      const direct = new Map<string, unknown>();
      for (const n of visible) {
        const rest = n.key.slice(key.length + 1);
        const slash = rest.indexOf('/');
        if (slash < 0) direct.set(n.key, n);
        else direct.set(`${key}/${rest.slice(0, slash)}`, { key: `${key}/${rest.slice(0, slash)}`, dir: true, createdIndex: 2, modifiedIndex: 2 });
      }
      this.reply(res, 200, { action: 'get', node: { key, dir: true, nodes: [...direct.values()], createdIndex: 2, modifiedIndex: 2 } });
    });
  }
}

/** A v2 watch on `watched` sees `key` (hidden `_` keys only when watched exactly). */
function sees(watched: string, recursive: boolean, key: string): boolean {
  if (key === watched) return true;
  return recursive && key.startsWith(watched + '/') && !key.slice(watched.length).includes('/_');
}

/** A pino logger whose lines land in `lines` (parsed). */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}
