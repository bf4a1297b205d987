// Before a new member lays out its data dir: the initial cluster found by
// --discovery-srv (DNS) or by etcd 3.6's v3 discovery (a registry cluster), put
// into the Config as if --initial-cluster (and, for v3 discovery, the token) had
// been given. index.ts calls these only for a data dir without a WAL, as etcd.
// Failures carry etcd's texts; nothing is written to the data dir before they.

import type { Logger } from 'pino';
import { type Config, ConfigError, parseInitialCluster, urlString } from '../config.js';
import { memberIdFor } from '../ids.js';
import { dnsResolver, srvCluster, SrvDiscoveryError, type SrvResolver } from './srv.js';
import { registryClient, type RegistryClient } from './v3-client.js';
import { joinV3Discovery, V3DiscoveryError } from './v3-discovery.js';
import { formatUrlsMap, hasDuplicateUrl } from './urls-map.js';

/** The initial cluster from the SRV records of --discovery-srv (etcd's PeerURLsMapAndToken). */
export async function srvInitialCluster(cfg: Config, logger: Logger, resolver: SrvResolver = dnsResolver()): Promise<Config> {
  let parts: string[];
  try {
    parts = await srvCluster(
      resolver,
      { name: cfg.name, advertisePeerUrls: cfg.initialAdvertisePeerUrls, domain: cfg.discoverySrv, serviceName: cfg.discoverySrvName },
      (node) => logger.info({ node }, 'got bootstrap from DNS for etcd-server'),
    );
  } catch (err) {
    if (!(err instanceof SrvDiscoveryError)) throw err;
    logger.warn({ error: err.message }, 'failed to resolve during SRV discovery');
    throw new Error(`error setting up initial cluster: ${err.message}`);
  }
  return { ...cfg, initialCluster: parseInitialCluster(parts.join(',')) };
}

/**
 * etcd 3.6's bootstrap with v3 discovery: the member id from this member's
 * advertise URLs and the discovery token, the registration, then the
 * discovered cluster with the token as the cluster token.
 */
export async function v3DiscoveryInitialCluster(
  cfg: Config,
  logger: Logger,
  newClient: () => RegistryClient = () => registryClient(cfg.v3Discovery!),
): Promise<Config> {
  const d = cfg.v3Discovery!;
  const advertised = cfg.initialAdvertisePeerUrls.map(urlString);
  // This member's "name=url" pairs, as registered (etcd's URLsMap.String()).
  const self = formatUrlsMap(new Map([[cfg.name, advertised]]));
  const memberId = memberIdFor(advertised, d.token);
  const log = logger.child({ 'discovery-token': d.token, 'discovery-endpoints': d.endpoints.join(',') });
  log.info({}, 'Bootstrapping cluster using v3 discovery.');
  let cluster: string;
  let client: RegistryClient | undefined;
  try {
    try {
      client = newClient();
    } catch (err) {
      // Unreadable --discovery-cert/-key/-cacert: etcd's clientv3 config fails the join.
      throw new V3DiscoveryError((err as Error).message);
    }
    cluster = await joinV3Discovery({ client, token: d.token, memberId, self, logger: log });
  } catch (err) {
    if (err instanceof V3DiscoveryError) {
      log.warn({ error: err.message }, 'failed to bootstrap; discovery token was already used');
      log.warn({}, 'do not reuse discovery token; generate a new one to bootstrap a cluster');
    }
    throw err;
  } finally {
    client?.close();
  }
  log.info({ cluster }, 'discovery joined cluster successfully');
  let initialCluster: Map<string, string[]>;
  try {
    initialCluster = parseInitialCluster(cluster);
  } catch (err) {
    if (err instanceof ConfigError) throw new V3DiscoveryError('discovery: invalid peer URL');
    throw err;
  }
  if (hasDuplicateUrl(initialCluster)) throw new Error(`discovery cluster ${formatUrlsMap(initialCluster)} has duplicate url`);
  return { ...cfg, initialCluster, initialClusterToken: d.token };
}
