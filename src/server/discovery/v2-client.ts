// etcd 3.4's v2 discovery protocol, as a client (etcdserver/api/v2discovery):
//   1. GET <token>/_config/size        how many members the cluster will have
//   2. GET <token>                     who registered (sorted by createdIndex)
//   3. PUT <token>/<id hex>?prevExist=false, value "name=peerURL,..."   register
//   4. GET <token>?wait=true&waitIndex=N&recursive=true   until size have registered
// The first `size` registrations are the cluster; a member that finds itself
// beyond them finds the cluster full. Only "unreachable" (and 5xx) is retried,
// with etcd's backoff (2 s, 4 s, ... 256 s, then 256 s for ever); every other
// failure ends discovery with etcd's error.

import { posix } from 'node:path';
import type { Logger } from 'pino';
import { DiscoveryProtocolError, DiscoveryUnavailableError, V2KeysError, V2ResponseError, V2_NODE_EXIST } from './errors.js';
import { parseUrlsMap, UrlsMapError } from './urls-map.js';
import type { V2Keys, V2Node } from './v2-keys-http.js';

/** etcd's maxExpoentialRetries: the backoff doubles up to 2^8 s, then stays. */
const MAX_EXPONENTIAL_RETRIES = 8;

/** The wait before retry number `retries` (1-based), as etcd's logAndBackoffForRetry. */
export function backoffMs(retries: number): number {
  return 2 ** Math.min(retries, MAX_EXPONENTIAL_RETRIES) * 1000;
}

export interface V2DiscoveryDeps {
  keys: V2Keys;
  logger: Logger;
  /** The backoff's sleep (tests shorten it). */
  sleep?: (ms: number) => Promise<void>;
}

interface ClusterState {
  /** Registrations, sorted by createdIndex; only the first `size` when full. */
  nodes: V2Node[];
  size: number;
  /** X-Etcd-Index of the listing: the wait starts after it. */
  index: number;
  /** This member is not among the first `size` registrations. */
  full: boolean;
}

export class V2Discovery {
  private retries = 0;
  private readonly sleep: (ms: number) => Promise<void>;

