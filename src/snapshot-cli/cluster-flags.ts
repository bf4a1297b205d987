// The cluster flags of `snapshot restore` checked as etcdctl 3.4.23 checks them
// (types.NewURLs / NewURLsMap, ServerConfig.VerifyBootstrap), with its error texts,
// and the new cluster they describe: member ids from the peer URLs and the token,
// the cluster id from the member ids, as a fresh etcd (or etcd-ts) cluster derives them.

import { clusterIdFor, memberIdFor } from '../server/ids.js';

export interface NewMember {
  name: string;
  id: bigint;
  peerURLs: string[];
}

export interface NewCluster {
  /** Sorted by id, as etcd's cluster.Members(). */
  members: NewMember[];
  self: NewMember;
  clusterId: bigint;
}

/** types.NewURLs: each URL checked, the list sorted. */
export function parseUrls(list: string[]): string[] {
  const out = list.map((raw) => {
    const s = raw.trim();
    const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)(.*)$/.exec(s);
    const scheme = m?.[1]?.toLowerCase() ?? '';
    if (!['http', 'https', 'unix', 'unixs'].includes(scheme)) throw new Error(`URL scheme must be http, https, unix, or unixs: ${s}`);
    const host = m![2]!;
    if (!/^(\[[^\]]*\]|[^:]*):[^:]*$/.test(host)) throw new Error(`URL address does not have the form "host:port": ${s}`);
    if (m![3] !== '' && m![3] !== undefined) throw new Error(`URL must not contain a path: ${s}`);
    return `${scheme}://${host}`;
  });
  return out.sort();
}

/** types.NewURLsMap: "name=url,name=url" (a name may repeat). */
export function parseUrlsMap(s: string): Map<string, string[]> {
  const raw = new Map<string, string[]>();
  for (const part of s.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = eq >= 0 ? part.slice(0, eq) : part;
    const value = eq >= 0 ? part.slice(eq + 1) : '';
    raw.set(key, [...(raw.get(key) ?? []), value]);
  }
  const out = new Map<string, string[]>();
  for (const [name, urls] of raw) out.set(name, parseUrls(urls));
  return out;
}

function mapString(m: Map<string, string[]>): string {
  const pairs: string[] = [];
  for (const [name, urls] of m) for (const u of urls) pairs.push(`${name}=${u}`);
  return pairs.sort().join(',');
}

/** Checks the flags as VerifyBootstrap does and derives the new cluster. */
export function newClusterFromFlags(name: string, initialCluster: string, advertisePeerUrls: string, token: string): NewCluster {
  const peerURLs = parseUrls(advertisePeerUrls.split(','));
  const cluster = parseUrlsMap(initialCluster);
  const mine = cluster.get(name);
  if (!mine) throw new Error(`couldn't find local name "${name}" in the initial cluster configuration`);
  const minePairs = mine.map((u) => `${name}=${u}`).join(',');
  if (mine.length !== peerURLs.length) {
    throw new Error(
      `--initial-cluster has ${minePairs} but missing from --initial-advertise-peer-urls=${peerURLs.join(',')} (len(${JSON.stringify(peerURLs)}) != len(${JSON.stringify(mine)}))`.replace(/","/g, '" "'),
    );
  }
  for (let i = 0; i < mine.length; i++) {
    if (mine[i] !== peerURLs[i]) {
      throw new Error(
        `--initial-cluster has ${minePairs} but missing from --initial-advertise-peer-urls=${peerURLs.join(',')} (resolved urls: "${peerURLs[i]}" != "${mine[i]}")`,
      );
    }
  }
  const seen = new Set<string>();
  for (const urls of cluster.values()) {
    for (const u of urls) {
      if (seen.has(u)) throw new Error(`initial cluster ${mapString(cluster)} has duplicate url`);
      seen.add(u);
    }
  }
  const members = [...cluster].map(([n, urls]) => ({ name: n, id: memberIdFor(urls, token), peerURLs: urls }));
  const ids = new Set<bigint>();
  for (const m of members) {
    if (ids.has(m.id)) throw new Error(`member exists with identical ID ${m.id.toString(16)}`);
    ids.add(m.id);
  }
  members.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { members, self: members.find((m) => m.name === name)!, clusterId: clusterIdFor(members.map((m) => m.id)) };
}
