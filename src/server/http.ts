// Plain HTTP on the client port: /health and /version as etcd 3.4 answers them;
// /metrics in Prometheus text format. (The /v3 JSON gateway comes with its issue.)

import type * as http from 'node:http';
import { ETCD_API_VERSION, ETCD_CLUSTER_VERSION } from '../version.js';
import type { EtcdServer } from './etcd-server.js';

function reply(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Methods': 'POST, GET, OPTIONS, PUT, DELETE',
    'Access-Control-Allow-Headers': 'accept, content-type, authorization',
  });
  res.end(body);
}

export function httpHandler(server: EtcdServer): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    switch (url.pathname) {
      case '/health':
        if (req.method !== 'GET') return reply(res, 405, 'Method Not Allowed');
        void health(server, url).then(([ok, reason]) => {
          const body = ok ? '{"health":"true"}' : JSON.stringify({ health: 'false', reason });
          reply(res, ok ? 200 : 503, body);
        });
        return;
      case '/metrics':
        if (req.method !== 'GET') return reply(res, 405, 'Method Not Allowed');
        void metrics(server).then(
          ([type, body]) => reply(res, 200, body, type),
          (err: Error) => reply(res, 500, err.message),
        );
        return;
      case '/version':
        if (req.method !== 'GET') return reply(res, 405, 'Method Not Allowed');
        return reply(res, 200, JSON.stringify({ etcdserver: ETCD_API_VERSION, etcdcluster: ETCD_CLUSTER_VERSION }));
      default:
        return reply(res, 404, '404 page not found\n');
    }
  };
}

/** Healthy: a leader is known and a read can be served (linearizable unless ?serializable=true). */
async function health(server: EtcdServer, url: URL): Promise<[boolean, string]> {
  if (server.leader === 0n) return [false, 'RAFT NO LEADER'];
  try {
    if (url.searchParams.get('serializable') !== 'true') await server.linearizableReadBarrier();
    await server.store.range({
      key: Buffer.from('health'),
      rangeEnd: Buffer.alloc(0),
      limit: 0,
      revision: 0,
      sortOrder: 0,
      sortTarget: 0,
      serializable: true,
      keysOnly: false,
      countOnly: false,
      minModRevision: 0,
      maxModRevision: 0,
      minCreateRevision: 0,
      maxCreateRevision: 0,
    });
    return [true, ''];
  } catch (err) {
    return [false, `RANGE ERROR:${(err as Error).message}`];
  }
}

async function metrics(server: EtcdServer): Promise<[string, string]> {
  const st = await server.status();
  server.metrics.dbSize.set(st.dbSize);
  server.metrics.proposalsCommitted.set(st.raftIndex);
  const w = server.watchHub.stats();
  server.metrics.watchers.set(w.synced + w.unsynced + w.victims);
  server.metrics.slowWatchers.set(w.unsynced + w.victims);
  server.metrics.watchVictimized.set(w.victimized);
  return [server.metrics.registry.contentType, await server.metrics.registry.metrics()];
}