  /**
   * `tokenPath`: the discovery URL's path ("/v2/keys/discovery/<token>");
   * `selfId`: this member's id (0 when only reading the cluster, as a proxy does).
   */
  constructor(
    private readonly tokenPath: string,
    private readonly selfId: bigint,
    private readonly deps: V2DiscoveryDeps,
  ) {
    this.sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Registers this member (value: its "name=peerURL,..." text) and waits for the cluster: the initial-cluster text. */
  async joinCluster(config: string): Promise<string> {
    // Fast path: a full cluster is refused before registering.
    if ((await this.checkCluster()).full) throw DiscoveryProtocolError.fullCluster;
    await this.createSelf(config);
    const state = await this.checkCluster();
    if (state.full) throw DiscoveryProtocolError.fullCluster;
    return nodesToCluster(await this.waitNodes(state), state.size);
  }

  /** The cluster's registrations without registering (a proxy's view): waits until it is complete. */
  async getCluster(): Promise<string> {
    const state = await this.checkCluster();
    if (state.full) return nodesToCluster(state.nodes, state.size);
    return nodesToCluster(await this.waitNodes(state), state.size);
  }

  private get selfKey(): string {
    return posix.join('/', this.tokenPath, this.selfId.toString(16));
  }

  private get log(): Logger {
    return this.deps.logger;
  }

  private async createSelf(contents: string): Promise<void> {
    let created;
    try {
      created = await this.deps.keys.create(this.selfKey, contents);
    } catch (err) {
      if (err instanceof V2KeysError && err.errorCode === V2_NODE_EXIST) throw DiscoveryProtocolError.duplicateId;
      throw err;
    }
    // The registration is visible on the server we talk to before we go on.
    await this.deps.keys.wait(this.selfKey, created.node.createdIndex, false);
  }

  private async checkCluster(): Promise<ClusterState> {
    const configKey = posix.join('/', this.tokenPath, '_config');
    const sizeKey = posix.join(configKey, 'size');
    let sizeText: string;
    try {
      sizeText = (await this.deps.keys.get(sizeKey)).node.value ?? '';
    } catch (err) {
      // etcd 3.4 means to answer "discovery: size key not found" for a missing key, but
      // its check never matches: the v2 error itself ends discovery (recorded).
      if (err === V2ResponseError.invalidJson) throw DiscoveryProtocolError.badDiscoveryEndpoint;
      if (err instanceof DiscoveryUnavailableError) return this.retryCheck(sizeKey, err);
      throw err;
    }
    // Go's ParseUint: digits only. Size 0 makes etcd 3.4 register, then crash
    // (nil pointer) bootstrapping no members; it is a bad size here.
    if (!/^\d+$/.test(sizeText) || BigInt(sizeText) > 0xffff_ffff_ffff_ffffn || BigInt(sizeText) === 0n) {
      throw DiscoveryProtocolError.badSizeKey;
    }
    const size = Number(sizeText);
    let listing;
    try {
      listing = await this.deps.keys.get(this.tokenPath);
    } catch (err) {
      if (err instanceof DiscoveryUnavailableError) return this.retryCheck(this.tokenPath, err);
      throw err;
    }
    const configName = posix.basename(configKey);
    const nodes = (listing.node.nodes ?? [])
      .filter((n) => posix.basename(n.key) !== configName)
      .sort((a, b) => a.createdIndex - b.createdIndex);
    const self = posix.basename(this.selfKey);
    for (let i = 0; i < nodes.length; i++) {
      if (posix.basename(nodes[i]!.key) === self) break;
      if (i >= size - 1) return { nodes: nodes.slice(0, size), size, index: listing.index, full: true };
    }
    return { nodes, size, index: listing.index, full: false };
  }

  private async retryCheck(path: string, err: DiscoveryUnavailableError): Promise<ClusterState> {
    this.log.warn(
      { 'discovery-url': this.deps.keys.endpoint, path, error: err.message, 'err-detail': err.detail },
      'failed to get from discovery server',
    );
    await this.backoff('cluster status check');
    return this.checkCluster();
  }

  private async backoff(reason: string): Promise<void> {
    this.retries++;
    const ms = backoffMs(this.retries);
    this.log.info({ url: this.deps.keys.endpoint, reason, backoff: `${ms / 1000}s` }, 'retry connecting to discovery service');
    await this.sleep(ms);
  }

  private async waitNodes(state: ClusterState): Promise<V2Node[]> {
    const { size } = state;
    const all = state.nodes.slice(0, size);
    const url = this.deps.keys.endpoint;
    const self = posix.basename(this.selfKey);
    for (const n of all) {
      if (posix.basename(n.key) === self) this.log.info({ 'discovery-url': url, self }, 'found self from discovery server');
      else this.log.info({ 'discovery-url': url, peer: posix.basename(n.key) }, 'found peer from discovery server');
    }
    let waitIndex = state.index + 1;
    while (all.length < size) {
      this.log.info({ 'discovery-url': url, 'found-peers': all.length, 'needed-peers': size - all.length }, 'found peers from discovery server; waiting for more');
      let event;
      try {
        event = await this.deps.keys.wait(this.tokenPath, waitIndex, true);
      } catch (err) {
        if (!(err instanceof DiscoveryUnavailableError)) throw err;
        this.log.error({ 'discovery-url': url, 'err-detail': err.detail }, 'failed to watch the discovery server');
        await this.backoff('waiting for other nodes');
        return this.waitNodes(await this.checkClusterOrFull());
      }
      waitIndex = event.node.modifiedIndex + 1;
      this.log.info({ 'discovery-url': url, peer: posix.basename(event.node.key) }, 'found peer from discovery server');
      all.push(event.node);
    }
    this.log.info({ 'discovery-url': url, 'found-peers': all.length }, 'found all needed peers from discovery server');
    return all;
  }

  /** After a failed wait, etcd checks again; a full cluster is then an error even for a reader. */
  private async checkClusterOrFull(): Promise<ClusterState> {
    const state = await this.checkCluster();
    if (state.full) throw DiscoveryProtocolError.fullCluster;
    return state;
  }
}

/** The registrations' values as the initial-cluster text, checked as etcd's nodesToCluster does. */
export function nodesToCluster(nodes: V2Node[], size: number): string {
  const text = nodes.map((n) => n.value ?? '').join(',');
  let map;
  try {
    map = parseUrlsMap(text);
  } catch (err) {
    if (err instanceof UrlsMapError) throw DiscoveryProtocolError.invalidUrl;
    throw err;
  }
  if (map.size !== size) throw DiscoveryProtocolError.duplicateName;
  return text;
}
