// The v2 API on the client port with --enable-v2 (etcd 3.4's flag; without it
// /v2/... answers 404 as etcd does): /v2/keys, /v2/members, /v2/machines and
// /v2/stats/{store,self,leader}. Keys live in the v3 store (layout.ts).

import type * as http from 'node:http';
import type { ClusterApi, LeaseApi, MaintenanceApi, RaftKV, ServerInfo, WatchSource } from '../ports.js';
import { unescape } from './form.js';
import { KEYS_PREFIX } from './request.js';
import { KeysHandler } from './keys-handler.js';
import { V2Layout } from './layout.js';
import { goTime } from './node.js';
import { leaderStats, selfStats, type SelfStatsSource, StoreStats } from './stats.js';

export interface V2Ports {
  info: ServerInfo & { readonly leaderSinceMs?: number };
  kv: RaftKV;
  lease: LeaseApi;
  watch: Pick<WatchSource, 'watchHub'>;
  cluster: Pick<ClusterApi, 'members'>;
  maintenance: Pick<MaintenanceApi, 'status'>;
}

export interface V2Options {
  /** The v3 prefix of the v2 keys (--experimental-enable-v2v3; layout.ts's default otherwise). */
  prefix?: string;
}

/** A route hook for the client port's HTTP handler: true when it answered the request. */
export type V2Routes = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean;

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.writeHead(status).end(text);
}

/** etcd's allowMethod: 405 with an Allow header. */
function allow(req: http.IncomingMessage, res: http.ServerResponse, ...methods: string[]): boolean {
  if (methods.includes(req.method ?? '')) return true;
  res.setHeader('Allow', methods.join(','));
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.writeHead(405).end('Method Not Allowed\n');
  return false;
}

export function v2Routes(ports: V2Ports, opts: V2Options = {}): V2Routes {
  const stats = new StoreStats();
  const keys = new KeysHandler(
    { ...ports, raftIndex: async () => (await ports.maintenance.status()).raftIndex },
    new V2Layout(opts.prefix),
    stats,
  );
  const startedAtMs = Date.now();
  const statsSource: SelfStatsSource = {
    info: ports.info,
    members: () => ports.cluster.members(),
    startedAtMs,
    leaderSinceMs: () => ports.info.leaderSinceMs ?? startedAtMs,
  };
  return (req, res, url) => {
    const path = url.pathname;
    if (path === KEYS_PREFIX || path.startsWith(KEYS_PREFIX + '/')) {
      // The raw request line (Node hands it over as latin1): WHATWG's pathname
      // re-encodes non-ASCII bytes, Go's URL.Path is the unescaped bytes.
      const raw = req.url ?? '/';
      const q = raw.indexOf('?');
      let decoded: string;
      try {
        decoded = unescape(q < 0 ? raw : raw.slice(0, q), false);
      } catch {
        res.writeHead(400).end('400 Bad Request');
        return true;
      }
      void keys.serve(req, res, decoded, q < 0 ? '' : raw.slice(q + 1));
      return true;
    }
    switch (path) {
      case '/v2/members':
      case '/v2/members/':
        if (allow(req, res, 'GET')) {
          res.setHeader('X-Etcd-Cluster-Id', ports.info.clusterId.toString(16));
          json(res, 200, {
            members: ports.cluster.members().map((m) => ({
              id: m.id.toString(16), name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs,
            })),
          });
        }
        return true;
      case '/v2/machines':
        if (allow(req, res, 'GET', 'HEAD')) {
          const body = ports.cluster.members().flatMap((m) => m.clientURLs).join(', ');
          res.setHeader('Content-Type', 'text/plain; charset=utf-8');
          res.writeHead(200).end(body);
        }
        return true;
      case '/v2/stats/store':
        if (allow(req, res, 'GET')) json(res, 200, stats.toJSON());
        return true;
      case '/v2/stats/self':
        if (allow(req, res, 'GET')) json(res, 200, selfStats(statsSource, goTime));
        return true;
      case '/v2/stats/leader':
        if (allow(req, res, 'GET')) {
          const s = leaderStats(statsSource);
          if (s) json(res, 200, s);
          else json(res, 403, { message: 'not current leader' });
        }
        return true;
      default:
        return false;
    }
  };
}
