// A member that found its discovery cluster full (--discovery-fallback proxy), or
// a data dir that holds a proxy: no Raft, no store, only a forwarder on the
// client URLs to the members' client URLs. The members are learned from the
// peer URLs discovery named (or the cluster file), refreshed every
// --proxy-refresh-interval from GET /members on the peers, and remembered in
// <data-dir>/proxy/cluster.

import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { peerTlsSide } from '../tls/tls-side.js';
import { proxyDir, writeClusterFile } from './cluster-file.js';
import { ProxyEndpoints } from './endpoints.js';
import { clusterFromPeers } from './peer-members.js';
import { TcpForwarder } from './tcp-forwarder.js';

export { clusterFilePath, proxyDir, readClusterFile } from './cluster-file.js';

export interface RunningProxy {
  /** The bound client addresses. */
  addresses: string[];
  close(): Promise<void>;
}

/** etcd's defaultRefreshInterval: at or above it, an empty endpoint list is refreshed every second. */
const DEFAULT_REFRESH_MS = 30_000;
/** GET /members must answer within this (beyond the dial timeout). */
const MEMBERS_ANSWER_MS = 5_000;

export async function startProxy(cfg: Config, peerUrls: string[], logger: Logger): Promise<RunningProxy> {
  logger.info(
    { 'peer-urls': peerUrls },
    'proxy starting: client connections (gRPC, /v3 gateway, /v2, HTTP) are forwarded to the cluster members',
  );
  await mkdir(proxyDir(cfg.dataDir), { recursive: true, mode: 0o700 });
  const peerTls = peerTlsSide(cfg, logger);
  const endpoints = new ProxyEndpoints(cfg.proxyFailureWaitMs);
  let known = peerUrls;
  let announced = false;
  const refresh = async (): Promise<void> => {
    let view;
    try {
      view = await clusterFromPeers(known, peerTls.dialer, cfg.proxyDialTimeoutMs + MEMBERS_ANSWER_MS);
    } catch (err) {
      // Unlike etcd's proxy, the endpoints known so far are kept: the members may
      // still serve clients while their peer port is unreachable from here.
      logger.warn({ 'peer-urls': known, error: (err as Error).message }, 'failed to get cluster from remote peers');
      return;
    }
    endpoints.set(view.clientUrls);
    try {
      await writeClusterFile(cfg.dataDir, view.peerUrls);
    } catch (err) {
      logger.warn({ error: (err as Error).message }, 'proxy failed to write cluster file');
    }
    if (view.peerUrls.join(',') !== known.join(',')) logger.info({ from: known, to: view.peerUrls }, 'proxy updated peer URLs');
    known = view.peerUrls;
    if (!announced && view.clientUrls.length > 0) {
      announced = true;
      logger.info({ endpoints: endpoints.urls() }, 'proxy: endpoints found');
    }
  };
  await refresh();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (): void => {
    const empty = endpoints.urls().length === 0;
    // (0 would make etcd spin; a floor keeps the peers' /members from being hammered.)
    const wait = empty && cfg.proxyRefreshIntervalMs >= DEFAULT_REFRESH_MS ? 1_000 : Math.max(cfg.proxyRefreshIntervalMs, 100);
    timer = setTimeout(() => void refresh().finally(() => !stopped && schedule()), wait);
  };
  schedule();
  const forwarder = new TcpForwarder(endpoints, cfg.proxyDialTimeoutMs, logger);
  let addresses: string[];
  try {
    addresses = await forwarder.listen(cfg.listenClientUrls);
  } catch (err) {
    stopped = true;
    clearTimeout(timer);
    await forwarder.close();
    peerTls.side?.stop();
    throw err;
  }
  for (const host of addresses) logger.info({ host }, 'proxy started listening on client requests');
  return {
    addresses,
    close: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await forwarder.close();
      peerTls.side?.stop();
    },
  };
}
