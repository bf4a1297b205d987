// `etcd-ts discovery`: flags → backing store (the --etcd cluster, or an embedded
// member in standalone mode) → HTTP service and collector; a clean stop on
// SIGTERM/SIGINT (listener closed, long polls cut, collector stopped, embedded
// member stopped), exit 0. A config error exits 2 with the usage, as
// discoveryserver's flag errors do; the embedded member dying ends the service (1).

import * as http from 'node:http';
import { createLogger, type Logger } from '../server/logger.js';
import { BackingV2 } from './backing-v2.js';
import { ConfigError, discoveryUsage, parseDiscoveryArgs, type DiscoveryConfig } from './config.js';
import { EmbeddedMember } from './embedded-member.js';
import { GarbageCollector } from './garbage-collector.js';
import { discoveryHandler } from './service.js';
import { TokenStore } from './token-store.js';

export interface RunningDiscovery {
  /** Where the HTTP service listens (the port is the real one for --addr :0). */
  address: { host: string; port: number };
  /** Standalone mode: resolves with the embedded member's exit code if it ends. */
  embeddedExit: Promise<number | null> | undefined;
  stop(): Promise<void>;
}

function listen(server: http.Server, cfg: DiscoveryConfig): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.listen.port, cfg.listen.host, () => {
      server.off('error', reject);
      const a = server.address() as { address: string; port: number };
      resolve({ host: a.address, port: a.port });
    });
  });
}

export async function startDiscovery(cfg: DiscoveryConfig, logger: Logger): Promise<RunningDiscovery> {
  const member = cfg.etcdEndpoints.length === 0 ? await EmbeddedMember.start({ dataDir: cfg.dataDir, logLevel: cfg.logLevel, logger }) : undefined;
  const backing = new BackingV2(member ? [member.clientUrl] : cfg.etcdEndpoints);
  const store = new TokenStore(backing);
  const gc = new GarbageCollector(store, { minAgeMs: cfg.minAgeMs, intervalMs: cfg.gcIntervalMs }, logger);
  const server = http.createServer(discoveryHandler({ store, publicHost: cfg.publicHost, logger }));
  let address;
  try {
    address = await listen(server, cfg);
  } catch (err) {
    await member?.stop();
    throw err;
  }
  gc.start();
  logger.info({ etcd: backing.endpoints, host: cfg.publicHost, standalone: member !== undefined }, 'discovery server started');
  logger.info({ address: `${address.host}:${address.port}` }, 'discovery serving');
  return {
    address,
    embeddedExit: member?.whenExited(),
    async stop() {
      await gc.stop();
      const closed = new Promise((r) => server.close(r));
      server.closeAllConnections(); // long polls would otherwise hold the close
      await closed;
      backing.close();
      await member?.stop();
    },
  };
}

export async function runDiscoveryCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  let parsed;
  try {
    parsed = parseDiscoveryArgs(argv, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`etcd-ts discovery: ${err.message}\n${discoveryUsage()}`);
    process.exit(2);
  }
  if (parsed.kind === 'help') {
    process.stdout.write(discoveryUsage());
    return;
  }
  const logger = createLogger(parsed.config.logLevel, 'discovery');
  for (const e of parsed.envUsed) logger.info({ env: e }, 'recognized and used environment variable');
  let running: RunningDiscovery | undefined;
  let stopping = false;
  const finish = async (code: number): Promise<void> => {
    await running?.stop();
    logger.info({}, 'stopped');
    logger.flush();
    process.exit(code);
  };
  const stop = (reason: string, code = 0): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal: reason }, 'received signal; shutting down');
    // A signal while the embedded member is starting: stopped once the start is over.
    if (running) void finish(code);
  };
  process.on('SIGTERM', () => stop('terminated'));
  process.on('SIGINT', () => stop('interrupt'));
  try {
    running = await startDiscovery(parsed.config, logger);
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, 'discovery server failed to start');
    logger.flush();
    process.stderr.write(`etcd-ts discovery: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (stopping) return finish(0);
  void running.embeddedExit?.then((code) => {
    if (stopping) return;
    logger.fatal({ code }, 'embedded etcd-ts member exited; stopping the discovery service');
    stop('embedded member exited', 1);
  });
}
