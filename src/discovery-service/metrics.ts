// discoveryserver's Prometheus counters on /metrics, in a registry of the
// service's own: requests to /new, /health and token paths by status code and
// method (endpoint_{new,health,token}_requests_total).

import { Counter, Registry } from 'prom-client';

export type CountedEndpoint = 'new' | 'health' | 'token';

export class DiscoveryMetrics {
  readonly registry = new Registry();
  private readonly counters: Record<CountedEndpoint, Counter<'code' | 'method'>>;

  constructor() {
    const counter = (endpoint: CountedEndpoint): Counter<'code' | 'method'> =>
      new Counter({
        name: `endpoint_${endpoint}_requests_total`,
        help: `How many /${endpoint} requests processed, partitioned by status code and HTTP method.`,
        labelNames: ['code', 'method'],
        registers: [this.registry],
      });
    this.counters = { new: counter('new'), health: counter('health'), token: counter('token') };
  }

  count(endpoint: CountedEndpoint, code: number, method: string): void {
    this.counters[endpoint].inc({ code: String(code), method });
  }

  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
