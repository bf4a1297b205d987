// `bin/etcd-ts [flags]`: flags → member (or a discovery-fallback proxy) → client
// listeners, and a clean stop on SIGTERM/SIGINT (flush, close LevelDB and the
// WAL, exit 0). main.ts loads this module when no subcommand is named.

import { ConfigError, parseArgs, usage, type Config } from './server/config.js';
import { logBackendQuota, withGrantQuota } from './server/quota.js';
import { createLogger, logWritten, type Logger } from './server/logger.js';
import { composeServer } from './server/compose.js';
import { createGrpcServer, GRPC_OVERHEAD_BYTES } from './server/api/grpc-server.js';
import { listenClients, type ClientListener } from './server/client-listener.js';
import { httpHandler, withAccessControl } from './server/api/http.js';
import { requestTimeoutMs } from './server/etcd-server.js';
import { listenMetrics } from './server/metrics-listener.js';
import { withPprof } from './server/api/pprof.js';
import { v2Routes } from './server/api/v2/routes.js';
import { clientTlsSide } from './server/tls/tls-side.js';
import { resolveInitialCluster } from './server/discovery/index.js';
import { startProxy } from './server/proxy/index.js';
import { ETCD_API_VERSION, ETCD_TS_VERSION } from './version.js';
import type { RangeRequest } from './pb/types.js';
import { failpointEnvError, FAILPOINTS_HTTP_ENV, FAILPOINTS_ON, FailpointSpecError, listFailpoints, setFailpointLogger } from './util/failpoints.js';
import { startFailpointHttp } from './util/failpoints-http.js';

async function run(cfg: Config, logger: Logger): Promise<void> {
  for (const e of cfg.envUsed) logger.info({ env: e }, 'recognized and used environment variable');
  for (const e of cfg.envUnknown) logger.warn({ env: e }, 'unrecognized environment variable');
  if (cfg.configFile) {
    logger.info(
      { path: cfg.configFile, 'ignored-keys': cfg.configFileUnknown },
      'loaded server configuration, other configuration command line flags and environment variables will be ignored if provided',
    );
  }
  logBackendQuota(cfg, logger);
  // Before the member starts: broken certificate files fail the start at once.
  const clientTls = clientTlsSide(cfg, logger);
  logger.info(
    { 'etcd-ts-version': ETCD_TS_VERSION, 'api-version': ETCD_API_VERSION, 'data-dir': cfg.dataDir, name: cfg.name },
    'starting etcd-ts',
  );
  // --discovery (and a data dir that holds a proxy) decide the cluster, or that this is no member.
  const plan = await resolveInitialCluster(cfg, logger);
  if (plan.kind === 'exit') return flushThenExit(logger, plan.code);
  if (plan.kind === 'proxy') return runProxy(cfg, plan.peerUrls, logger);
  const server = await composeServer(plan.cfg, logger);
  // The adapters see the member only through the ports of server/api/ports.ts
  // (the compiler checks here that EtcdServer provides them).
  const api = {
    info: server,
    kv: server.kv,
    watch: server,
    lease: withGrantQuota(server.leases, (cost) => server.maintenance.checkQuota(cost)),
    cluster: server,
    maintenance: server.maintenance,
    health: {
      get leader() { return server.leader; },
      range: (req: RangeRequest) => server.kv.range(req),
      activeAlarms: () => server.activeAlarms(),
      isLearner: () => server.isLearner(),
    },
    metrics: server,
    limits: server.cfg,
    auth: server.auth,
  };
  const grpcServer = createGrpcServer(api, logger, {
    maxConcurrentStreams: cfg.maxConcurrentStreams,
    keepaliveMinTimeMs: cfg.grpcKeepaliveMinTimeMs,
    keepaliveIntervalMs: cfg.grpcKeepaliveIntervalMs,
    keepaliveTimeoutMs: cfg.grpcKeepaliveTimeoutMs,
    // --metrics extensive (undefined with basic: no histogram is exported).
    ...(server.metrics.grpcHandling ? { handlingSeconds: server.metrics.grpcHandling } : {}),
  });
  let listeners: ClientListener[] = [];
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'received signal; shutting down');
    // GOAWAY to gRPC clients; unary calls in flight may finish (bounded).
    await grpcServer.close();
    await Promise.all(listeners.map((l) => l.close()));
    await server.stop();
    logger.info({}, 'stopped');
    logger.flush();
    process.exit(process.exitCode ?? 0);
  };
  process.on('SIGTERM', () => void stop('terminated'));
  process.on('SIGINT', () => void stop('interrupt'));

  // As etcd does, clients are served only once this member's attributes are
  // committed: every member a client can reach then appears in the member list
  // with its client URLs.
  await server.publish();
  logger.info(
    { 'local-member-id': server.memberId.toString(16), 'cluster-id': server.clusterId.toString(16), name: cfg.name },
    'published local member to cluster through raft',
  );
  const timeouts = { requestTimeoutMs: requestTimeoutMs(cfg) };
  const v2 = cfg.enableV2 ? { v2: v2Routes(api, cfg.v2Prefix !== '' ? { prefix: cfg.v2Prefix } : {}) } : {};
  const access = { cors: cfg.cors, hostWhitelist: cfg.hostWhitelist };
  const acceptor = clientTls ? { acceptor: clientTls.acceptor } : {};
  // --enable-grpc-gateway: /v3/... JSON calls the gRPC server's handlers.
  const gateway = cfg.enableGrpcGateway ? { routes: grpcServer, maxReceiveBytes: cfg.maxRequestBytes + GRPC_OVERHEAD_BYTES } : undefined;
  // The dashboard on the metrics port calls the client port (its own has no /v3).
  const clientHttp = httpHandler(api, { ...timeouts, ...v2, ...(gateway ? { gateway } : {}), ui: {} });
  const metricsHttp = httpHandler(api, { ...timeouts, metricsOnly: true, ui: { apiUrls: cfg.advertiseClientUrls.map((u) => u.origin) } });
  listeners = await listenClients(cfg.listenClientUrls, grpcServer, withAccessControl(withPprof(cfg.enablePprof, clientHttp), access), acceptor);
  listeners.push(...(await listenMetrics(cfg.listenMetricsUrls, metricsHttp, clientTls?.acceptor)));
  logger.info({ 'cluster-version': '3.4' }, 'enabled capabilities for version');
  for (const l of listeners) {
    logger.info({ address: l.address }, l.metrics ? 'serving metrics and health' : 'ready to serve client requests');
  }
}

