// --metrics extensive: go-grpc-prometheus's grpc_server_handling_seconds, with its
// labels, observed around unary and streaming handlers; --metrics basic: absent.

import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { instrumentService } from '../../src/server/api/grpc-metrics.js';
import { apiServices } from '../../src/server/api/services.js';
import { ServerMetrics } from '../../src/server/metrics.js';

describe('grpc_server_handling_seconds', () => {
  it('is not exported with --metrics basic', async () => {
    const m = new ServerMetrics();
    expect(m.grpcHandling).toBeUndefined();
    expect(await m.registry.metrics()).not.toContain('grpc_server_handling_seconds');
  });

  it('with --metrics extensive, times unary calls and streams under etcd’s labels', async () => {
    const m = new ServerMetrics({ extensive: true });
    const defs = apiServices();
    let t = 0;
    const now = () => t;
    const answered: unknown[] = [];
    const kv = instrumentService(
      defs.KV,
      { Range: (_call: unknown, cb: (err: null, res: object) => void) => { t += 30; cb(null, { kvs: [] }); } } as never,
      m.grpcHandling!,
      now,
    );
    (kv.Range as unknown as (c: unknown, cb: (...a: unknown[]) => void) => void)({}, (...a) => answered.push(a));
    expect(answered).toEqual([[null, { kvs: [] }]]);

    const call = new EventEmitter();
    const watch = instrumentService(defs.Watch, { Watch: () => {} } as never, m.grpcHandling!, now);
    (watch.Watch as unknown as (c: unknown) => void)(call);
    t += 2000;
    call.emit('cancelled');
    call.emit('close'); // counted once

    const text = await m.registry.metrics();
    expect(text).toContain('# TYPE grpc_server_handling_seconds histogram');
    expect(text).toMatch(/grpc_server_handling_seconds_bucket\{le="0.05",grpc_type="unary",grpc_service="etcdserverpb.KV",grpc_method="Range"\} 1/);
    expect(text).toMatch(/grpc_server_handling_seconds_bucket\{le="0.025",grpc_type="unary",grpc_service="etcdserverpb.KV",grpc_method="Range"\} 0/);
    expect(text).toMatch(/grpc_server_handling_seconds_count\{grpc_type="bidi_stream",grpc_service="etcdserverpb.Watch",grpc_method="Watch"\} 1/);
    expect(text).toMatch(/grpc_server_handling_seconds_sum\{grpc_type="bidi_stream",grpc_service="etcdserverpb.Watch",grpc_method="Watch"\} 2\b/);
  });
});
