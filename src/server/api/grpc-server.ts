// Assembles the client port's gRPC server (../grpc/server.ts): every etcd v3
// service is registered, built ones with their adapters, the rest answering
// UNIMPLEMENTED with a clear message; each handler goes through the learner
// guard and, with --metrics extensive, the handling-time histogram.

import type { Logger } from 'pino';
import { GrpcServer } from '../grpc/server.js';
import { apiServices, SERVICE_NAMES, unimplementedHandlers, type ApiServices } from './services.js';
import { clusterService } from './cluster.js';
import { guardForLearner } from './learner-guard.js';
import { type HandlingHistogram, instrumentService } from './grpc-metrics.js';
import { authService } from './auth.js';
import { kvService } from './kv.js';
import { lockService } from './lock.js';
import { electionService } from './election.js';
import { recipePorts } from './recipes/index.js';
import { leaseService } from './lease.js';
import { maintenanceService } from './maintenance.js';
import { watchService } from './watch.js';
import type { ServiceImplementation } from '../grpc/types.js';
import type { ClientApi } from './ports.js';

/** etcd allows this much gRPC framing on top of --max-request-bytes. */
export const GRPC_OVERHEAD_BYTES = 512 * 1024;

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

export function createGrpcServer(api: ClientApi, logger: Logger, transport: GrpcTransportOptions = {}): GrpcServer {
  const g = new GrpcServer({
    maxReceiveBytes: api.limits.maxRequestBytes + GRPC_OVERHEAD_BYTES,
    maxConcurrentStreams: transport.maxConcurrentStreams,
    keepaliveMinTimeMs: transport.keepaliveMinTimeMs,
    keepaliveIntervalMs: transport.keepaliveIntervalMs,
    keepaliveTimeoutMs: transport.keepaliveTimeoutMs,
  });
  // Lock and Election run etcd's recipes over the same KV, Lease and Watch paths as any client.
  const recipes = recipePorts(api);
  const built: Partial<Record<keyof ApiServices, ServiceImplementation>> = {
    KV: kvService(api.kv, api.limits, logger, api.auth),
    Maintenance: maintenanceService(api.maintenance, api.info, api.limits, logger, api.auth),
    Cluster: clusterService(api.cluster, api.info, logger, api.auth),
    Watch: watchService(api.watch, api.info, api.limits, logger, api.auth),
    Lease: leaseService(api.lease, api.info, logger, api.auth),
    Auth: authService(api.auth, api.info, logger),
    Lock: lockService(recipes, logger, api.auth),
    Election: electionService(recipes, api.info, logger, api.auth),
  };
  const defs = apiServices();
  for (const name of Object.keys(SERVICE_NAMES) as (keyof ApiServices)[]) {
    const def = defs[name];
    const impl = { ...unimplementedHandlers(def, name), ...built[name] };
    const guarded = guardForLearner(name, def, impl, () => api.cluster.isLearner());
    g.addService(def, transport.handlingSeconds ? instrumentService(def, guarded, transport.handlingSeconds) : guarded);
  }
  return g;
}
