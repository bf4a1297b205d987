// The one place the boot path asks "which cluster do I start, and am I a member
// at all?" — etcd's split between startEtcd, startProxy and the discovery step of
// the server's bootstrap. main.ts calls resolveInitialCluster() before anything
// touches the data dir and acts on the plan:
//   member  start a member with plan.cfg (initialCluster/token resolved)
//   proxy   start a proxy to plan.peerUrls (server/proxy/)
//   exit    etcd's messages are logged; exit with plan.code
// Dispatch: discoveryMethod() names the mechanism the flags ask for; each has one
// branch in resolveFresh() and, for a proxy, one in proxyPeerUrls().
// Nothing is written to the data dir here except by a proxy (its cluster file).

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { WAL } from '../../wal/index.js';
import { layout } from '../bootstrap.js';
import type { Config } from '../config.js';
import { memberIdFor } from '../ids.js';
import { clusterFilePath, proxyDir, readClusterFile } from '../proxy/index.js';
import { DiscoveryJoinError, DiscoveryProtocolError } from './errors.js';
import { reportDiscoveryFailure } from './report.js';
import { allUrls, formatUrlsMap, hasDuplicateUrl, parseUrlsMap, type UrlsMap } from './urls-map.js';
import { V2Discovery } from './v2-client.js';
import { parseDiscoveryUrl } from './v2-url.js';
import { srvInitialCluster, v3DiscoveryInitialCluster } from './srv-or-v3.js';

export type InitialClusterPlan =
  | { kind: 'member'; cfg: Config }
  | { kind: 'proxy'; peerUrls: string[] }
  | { kind: 'exit'; code: 1 };

/**
 * The discovery mechanism the flags ask for ('none': --initial-cluster; 'v2':
 * --discovery; 'srv': --discovery-srv; 'v3': etcd 3.6's --discovery-endpoints).
 * config.ts lets at most one be set.
 */
export type DiscoveryMethod = 'none' | 'v2' | 'srv' | 'v3';

export function discoveryMethod(cfg: Config): DiscoveryMethod {
  if (cfg.discovery !== '') return 'v2';
  if (cfg.discoverySrv !== '') return 'srv';
  if (cfg.v3Discovery !== undefined) return 'v3';
  return 'none';
}

export interface ResolveOptions {
  /** The retry backoff's sleep (tests shorten it). */
  sleep?: (ms: number) => Promise<void>;
}

export async function resolveInitialCluster(cfg: Config, logger: Logger, opts: ResolveOptions = {}): Promise<InitialClusterPlan> {
  const dir = await dataDirKind(cfg);
  if (dir === 'both') {
    logger.fatal({ 'data-dir': cfg.dataDir }, 'invalid datadir; both member and proxy directories exist');
    return { kind: 'exit', code: 1 };
  }
  if (dir === 'proxy') {
    logger.info({ 'data-dir': cfg.dataDir, 'dir-type': 'proxy' }, 'server has been already initialized');
    return proxyPlan(cfg, logger, opts);
  }
  const method = discoveryMethod(cfg);
  if (method === 'none') return { kind: 'member', cfg };
  if (await WAL.exists(layout(cfg).walDir)) {
    // SRV records are looked up only for a new data dir too, but etcd says nothing then.
    if (method !== 'srv') {
      logger.warn({ 'wal-dir': layout(cfg).walDir }, 'discovery token is ignored since cluster already initialized; valid logs are found');
    }
    return { kind: 'member', cfg };
  }
  return resolveFresh(method, cfg, logger, opts);
}

async function resolveFresh(method: Exclude<DiscoveryMethod, 'none'>, cfg: Config, logger: Logger, opts: ResolveOptions): Promise<InitialClusterPlan> {
  switch (method) {
    case 'v2':
      return joinV2(cfg, logger, opts);
    // SRV and v3 failures throw etcd's texts to main's "failed to start" path.
    case 'srv':
      return { kind: 'member', cfg: await srvInitialCluster(cfg, logger) };
    case 'v3':
      // etcd 3.6 discovers only for a new cluster: with --initial-cluster-state=existing the
      // cluster is this member alone, so the join finds no peer to ask and fails, as there.
      if (cfg.initialClusterState === 'existing') return { kind: 'member', cfg };
      return { kind: 'member', cfg: await v3DiscoveryInitialCluster(cfg, logger) };
  }
}

