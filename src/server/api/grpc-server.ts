// Assembles the gRPC server: every etcd v3 service is registered, built ones with
// their adapters, the rest answering UNIMPLEMENTED with a clear message.

import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { apiServices, SERVICE_NAMES, unimplementedHandlers, type ApiServices } from './services.js';
import { clusterService } from './cluster.js';
import { guardForLearner } from './learner-guard.js';
import { type HandlingHistogram, instrumentService } from './grpc-metrics.js';
import { authService } from './auth.js';
import { kvService } from './kv.js';
import { leaseService } from './lease.js';
import { maintenanceService } from './maintenance.js';
import { watchDefinition, watchService } from './watch.js';
import type { ClientApi } from './ports.js';

/** etcd allows this much gRPC framing on top of --max-request-bytes. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;

/** --max-concurrent-streams and --grpc-keepalive-* (etcd's defaults when absent). */
export interface GrpcTransportOptions {
  maxConcurrentStreams?: number;
  /** A client pinging more often than this is told to go away. */
  keepaliveMinTimeMs?: number;
  /** Server-to-client pings on an idle connection (0: none). */
  keepaliveIntervalMs?: number;
  /** How long a ping may go unanswered before the connection is closed. */
  keepaliveTimeoutMs?: number;
  /** --metrics extensive: every RPC's handling time is observed here (grpc_server_handling_seconds). */
  handlingSeconds?: HandlingHistogram;
}

export function grpcServerOptions(api: ClientApi, t: GrpcTransportOptions = {}): grpc.ServerOptions {
  const opts: grpc.ServerOptions = {
    'grpc.max_receive_message_length': api.limits.maxRequestBytes + GRPC_OVERHEAD_BYTES,
    'grpc.max_send_message_length': 2 ** 31 - 1,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': t.keepaliveMinTimeMs ?? 5000,
    'grpc.max_concurrent_streams': Math.min(t.maxConcurrentStreams ?? 2 ** 32 - 1, 2 ** 31 - 1),
  };
  const interval = t.keepaliveIntervalMs ?? 2 * 3_600_000;
  if (interval > 0) opts['grpc.keepalive_time_ms'] = interval;
  const timeout = t.keepaliveTimeoutMs ?? 20_000;
  if (timeout > 0) opts['grpc.keepalive_timeout_ms'] = timeout;
  return opts;
}

export function createGrpcServer(api: ClientApi, logger: Logger, transport: GrpcTransportOptions = {}): grpc.Server {
  const g = new grpc.Server(grpcServerOptions(api, transport));
  const built: Partial<Record<keyof ApiServices, grpc.UntypedServiceImplementation>> = {
    KV: kvService(api.kv, api.limits, logger, api.auth),
    Maintenance: maintenanceService(api.maintenance, api.info, api.limits, logger, api.auth),
    Cluster: clusterService(api.cluster, api.info, logger, api.auth),
    Watch: watchService(api.watch, api.info, api.limits, logger, api.auth),
    Lease: leaseService(api.lease, api.info, logger, api.auth),
    Auth: authService(api.auth, api.info, logger),
  };
  const defs = apiServices();
  for (const name of Object.keys(SERVICE_NAMES) as (keyof ApiServices)[]) {
    // Watch responses are encoded by the stream itself (shared event bytes across watchers).
    const def = name === 'Watch' ? watchDefinition(defs.Watch) : defs[name];
    const impl = { ...unimplementedHandlers(def, name), ...built[name] };
    const guarded = guardForLearner(name, def, impl, () => api.cluster.isLearner());
    g.addService(def, transport.handlingSeconds ? instrumentService(def, guarded, transport.handlingSeconds) : guarded);
  }
  return g;
}
