// An etcd 3.4 log entry as our applier applies it. Index, term and type stay; only
// the data changes where the two members' encodings differ:
//   - conf changes: etcd's context is its membership.Member as JSON (ConfigChangeContext,
//     with "isPromote"); ours is encodeMemberContext's JSON.
//   - v2 Requests: PUT /0/members/<id>/attributes (a member publishing its name and
//     client URLs) becomes the ClusterMemberAttrSet request our members propose; any
//     other v2 request (the cluster version, v2 keys we do not migrate) becomes an
//     empty entry, which our applier treats as a no-op of that term (so are etcd
//     3.5's ClusterVersionSet and DowngradeInfoSet).
//   - AuthUserAdd / AuthUserChangePassword: etcd 3.4 proposes the password and hashes
//     it when applying; ours applies a hash, so the password is hashed here.
// Everything else is etcd's InternalRaftRequest, which is ours: kept byte for byte.

import { encodeInternalRequest } from '../../pb/internal.js';
import type { InternalRaftRequest } from '../../pb/types.js';
import { decodeConfChange, encodeConfChange } from '../../raft/codec.js';
import { type Entry, EntryType } from '../../raft/types.js';
import { hashPassword } from '../../auth/password.js';
import { classifyPayload } from '../../snapshot/etcd-wal/index.js';
import { encodeMemberContext } from '../membership.js';

const ATTRIBUTES_PATH = /^\/0\/members\/([0-9a-f]+)\/attributes$/;
const EMPTY = new Uint8Array(0);

export interface EntryMapStats {
  /** v2 requests other than member attributes (and 3.5's cluster version / downgrade records), turned into empty entries. */
  v2Dropped: number;
  /** Passwords of user add / change password entries hashed here. */
  passwordsHashed: number;
}

interface EtcdMemberContext {
  peerURLs?: string[];
  isLearner?: boolean;
  name?: string;
  isPromote?: boolean;
}

function confChangeData(data: Uint8Array): Uint8Array {
  const cc = decodeConfChange(data);
  if (cc.context.length === 0) return encodeConfChange(cc);
  const ctx = JSON.parse(Buffer.from(cc.context).toString('utf8')) as EtcdMemberContext;
  const context = encodeMemberContext(
    { id: cc.nodeId, name: ctx.name ?? '', peerURLs: ctx.peerURLs ?? [], isLearner: ctx.isLearner === true },
    undefined,
    ctx.isPromote === true,
  );
  return encodeConfChange({ ...cc, context });
}

async function withHashedPasswords(req: InternalRaftRequest, bcryptCost: number, stats: EntryMapStats): Promise<Uint8Array | undefined> {
  const add = req.authUserAdd;
  if (add && add.hashedPassword === '' && add.password !== '' && !add.options?.noPassword) {
    stats.passwordsHashed++;
    return encodeInternalRequest({ ...req, authUserAdd: { ...add, password: '', hashedPassword: await hashPassword(add.password, bcryptCost) } });
  }
  const change = req.authUserChangePassword;
  if (change && change.hashedPassword === '' && change.password !== '') {
    stats.passwordsHashed++;
    return encodeInternalRequest({
      ...req,
      authUserChangePassword: { ...change, password: '', hashedPassword: await hashPassword(change.password, bcryptCost) },
    });
  }
  return undefined;
}

export async function mapEtcdEntry(e: Entry, bcryptCost: number, stats: EntryMapStats): Promise<Entry> {
  const out = (data: Uint8Array): Entry => ({ term: e.term, index: e.index, type: e.type, data, encoded: undefined });
  if (e.type === EntryType.ConfChange) return out(confChangeData(e.data));
  if (e.type !== EntryType.Normal) throw new Error(`entry ${e.index}: entry type ${e.type} is not one etcd 3.4 writes`);
  const payload = classifyPayload(e.data);
  if (payload.kind === 'empty') return out(EMPTY);
  if (payload.kind === 'v3') {
    // etcd 3.5's cluster version and downgrade records: nothing our members keep.
    if (payload.request.clusterVersionSet || payload.request.downgradeInfoSet) {
      stats.v2Dropped++;
      return out(EMPTY);
    }
    return out((await withHashedPasswords(payload.request, bcryptCost, stats)) ?? e.data);
  }
  const { request } = payload;
  const attrs = request.method === 'PUT' ? ATTRIBUTES_PATH.exec(request.path) : null;
  if (!attrs) {
    stats.v2Dropped++;
    return out(EMPTY);
  }
  const v = JSON.parse(request.val) as { name?: string; clientURLs?: string[] };
  return out(
    encodeInternalRequest({
      header: { ID: request.id },
      clusterMemberAttrSet: { memberID: BigInt('0x' + attrs[1]), memberAttributes: { name: v.name ?? '', clientUrls: v.clientURLs ?? [] } },
    }),
  );
}
