// GET on /v2/keys without wait: a file, or a directory with its children (one
// level, or the whole tree with recursive), hidden ("_") children left out as
// etcd does, sorted by key when asked.

import type * as pb from '../../../pb/types.js';
import type { LeaseApi, RaftKV } from '../ports.js';
import { EcodeKeyNotFound, EcodeNotDir, V2Error } from './errors.js';
import { isHidden, parentOf, type V2Layout } from './layout.js';
import { sortNodes, type V2Event, type V2Node } from './node.js';
import { kvToNode, LeaseExpiries, utf8 } from './nodes.js';
import { prefixEnd, rangeRequest, readSnapshot } from './snapshot.js';
import { parentLeaseOf, resolve, walkKeys } from './walk.js';

/** Depth limit of a v2 path, as etcd's v2v3 (keeps a recursive listing bounded). */
export const MAX_PATH_DEPTH = 63;

export interface ReadOptions {
  recursive: boolean;
  sorted: boolean;
  /** quorum=true: a linearizable read; otherwise this member's state. */
  quorum: boolean;
}

export async function getNode(
  ports: { kv: RaftKV; lease: LeaseApi }, layout: V2Layout, p: string, opts: ReadOptions,
): Promise<V2Event> {
  const snap = await readSnapshot(ports.kv, layout.actionKey, { keys: walkKeys(layout, p), linearizable: opts.quorum });
  const r = resolve(snap, layout, p);
  if (r.kind === 'missing') throw new V2Error(EcodeKeyNotFound, r.at, snap.revision);
  if (r.kind === 'notDir') throw new V2Error(EcodeNotDir, r.at, snap.revision);
  const expiries = new LeaseExpiries(ports.lease);
  const node: V2Node = r.kv
    ? await kvToNode(layout, r.kv, expiries, { parentLease: parentLeaseOf(snap, layout, p) })
    : { key: '', dir: true, modifiedIndex: 0, createdIndex: 0 }; // the root: no key, no indexes
  if (r.kind === 'dir') {
    node.nodes = await listDir(ports.kv, layout, p, r.kv?.lease ?? 0n, BigInt(snap.revision), opts, expiries);
  }
  return { action: 'get', node, etcdIndex: snap.revision };
}

async function rangeAt(kv: RaftKV, prefix: string, revision: bigint): Promise<pb.KeyValue[]> {
  return (await kv.range(rangeRequest(prefix, { rangeEnd: prefixEnd(prefix), revision, serializable: true }))).kvs;
}

/** The children of directory p at a revision; the whole tree below it with recursive. */
async function listDir(
  kv: RaftKV, layout: V2Layout, p: string, dirLease: bigint, revision: bigint, opts: ReadOptions, expiries: LeaseExpiries,
): Promise<V2Node[]> {
  const top: V2Node[] = [];
  const dirs = new Map<string, V2Node>();
  const leases = new Map<string, bigint>([[p, dirLease]]);
  const maxDepth = opts.recursive ? MAX_PATH_DEPTH : 1;
  for (let depth = 1; depth <= maxDepth; depth++) {
    const kvs = await rangeAt(kv, layout.depthPrefix(p, depth), revision);
    if (kvs.length === 0) break;
    const nodes = await Promise.all(kvs.map(async (x) => {
      const n = await kvToNode(layout, x, expiries, { parentLease: leases.get(parentOf(layout.nodeOf(utf8(x.key))!.path)) ?? 0n });
      if (n.dir) leases.set(n.key, x.lease);
      return n;
    }));
    for (const n of nodes) {
      if (isHidden(n.key)) continue;
      const parent = depth === 1 ? undefined : dirs.get(parentOf(n.key));
      if (depth > 1 && !parent) continue; // under a hidden directory
      if (n.dir) dirs.set(n.key, n);
      if (parent) (parent.nodes ??= []).push(n);
      else top.push(n);
    }
  }
  if (opts.sorted) {
    sortNodes(top);
    for (const d of dirs.values()) if (d.nodes) sortNodes(d.nodes);
  }
  return top;
}
