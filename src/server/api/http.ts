// Plain HTTP on the client port: /health, /livez, /readyz (health.ts) and
// /version as etcd answers them; /metrics in Prometheus text format. The same
// handler, metricsOnly, serves --listen-metrics-urls (/metrics and /health).
// /v3/... (and /v3beta/...) go to the JSON gateway (gateway/), which calls the
// gRPC server's handlers. /ui is the dashboard (ui/ui-files.ts), on both.

import type * as http from 'node:http';
import { goError, reply, versionReply } from '../http-reply.js';
import { HealthProbes } from './health.js';
import { Gateway, type GatewayOptions, type RpcRoutes } from './gateway/gateway.js';
import { gatewayPath, isGatewayPath } from './gateway/paths.js';
import type { HealthSource, MetricsSource } from './ports.js';
import { UiFiles, type UiOptions } from './ui/ui-files.js';
import { isUiPath } from './ui/ui-route.js';

export { withAccessControl } from './access.js';

export interface HttpHandlerOptions {
  /** Bound on the reads /health, /livez and /readyz make (etcd: the request timeout). */
  requestTimeoutMs?: number;
  /** The metrics listeners (--listen-metrics-urls) serve /metrics and /health only. */
  metricsOnly?: boolean;
  /**
   * The /v3 JSON gateway over the gRPC server's routes (absent:
   * --enable-grpc-gateway=false; /v3 paths then answer 404 as etcd's do).
   */
  gateway?: GatewayOptions & { routes: RpcRoutes };
  /** /v2/... with --enable-v2 (api/v2/routes.ts); absent: 404, as etcd without the flag. */
  v2?: (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean;
  /** The web dashboard at /ui (absent: /ui answers 404). */
  ui?: UiOptions;
}

export function httpHandler(
  api: { health: HealthSource; metrics: MetricsSource },
  opts: HttpHandlerOptions = {},
): http.RequestListener {
  const probes = new HealthProbes(api.health, opts.requestTimeoutMs);
  const gateway = opts.gateway && !opts.metricsOnly ? new Gateway(opts.gateway.routes, opts.gateway) : undefined;
  const ui = opts.ui ? new UiFiles(opts.ui) : undefined;
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (ui && isUiPath(url.pathname)) return ui.serve(req, res, url);
    const gwPath = gatewayPath(url.pathname);
    if (gateway && isGatewayPath(gwPath)) return gateway.serve(gwPath, req, res);
    if (gateway && url.pathname === '/v3') return redirectToSubtree(req, res, '/v3/' + url.search);
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

/** Go's ServeMux for "/v3" when "/v3/" is registered: 301 to the subtree (http.Redirect's body for GET). */
function redirectToSubtree(req: http.IncomingMessage, res: http.ServerResponse, location: string): void {
  res.setHeader('Location', location);
  if (req.method === 'GET' || req.method === 'HEAD') res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.writeHead(301);
  res.end(req.method === 'GET' ? `<a href="${location}">Moved Permanently</a>.\n\n` : undefined);
}