/**
 * Exits once the log lines written so far are on stderr: an exit while the
 * asynchronous destination still writes can lose or reorder the last lines
 * (seen under load with etcd's multi-line discovery failures).
 */
async function flushThenExit(logger: Logger, code: number): Promise<never> {
  await logWritten(logger);
  process.exit(code);
}

/** A proxy instead of a member (server/proxy/): forwards client connections until SIGTERM/SIGINT. */
async function runProxy(cfg: Config, peerUrls: string[], logger: Logger): Promise<void> {
  const proxy = await startProxy(cfg, peerUrls, logger);
  const stop = (signal: string): void => {
    logger.info({ signal }, 'received signal; shutting down');
    void proxy.close().finally(() => flushThenExit(logger, 0));
  };
  process.once('SIGTERM', () => stop('terminated'));
  process.once('SIGINT', () => stop('interrupt'));
}

/** ETCD_TS_FAILPOINTS / ETCD_TS_FAILPOINTS_HTTP (src/util/failpoints.ts): a bad value refuses the start. */
async function startFailpoints(logger: Logger): Promise<void> {
  if (!FAILPOINTS_ON) return;
  const bad = failpointEnvError();
  if (bad) throw new ConfigError(bad.message, 1);
  setFailpointLogger(logger);
  const http = process.env[FAILPOINTS_HTTP_ENV];
  if (http !== undefined) {
    const server = await startFailpointHttp(http).catch((err: Error) => {
      throw new ConfigError(err instanceof FailpointSpecError ? err.message : `ETCD_TS_FAILPOINTS_HTTP: ${err.message}`, 1);
    });
    logger.info({ address: server.address() }, 'failpoint HTTP endpoint listening');
  }
  const armed = [...listFailpoints()].map(([n, t]) => `${n}=${t}`);
  logger.warn({ failpoints: armed }, 'failpoints enabled');
}

export async function runMember(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`etcd-ts: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    throw err;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(usage());
    return;
  }
  if (parsed.kind === 'version') {
    process.stdout.write(
      `etcd-ts Version: ${ETCD_TS_VERSION}\netcd API Version: ${ETCD_API_VERSION}\nNode Version: ${process.version}\nOS/Arch: ${process.platform}/${process.arch}\n`,
    );
    return;
  }
  const logger = createLogger(parsed.config.logLevel);
  try {
    await startFailpoints(logger);
    await run(parsed.config, logger);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`etcd-ts: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    logger.fatal({ err }, `failed to start: ${(err as Error).message}`);
    process.stderr.write(`etcd-ts: ${(err as Error).message}\n`);
    await flushThenExit(logger, 1);
  }
}