/** --discovery: register, wait for the cluster, start with it (or fall back to a proxy when it is full). */
async function joinV2(cfg: Config, logger: Logger, opts: ResolveOptions): Promise<InitialClusterPlan> {
  const exit = (err: Error): InitialClusterPlan => ({
    kind: 'exit',
    code: reportDiscoveryFailure(err, { name: cfg.name, discovery: cfg.discovery, dataDir: cfg.dataDir }, logger),
  });
  if (cfg.initialClusterState === 'existing') return exit(new Error('discovery URL should not be set when joining existing initial cluster'));
  logger.info({ 'discovery-url': cfg.discovery, 'discovery-proxy': cfg.discoveryProxy }, 'bootstrapping the cluster through a discovery URL');
  const selfUrls = cfg.initialCluster.get(cfg.name)!;
  let text: string;
  try {
    const discovery = v2Discovery(cfg, memberIdFor(selfUrls, cfg.initialClusterToken), logger, opts);
    text = await discovery.joinCluster(formatUrlsMap(cfg.initialCluster));
  } catch (err) {
    const joinErr = new DiscoveryJoinError(err instanceof Error ? err : new Error(String(err)));
    if (joinErr.cause === DiscoveryProtocolError.fullCluster && cfg.discoveryFallback === 'proxy') {
      logger.warn({ 'fallback-proxy': 'proxy', error: joinErr.message }, 'discovery cluster is full, falling back to proxy');
      return proxyPlan(cfg, logger, opts);
    }
    return exit(joinErr);
  }
  const cluster = parseUrlsMap(text);
  if (hasDuplicateUrl(cluster)) return exit(new Error(`discovery cluster ${formatUrlsMap(cluster)} has duplicate url`));
  if (!cluster.has(cfg.name)) return exit(new Error(`couldn't find local name "${cfg.name}" in the initial cluster configuration`));
  return { kind: 'member', cfg: { ...cfg, initialCluster: cluster } };
}

function v2Discovery(cfg: Config, selfId: bigint, logger: Logger, opts: ResolveOptions): V2Discovery {
  const target = parseDiscoveryUrl(cfg.discovery, cfg.discoveryProxy);
  if (cfg.discoveryProxy !== '') logger.info({ 'proxy-url': cfg.discoveryProxy }, 'running proxy with discovery');
  return new V2Discovery(target.tokenPath, selfId, { keys: target.keys, logger, ...(opts.sleep ? { sleep: opts.sleep } : {}) });
}

/** etcd's startProxy: the cluster file if there is one, else the discovered (or configured) cluster. */
async function proxyPlan(cfg: Config, logger: Logger, opts: ResolveOptions): Promise<InitialClusterPlan> {
  const file = clusterFilePath(cfg.dataDir);
  const fromFile = await readClusterFile(cfg.dataDir);
  if (fromFile) {
    if (discoveryMethod(cfg) !== 'none') {
      logger.warn({ 'cluster-file': file }, 'discovery token ignored since the proxy has already been initialized; valid cluster file found');
    }
    logger.info({ 'peer-urls': fromFile, 'cluster-file': file }, 'proxy using peer URLS from cluster file');
    return { kind: 'proxy', peerUrls: fromFile };
  }
  let peers: UrlsMap = cfg.initialCluster;
  try {
    peers = await proxyPeerUrls(cfg, logger, opts);
  } catch (err) {
    logger.fatal({ error: (err as Error).message }, 'discovery failed');
    return { kind: 'exit', code: 1 };
  }
  const peerUrls = allUrls(peers);
  logger.info({ 'peer-urls': peerUrls }, 'proxy using peer URLS');
  return { kind: 'proxy', peerUrls };
}

/** The cluster a proxy forwards to, per mechanism (a reader: it registers nothing). */
async function proxyPeerUrls(cfg: Config, logger: Logger, opts: ResolveOptions): Promise<UrlsMap> {
  switch (discoveryMethod(cfg)) {
    case 'v2':
      return parseUrlsMap(await v2Discovery(cfg, 0n, logger, opts).getCluster());
    // Only --discovery finds a cluster full; a proxy restarted from its cluster file never gets here.
    case 'srv':
    case 'v3':
    case 'none':
      return cfg.initialCluster;
  }
}

/** etcd's identifyDataDir: what a previous start left ("member", "proxy", both, or nothing yet). */
async function dataDirKind(cfg: Config): Promise<'empty' | 'member' | 'proxy' | 'both'> {
  const isDir = async (p: string): Promise<boolean> => (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
  const member = await isDir(join(cfg.dataDir, 'member'));
  const proxy = await isDir(proxyDir(cfg.dataDir));
  if (member && proxy) return 'both';
  return member ? 'member' : proxy ? 'proxy' : 'empty';
}
