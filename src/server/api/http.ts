// Plain HTTP on the client port: /health and /version as etcd 3.4 answers them;
// /metrics in Prometheus text format. (The /v3 JSON gateway comes with its issue,
// over the handlers the gRPC services use.)

import type * as http from 'node:http';
import { ETCD_API_VERSION, ETCD_CLUSTER_VERSION } from '../../version.js';
import { alarmName } from '../alarms.js';
import type { HealthSource, MetricsSource } from './ports.js';

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

export function httpHandler(api: { health: HealthSource; metrics: MetricsSource }): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    switch (url.pathname) {
      case '/health':
        if (req.method !== 'GET') return reply(res, 405, 'Method Not Allowed');
        void health(api.health, url).then(([ok, reason]) => {
          // etcd 3.4.23 answers an alarm through http.Error: its JSON plus a newline.
          const body = ok ? '{"health":"true"}' : reason ? JSON.stringify({ health: 'false', reason }) : '{"health":"false"}\n';
          reply(res, ok ? 200 : 503, body);
        });
        return;
      case '/metrics':
        if (req.method !== 'GET') return reply(res, 405, 'Method Not Allowed');
        void api.metrics.scrapeMetrics().then(
          (m) => reply(res, 200, m.body, m.contentType),
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

/**
 * Healthy: no alarm is active, a leader is known and a read can be served
 * (linearizable unless ?serializable=true). etcd 3.4.23 answers an active alarm
 * with a bare {"health":"false"} (recorded), so its reason is left empty.
 */
async function health(source: HealthSource, url: URL): Promise<[boolean, string]> {
  const excluded = new Set(url.searchParams.getAll('exclude'));
  if (source.alarms().some((a) => !excluded.has(alarmName(a.alarm)))) return [false, ''];
  if (source.leader === 0n) return [false, 'RAFT NO LEADER'];
  try {
    await source.range({
      key: Buffer.from('health'),
      rangeEnd: Buffer.alloc(0),
      limit: 0n,
      revision: 0n,
      sortOrder: 0,
      sortTarget: 0,
      serializable: url.searchParams.get('serializable') === 'true',
      keysOnly: false,
      countOnly: false,
      minModRevision: 0n,
      maxModRevision: 0n,
      minCreateRevision: 0n,
      maxCreateRevision: 0n,
    });
    return [true, ''];
  } catch (err) {
    return [false, `RANGE ERROR:${(err as Error).message}`];
  }
}
