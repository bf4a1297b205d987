// /v2/keys over HTTP (etcd's v2http keysHandler): parse, run the read, write or
// wait, and answer with etcd's headers — X-Etcd-Cluster-Id always, X-Etcd-Index,
// X-Raft-Index and X-Raft-Term with an event, X-Etcd-Index with an error — and
// 201 when a node was created.

import type * as http from 'node:http';
import type { LeaseApi, RaftKV, ServerInfo, WatchSource } from '../ports.js';
import { EcodeRaftInternal, V2Error } from './errors.js';
import { type Form, parseQuery } from './form.js';
import type { V2Layout } from './layout.js';
import { eventBody, type V2Event } from './node.js';
import { LeaseExpiries } from './nodes.js';
import { getNode } from './read.js';
import { parseKeyRequest, type V2KeyRequest, type V2Method } from './request.js';
import type { StoreStats } from './stats.js';
import { startWait } from './watch.js';
import { type WriteKind, V2Writer } from './write.js';

export interface KeysPorts {
  info: ServerInfo;
  kv: RaftKV;
  lease: LeaseApi;
  watch: Pick<WatchSource, 'watchHub'>;
  /** The Raft index X-Raft-Index reports. */
  raftIndex(): Promise<number>;
}

const METHODS: V2Method[] = ['HEAD', 'GET', 'PUT', 'POST', 'DELETE'];
/** Go's http.Request.ParseForm reads at most 10 MB of a form body. */
const MAX_FORM_BYTES = 10 << 20;

/** etcd's applierV2 dispatch: which store operation a PUT, POST or DELETE is. */
export function writeKindOf(r: V2KeyRequest): WriteKind {
  if (r.method === 'POST') return { op: 'create', dir: r.dir, value: r.value, unique: true };
  const compare = r.prevIndex > 0 || r.prevValue !== undefined;
  const cmp = { ...(r.prevValue !== undefined ? { prevValue: r.prevValue } : {}), prevIndex: r.prevIndex };
  if (r.method === 'DELETE') return compare ? { op: 'compareAndDelete', ...cmp } : { op: 'delete', dir: r.dir, recursive: r.recursive };
  if (r.prevExist === true) return compare ? { op: 'compareAndSwap', value: r.value, ...cmp } : { op: 'update', value: r.value };
  if (r.prevExist === false) return { op: 'create', dir: r.dir, value: r.value, unique: false };
  if (compare) return { op: 'compareAndSwap', value: r.value, ...cmp };
  return { op: 'set', dir: r.dir, value: r.value };
}

/** The form as Go's ParseForm builds it: a urlencoded PUT/POST body's values, then the query's. */
export async function readForm(req: http.IncomingMessage, query: string): Promise<{ form: Form; error?: Error }> {
  const form: Form = new Map();
  let error: Error | undefined;
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if ((req.method === 'PUT' || req.method === 'POST') && type === 'application/x-www-form-urlencoded') {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > MAX_FORM_BYTES) {
        error = new Error('http: POST too large');
        break;
      }
      chunks.push(c);
    }
    if (!error) error = parseQuery(Buffer.concat(chunks).toString('latin1'), form).error;
  }
  const q = parseQuery(query, form);
  return { form, ...(error ?? q.error ? { error: error ?? q.error } : {}) };
}

export class KeysHandler {
  private readonly writer: V2Writer;

  constructor(
    private readonly ports: KeysPorts,
    private readonly layout: V2Layout,
    private readonly stats: StoreStats,
  ) {
    this.writer = new V2Writer(ports, layout);
  }

  async serve(req: http.IncomingMessage, res: http.ServerResponse, path: string, query: string): Promise<void> {
    const method = req.method as V2Method;
    if (!METHODS.includes(method)) {
      res.setHeader('Allow', METHODS.join(','));
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.writeHead(405).end('Method Not Allowed\n');
      return;
    }
    res.setHeader('X-Etcd-Cluster-Id', this.ports.info.clusterId.toString(16));
    let parsed: V2KeyRequest | undefined;
    try {
      const { form, error } = await readForm(req, query);
      parsed = parseKeyRequest(method, path, form, error);
      if (parsed.wait) return this.wait(res, parsed);
      const ev = parsed.method === 'GET' || parsed.method === 'HEAD'
        ? await getNode(this.ports, this.layout, parsed.key, parsed)
        : await this.writer.write({
            key: parsed.key, kind: writeKindOf(parsed), refresh: parsed.refresh, ...(parsed.ttl !== undefined ? { ttl: parsed.ttl } : {}),
          });
      this.stats.record(ev.action, true);
      await this.writeEvent(res, ev, parsed.noValueOnSuccess, method === 'HEAD');
    } catch (err) {
      if (parsed) this.stats.record(parsed.method === 'GET' ? 'get' : writeKindOf(parsed).op, false);
      writeError(res, err);
    }
  }

  private async eventHeaders(res: http.ServerResponse, etcdIndex: number): Promise<void> {
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('X-Etcd-Index', String(etcdIndex));
    res.setHeader('X-Raft-Index', String(await this.ports.raftIndex()));
    res.setHeader('X-Raft-Term', String(this.ports.info.term));
  }

  private async writeEvent(res: http.ServerResponse, ev: V2Event, noValueOnSuccess: boolean, head: boolean): Promise<void> {
    await this.eventHeaders(res, ev.etcdIndex);
    const created = ev.action === 'create' || (ev.action === 'set' && !ev.prevNode);
    const body = eventBody(ev, noValueOnSuccess);
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.writeHead(created ? 201 : 200);
    res.end(head ? undefined : body);
  }

  /** A long poll: headers once the watch is known valid, then one event (or, with stream, each). */
  private wait(res: http.ServerResponse, r: V2KeyRequest): void {
    const hub = this.ports.watch.watchHub;
    this.stats.add('watchers', 1);
    let open = true;
    const finish = (): void => {
      if (!open) return;
      open = false;
      this.stats.add('watchers', -1);
      handle.cancel();
    };
    let headersSent: Promise<void> | undefined;
    const sendHeaders = (): Promise<void> =>
      (headersSent ??= this.eventHeaders(res, handle.startIndex).then(() => {
        res.writeHead(200);
        res.flushHeaders();
      }));
    const handle = startWait(hub, this.layout, r, () => new LeaseExpiries(this.ports.lease), {
      onReady: () => void sendHeaders(),
      onEvent: (ev) => {
        void sendHeaders().then(() => {
          if (!open) return;
          res.write(eventBody(ev));
          if (!r.stream) {
            finish();
            res.end();
          }
        });
      },
      onError: (err) => {
        finish();
        if (!res.headersSent) writeError(res, err);
        else res.end();
      },
    });
    // The client went away (or the answer is complete): stop watching.
    res.on('close', finish);
  }
}

export function writeError(res: http.ServerResponse, err: unknown): void {
  const e = err instanceof V2Error ? err : new V2Error(EcodeRaftInternal, (err as Error).message ?? String(err), 0);
  const body = JSON.stringify(e.toJSON()) + '\n';
  res.setHeader('X-Etcd-Index', String(e.index));
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.writeHead(e.status);
  res.end(body);
}
