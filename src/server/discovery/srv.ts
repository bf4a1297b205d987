// --discovery-srv: the initial cluster from DNS SRV records, as etcd builds it
// (pkg/srv GetCluster, embed's GetDNSClusterNames). Two services are asked,
// `_etcd-server-ssl<-name>._tcp.<domain>` (https peers) and
// `_etcd-server<-name>._tcp.<domain>` (http peers); their targets together are
// the cluster, and only when both give nothing does discovery fail (etcd 3.5+;
// 3.4.23 dropped the http records whenever it could look them up, so the seed's
// http-only zone never worked there). A target is this member when it resolves
// to the same TCP address as one of --initial-advertise-peer-urls; the others
// are named "0", "1", ... per service, as etcd names them (each member publishes
// its real name once it runs).
//
// The lookups go through a SrvResolver so that the logic is tested without DNS;
// dnsResolver() is node:dns (c-ares for SRV, getaddrinfo for hosts), which reads
// /etc/resolv.conf as Go's resolver does.

import { promises as dns, getServers } from 'node:dns';
import { isIP } from 'node:net';

export interface SrvRecord {
  /** Target host; a trailing dot is dropped. */
  name: string;
  port: number;
}

export interface SrvResolver {
  /** Records of `_<service>._tcp.<domain>`; rejects with a Go-worded lookup error. */
  lookupSrv(service: string, domain: string): Promise<SrvRecord[]>;
  /** host:port as an "ip:port" TCP address (Go's ResolveTCPAddr(...).String()). */
  resolveTcp(host: string, port: number): Promise<string>;
}

export class SrvDiscoveryError extends Error {}

export interface SrvQuery {
  /** This member's --name and --initial-advertise-peer-urls. */
  name: string;
  advertisePeerUrls: URL[];
  /** --discovery-srv and --discovery-srv-name. */
  domain: string;
  serviceName: string;
}

/** The SRV service name with https's -ssl and the optional -<name> suffix (etcd's GetSRVService). */
export function srvService(service: string, serviceName: string, scheme: 'http' | 'https'): string {
  const base = scheme === 'https' ? `${service}-ssl` : service;
  return serviceName !== '' ? `${base}-${serviceName}` : base;
}

/**
 * "name=url" parts of one service (etcd's srv.GetCluster). Throws the resolution
 * error of an advertise URL as is, and a failed SRV lookup (or nothing usable in
 * it) as "error querying DNS SRV records for _<service> <err>".
 */
export async function clusterFromService(
  resolver: SrvResolver,
  scheme: 'http' | 'https',
  service: string,
  q: SrvQuery,
): Promise<string[]> {
  const own = new Map<string, URL>();
  for (const u of q.advertisePeerUrls) own.set(await resolver.resolveTcp(hostOf(u), Number(u.port)), u);

  const parts: string[] = [];
  let failure: string | undefined;
  let temp = 0;
  try {
    for (const srv of await resolver.lookupSrv(service, q.domain)) {
      let addr: string;
      try {
        addr = await resolver.resolveTcp(srv.name, srv.port);
      } catch (err) {
        failure = (err as Error).message;
        continue;
      }
      const mine = own.get(addr);
      const name = mine ? q.name : String(temp++);
      const urlHost = joinHostPort(srv.name.replace(/\.$/, ''), srv.port);
      if (mine && mine.protocol !== `${scheme}:`) {
        failure = `bootstrap at ${scheme}://${urlHost} from DNS for ${service} has scheme mismatch with expected peer ${mine.href.replace(/\/$/, '')}`;
        continue;
      }
      parts.push(`${name}=${scheme}://${urlHost}`);
    }
  } catch (err) {
    failure = (err as Error).message;
  }
  if (parts.length === 0 && failure !== undefined) {
    throw new SrvDiscoveryError(`error querying DNS SRV records for _${service} ${failure}`);
  }
  return parts;
}

/**
 * The initial cluster from both services (https first), or a SrvDiscoveryError:
 * every lookup error (joined by newlines, as Go's errors.Join) when no record
 * was usable, and etcd's text when this member is not among the records.
 */
export async function srvCluster(resolver: SrvResolver, q: SrvQuery, found?: (part: string) => void): Promise<string[]> {
  const errors: string[] = [];
  const parts: string[] = [];
  for (const scheme of ['https', 'http'] as const) {
    try {
      parts.push(...(await clusterFromService(resolver, scheme, srvService('etcd-server', q.serviceName, scheme), q)));
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      errors.push(err.message);
    }
  }
  // An advertise URL that does not resolve fails both services alike: said once.
  if (parts.length === 0 && errors.length > 0) throw new SrvDiscoveryError([...new Set(errors)].join('\n'));
  for (const p of parts) found?.(p);
  if (!parts.some((p) => p.slice(0, p.indexOf('=')) === q.name)) {
    throw new SrvDiscoveryError(`cannot find local etcd member "${q.name}" in SRV records`);
  }
  return parts;
}

function hostOf(u: URL): string {
  return u.hostname.replace(/^\[|\]$/g, '');
}

function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Go's DNS error wording for a c-ares / getaddrinfo error code. */
function goReason(code: string | undefined): string {
  switch (code) {
    case 'ENOTFOUND':
    case 'ENODATA':
    case 'NXDOMAIN':
      return 'no such host';
    case 'ESERVFAIL':
    case 'EREFUSED':
    case 'EBADRESP':
      return 'server misbehaving';
    case 'ETIMEOUT':
      return 'i/o timeout';
    default:
      return code ?? 'lookup failed';
  }
}

function lookupError(name: string, err: unknown): Error {
  const server = getServers()[0];
  const on = server === undefined ? '' : ` on ${isIP(server) === 6 ? `[${server}]` : server}:53`;
  return new Error(`lookup ${name}${on}: ${goReason((err as NodeJS.ErrnoException).code)}`);
}

/** The machine's resolver: node:dns, configured by /etc/resolv.conf (and /etc/hosts for hosts). */
export function dnsResolver(): SrvResolver {
  return {
    async lookupSrv(service, domain) {
      const name = `_${service}._tcp.${domain}`;
      try {
        const records = await dns.resolveSrv(name);
        // Go returns them by priority, then weighted; the order only orders the cluster string.
        records.sort((a, b) => a.priority - b.priority || b.weight - a.weight);
        return records.map((r) => ({ name: r.name.replace(/\.$/, ''), port: r.port }));
      } catch (err) {
        throw lookupError(name, err);
      }
    },
    async resolveTcp(host, port) {
      if (isIP(host) !== 0) return joinHostPort(host, port);
      try {
        // Go's ResolveTCPAddr takes the first address, IPv4 before IPv6.
        const all = await dns.lookup(host, { all: true });
        const pick = all.find((a) => a.family === 4) ?? all[0]!;
        return joinHostPort(pick.address, port);
      } catch (err) {
        throw lookupError(host, err);
      }
    },
  };
}
