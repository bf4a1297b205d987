// etcd 3.6's v3 discovery protocol (server/etcdserver/api/v3discovery), over a
// RegistryClient: on the registry cluster,
//   /_etcd/registry/<token>/_config/size          the expected member count
//   /_etcd/registry/<token>/members/<member id>   "name=peerURL,..." per member
// A member checks the size and the registrations, registers itself, and waits
// (a prefix watch) until `size` members are registered; the first `size` by
// create revision are the initial cluster. A missing or bad size fails at once;
// an unreachable registry is retried with etcd's backoff (2^n s, at most 256 s).

import type { Logger } from 'pino';
import type { RegistryClient, RegistryKv } from './v3-client.js';

export const ErrInvalidURL = 'discovery: invalid peer URL';
export const ErrBadSizeKey = 'discovery: size key is bad';
export const ErrSizeNotFound = 'discovery: size key not found';
export const ErrFullCluster = 'discovery: cluster is full';
export const ErrTooManyRetries = 'discovery: too many retries';

/** A failure etcd wraps as DiscoveryError{Op: "join"}: its text is "failed to join discovery cluster (<cause>)". */
export class V3DiscoveryError extends Error {
  constructor(readonly reason: string) {
    super(`failed to join discovery cluster (${reason})`);
  }
}

const MAX_EXPONENTIAL_RETRIES = 8;

export const registryPrefix = (token: string): string => `/_etcd/registry/${token}`;
export const sizeKey = (token: string): string => `${registryPrefix(token)}/_config/size`;
export const membersPrefix = (token: string): string => `${registryPrefix(token)}/members`;
/** Member keys carry the id as etcd's types.ID prints it: lowercase hex, no padding. */
export const memberKey = (token: string, id: bigint): string => `${membersPrefix(token)}/${id.toString(16)}`;

interface Registered {
  key: string;
  value: string;
  createRevision: bigint;
}

/** The registrations seen so far, ordered by create revision (etcd's clusterInfo). */
export class Registrations {
  private readonly members: Registered[] = [];

  constructor(private readonly token: string) {}

  get size(): number {
    return this.members.length;
  }

  /** Adds one registration; a reason string when it is not a valid one (logged, skipped). */
  add(kv: RegistryKv): string | undefined {
    const key = kv.key.trim();
    const value = kv.value.trim();
    if (!key.startsWith(membersPrefix(this.token))) return 'invalid peer registry key';
    if (!value.includes('=')) return 'invalid peer info returned from discovery service';
    if (this.members.some((m) => m.key === key)) return 'found duplicate peer from discovery service';
    this.members.push({ key, value, createRevision: kv.createRevision });
    this.members.sort((a, b) => (a.createRevision < b.createRevision ? -1 : a.createRevision > b.createRevision ? 1 : 0));
    return undefined;
  }

  /** True when `key` is not among the first `clusterSize` registrations although that many exist. */
  full(key: string, clusterSize: number): boolean {
    const at = this.members.findIndex((m) => m.key === key);
    return at < 0 ? this.members.length >= clusterSize : at >= clusterSize;
  }

  /** The first `clusterSize` registrations joined: the --initial-cluster string. */
  initialCluster(clusterSize: number): string {
    return this.members
      .slice(0, clusterSize)
      .map((m) => m.value)
      .join(',');
  }
}

/** "name=url,..." with every URL http(s)://host:port (etcd's types.NewURLsMap check). */
export function validClusterString(s: string): boolean {
  return s.split(',').every((part) => {
    const eq = part.indexOf('=');
    if (eq < 0) return false;
    try {
      const u = new URL(part.slice(eq + 1));
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.port !== '' && (u.pathname === '/' || u.pathname === '');
    } catch {
      return false;
    }
  });
}

