// Plain HTTP/1 on the peer port (--listen-peer-urls), next to the gRPC peer
// service (listener.ts tells them apart by the first bytes), answering what etcd
// 3.4's peer handler answers to anyone who asks:
//   GET /version  {"etcdserver":"3.4.x","etcdcluster":"3.4.0"}, as on the client port;
//   GET /members  the member list, as etcd's membership.Member JSON: ids as decimal
//                 uint64 numbers (not hex strings), sorted by id, "isLearner" only
//                 when true, "name" and "clientURLs" only once the member has
//                 published them, a newline after the array (Go's json.Encoder), and
//                 the cluster id in X-Etcd-Cluster-Id (lowercase hex);
//   anything else 404 "404 page not found"; another method on those two, 405.
// etcd's /raft/* (rafthttp), /leases and /members/promote/ are not served: our
// members speak their own protocols to each other, the Raft message stream
// (an HTTP/1.1 upgrade, stream-protocol.ts) and gRPC (etcdts.peer.*) on HTTP/2.

import type * as http from 'node:http';
import { goError, reply, versionReply } from '../http-reply.js';
import type { PeerMemberInfo } from './types.js';

export interface PeerHttpSource {
  clusterId: bigint;
  /** The current member list; without it /members is not served (404). */
  members?(): PeerMemberInfo[];
}

export function peerHttpHandler(src: PeerHttpSource): http.RequestListener {
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    if (path === '/version') return versionReply(req, res);
    if (path === '/members' && src.members) {
      if (req.method !== 'GET') {
        res.setHeader('Allow', 'GET');
        return goError(res, 405, 'Method Not Allowed');
      }
      res.setHeader('X-Etcd-Cluster-Id', src.clusterId.toString(16));
      return reply(res, 200, membersJson(src.members()) + '\n', 'application/json');
    }
    goError(res, 404, '404 page not found');
  };
}

/** etcd's []*membership.Member as Go's encoding/json writes it (ids beyond 2^53 exact). */
export function membersJson(members: PeerMemberInfo[]): string {
  const sorted = [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return `[${sorted.map(memberJson).join(',')}]`;
}

function memberJson(m: PeerMemberInfo): string {
  let out = `{"id":${BigInt.asUintN(64, m.id).toString(10)},"peerURLs":${goStrings(m.peerURLs)}`;
  if (m.isLearner) out += ',"isLearner":true';
  if (m.name !== '') out += `,"name":${goString(m.name)}`;
  if (m.clientURLs.length > 0) out += `,"clientURLs":${goStrings(m.clientURLs)}`;
  return out + '}';
}

const goStrings = (xs: string[]): string => `[${xs.map(goString).join(',')}]`;

/** Go escapes <, >, & and U+2028/2029 in JSON strings; JSON.stringify does not. */
function goString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}
