// Plain HTTP on the client port: /health, /livez, /readyz (health.ts) and
// /version as etcd answers them; /metrics in Prometheus text format. The same
// handler, metricsOnly, serves --listen-metrics-urls (/metrics and /health). (The /v3 JSON gateway comes with its issue,
// over the handlers the gRPC services use.)

import type * as http from 'node:http';
import { goError, reply, versionReply } from '../http-reply.js';
import { HealthProbes } from './health.js';
import type { HealthSource, MetricsSource } from './ports.js';

export { withAccessControl } from './access.js';

export interface HttpHandlerOptions {
  /** Bound on the reads /health, /livez and /readyz make (etcd: the request timeout). */
  requestTimeoutMs?: number;
  /** The metrics listeners (--listen-metrics-urls) serve /metrics and /health only. */
  metricsOnly?: boolean;
  /** /v2/... with --enable-v2 (api/v2/routes.ts); absent: 404, as etcd without the flag. */
  v2?: (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean;
}

export function httpHandler(
  api: { health: HealthSource; metrics: MetricsSource },
  opts: HttpHandlerOptions = {},
): http.RequestListener {
  const probes = new HealthProbes(api.health, opts.requestTimeoutMs);
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname === '/health' || (!opts.metricsOnly && /^\/(livez|readyz)(\/|$)/.test(url.pathname))) {
      if (req.method !== 'GET') {
        res.setHeader('Allow', 'GET');
        return goError(res, 405, 'Method Not Allowed');
      }
      void probes.answer(url.pathname, url.searchParams).then((a) => {
        if (!a) return goError(res, 404, '404 page not found');
        if (a.error) res.setHeader('X-Content-Type-Options', 'nosniff');
        reply(res, a.status, a.body);
      });
      return;
    }
    if (opts.metricsOnly && url.pathname !== '/metrics') return goError(res, 404, '404 page not found');
    if (opts.v2?.(req, res, url)) return;
    switch (url.pathname) {
      case '/metrics':
        void api.metrics.scrapeMetrics().then(
          (m) => reply(res, 200, m.body, m.contentType),
          (err: Error) => reply(res, 500, err.message),
        );
        return;
      case '/version':
        return versionReply(req, res);
      default:
        return goError(res, 404, '404 page not found');
    }
  };
}