export interface JoinOptions {
  client: RegistryClient;
  token: string;
  memberId: bigint;
  /** This member's "name=peerURL,..." (sorted pairs, etcd's URLsMap.String()). */
  self: string;
  logger: Logger;
  /** Backoff sleep (tests pass a fake). */
  sleep?: (ms: number) => Promise<void>;
  /** Retries before ErrTooManyRetries (etcd: 2^32 - 1). */
  maxRetries?: number;
}

class SizeError extends Error {}

/** Registers this member and resolves with the initial cluster once `size` members are registered. */
export async function joinV3Discovery(o: JoinOptions): Promise<string> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const maxRetries = o.maxRetries ?? 0xffffffff;
  const self = memberKey(o.token, o.memberId);
  let retries = 0;

  const backoff = async (step: string, err: unknown): Promise<void> => {
    if (retries >= maxRetries) throw new V3DiscoveryError(ErrTooManyRetries);
    retries++;
    const ms = 2 ** Math.min(retries, MAX_EXPONENTIAL_RETRIES) * 1000;
    o.logger.warn({ reason: step, backoff: `${ms / 1000}s`, error: (err as Error).message }, 'retry connecting to discovery service');
    await sleep(ms);
  };

  const clusterSize = async (): Promise<number> => {
    const { kvs } = await o.client.get(sizeKey(o.token), false);
    if (kvs.length === 0) throw new SizeError(ErrSizeNotFound);
    const v = kvs[0]!.value;
    // Go's strconv.ParseInt(v, 10, 0): an optional sign and decimal digits only.
    const n = /^[+-]?\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n <= 0) throw new SizeError(ErrBadSizeKey);
    return n;
  };

  const check = async (): Promise<{ regs: Registrations; size: number; revision: bigint }> => {
    for (;;) {
      try {
        const size = await clusterSize();
        const { kvs, revision } = await o.client.get(membersPrefix(o.token), true);
        retries = 0;
        const regs = new Registrations(o.token);
        for (const kv of kvs) logAdd(o.logger, regs, kv);
        if (regs.full(self, size)) throw new V3DiscoveryError(ErrFullCluster);
        return { regs, size, revision };
      } catch (err) {
        if (err instanceof SizeError) throw new V3DiscoveryError(err.message);
        if (err instanceof V3DiscoveryError) throw err;
        o.logger.warn({ error: (err as Error).message }, 'failed to get cluster status from discovery service');
        await backoff('cluster status check', err);
      }
    }
  };

  try {
    await o.client.connect();
  } catch (err) {
    throw new V3DiscoveryError((err as Error).message);
  }
  await check();
  for (;;) {
    try {
      await o.client.put(self, o.self);
      retries = 0;
      o.logger.info({ memberKey: self, memberInfo: o.self }, 'register member itself successfully');
      break;
    } catch (err) {
      o.logger.warn({ memberKey: self, error: (err as Error).message }, 'failed to register members itself to the discovery service');
      await backoff('register member itself', err);
    }
  }
  let { regs, size, revision } = await check();
  while (regs.size < size) {
    o.logger.info({ clusterSize: size, 'found-peers': regs.size }, 'waiting for peers from discovery service');
    try {
      await o.client.watchPuts(membersPrefix(o.token), revision + 1n, (kv) => {
        logAdd(o.logger, regs, kv);
        return regs.size >= size;
      });
    } catch (err) {
      // The registry went away mid-wait: read the registrations again once it is back.
      await backoff('watch peers', err);
      ({ regs, size, revision } = await check());
    }
  }
  o.logger.info({ clusterSize: size, 'found-peers': regs.size }, 'found all needed peers from discovery service');
  const cluster = regs.initialCluster(size);
  if (!validClusterString(cluster)) throw new V3DiscoveryError(ErrInvalidURL);
  return cluster;
}

function logAdd(logger: Logger, regs: Registrations, kv: RegistryKv): void {
  const problem = regs.add(kv);
  if (problem) logger.warn({ memberKey: kv.key, memberInfo: kv.value }, problem);
  else logger.info({ memberKey: kv.key, memberInfo: kv.value }, 'found peer from discovery service');
}
