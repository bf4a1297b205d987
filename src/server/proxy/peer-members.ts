// What a proxy asks the cluster: GET <peer URL>/members on the members' peer port
// (etcd's GetClusterFromRemotePeers; our members and etcd's both serve it),
// which names every member's peer and client URLs.

import * as http from 'node:http';
import type { PeerDialer } from '../tls/peer-dialer.js';

export interface ClusterView {
  peerUrls: string[];
  clientUrls: string[];
}

export class NoClusterInfoError extends Error {
  constructor(readonly details: string[]) {
    super('could not retrieve cluster information from the given URLs');
  }
}

/** The first peer URL that answers names the cluster. */
export async function clusterFromPeers(peerUrls: string[], dialer: PeerDialer, timeoutMs: number): Promise<ClusterView> {
  const details: string[] = [];
  for (const url of peerUrls) {
    try {
      return parseMembers(await getMembers(url, dialer, timeoutMs));
    } catch (err) {
      details.push(`${url}: ${(err as Error).message}`);
    }
  }
  throw new NoClusterInfoError(details);
}

/** etcd's []*membership.Member JSON: the URLs of all members, each list sorted. */
export function parseMembers(body: string): ClusterView {
  const members = JSON.parse(body) as unknown;
  if (!Array.isArray(members)) throw new Error('members answer is not a list');
  const peerUrls: string[] = [];
  const clientUrls: string[] = [];
  for (const m of members as { peerURLs?: unknown; clientURLs?: unknown }[]) {
    for (const u of Array.isArray(m.peerURLs) ? m.peerURLs : []) if (typeof u === 'string') peerUrls.push(u);
    for (const u of Array.isArray(m.clientURLs) ? m.clientURLs : []) if (typeof u === 'string') clientUrls.push(u);
  }
  return { peerUrls: peerUrls.sort(), clientUrls: clientUrls.sort() };
}

function getMembers(peerUrl: string, dialer: PeerDialer, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const target = new URL('/members', peerUrl);
    const req = http.request(
      { method: 'GET', host: target.hostname, port: target.port, path: target.pathname, agent: false, createConnection: () => dialer.connect(peerUrl), timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`GET /members: ${res.statusCode}`));
          else resolve(Buffer.concat(chunks).toString('utf8'));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET /members: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
