// Joining an existing cluster (--initial-cluster-state=existing, a member added
// with MemberAdd first): the cluster id and the member list come from the peers
// named in --initial-cluster; this member's id is the one the cluster gave its
// peer URLs. Checked as etcd's ValidateClusterAndAssignIDs checks it.

import type { Logger } from 'pino';
import { type Config, urlString } from './config.js';
import type { Member } from './membership.js';
import { fetchClusterInfo } from './member-peer-service.js';
import { peerDialer, type PeerDialer } from './tls/peer-dialer.js';

export interface Joined {
  memberId: bigint;
  clusterId: bigint;
  members: Member[];
}

const sameUrls = (a: string[], b: string[]): boolean =>
  a.length === b.length && [...a].sort().every((u, i) => u === [...b].sort()[i]);

export async function joinExistingCluster(cfg: Config, logger: Logger, dialer: PeerDialer = peerDialer()): Promise<Joined> {
  const own = cfg.initialAdvertisePeerUrls.map((u) => urlString(u));
  const urls = [...cfg.initialCluster.values()].flat().filter((u) => !own.includes(u));
  const deadline = Date.now() + 10_000;
  let info: Awaited<ReturnType<typeof fetchClusterInfo>> | undefined;
  for (;;) {
    try {
      info = await fetchClusterInfo(urls, 2000, dialer);
      break;
    } catch (err) {
      if (Date.now() >= deadline) {
        throw new Error(`cannot fetch cluster info from peer urls: ${(err as Error).message}`);
      }
      logger.warn({ err: (err as Error).message }, 'failed to get cluster information from peers; retrying');
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const local = [...cfg.initialCluster].map(([name, peerURLs]) => ({ name, peerURLs }));
  const initial = cfg.initialCluster.size === 0 ? '' : [...cfg.initialCluster].map(([n, us]) => us.map((u) => `${n}=${u}`).join(',')).join(',');
  if (info.members.length !== local.length) {
    throw new Error(`error validating peerURLs ${initial}: member count is unequal`);
  }
  let memberId: bigint | undefined;
  for (const l of local) {
    const match = info.members.find((m) => sameUrls(m.peerURLs, l.peerURLs));
    if (!match) {
      throw new Error(`error validating peerURLs ${initial}: unmatched member while checking PeerURLs ("${l.peerURLs.join(',')}")`);
    }
    if (l.name === cfg.name) memberId = match.id;
  }
  if (memberId === undefined) throw new Error(`couldn't find local name "${cfg.name}" in the initial cluster configuration`);
  return { memberId, clusterId: info.clusterId, members: info.members };
}
