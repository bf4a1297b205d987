// How etcd's v2 store walks a path (v2store internalGet / checkDir), over a
// snapshot of the keys along it: the first missing component is "Key not found",
// a file where a directory is needed is "Not a directory".

import type * as pb from '../../../pb/types.js';
import { ancestors, parentOf, type V2Layout } from './layout.js';
import type { Snapshot } from './snapshot.js';

export type Resolved =
  | { kind: 'file'; kv: pb.KeyValue }
  /** kv absent: the root, which has no marker. */
  | { kind: 'dir'; kv?: pb.KeyValue }
  /** The path of the first component that does not exist. */
  | { kind: 'missing'; at: string }
  /** The path of a file found where a directory was needed. */
  | { kind: 'notDir'; at: string };

/** The keys a walk to p reads: a file and a marker for p and each ancestor. */
export function walkKeys(layout: V2Layout, p: string): string[] {
  if (p === '/') return [];
  return [...ancestors(p), p].flatMap((a) => [layout.fileKey(a), layout.dirKey(a)]);
}

function nodeAt(snap: Snapshot, layout: V2Layout, p: string): Resolved {
  const dir = snap.get(layout.dirKey(p));
  if (dir) return { kind: 'dir', kv: dir };
  const file = snap.get(layout.fileKey(p));
  if (file) return { kind: 'file', kv: file };
  return { kind: 'missing', at: p };
}

/** internalGet: the node at p, or why there is none. */
export function resolve(snap: Snapshot, layout: V2Layout, p: string): Resolved {
  if (p === '/') return { kind: 'dir' };
  for (const a of ancestors(p)) {
    const n = nodeAt(snap, layout, a);
    if (n.kind === 'missing') return n;
    if (n.kind === 'file') return { kind: 'notDir', at: a };
  }
  return nodeAt(snap, layout, p);
}

export type ParentCheck =
  | {
      ok: true;
      /** Ancestors to create (outermost first), as the v2 store's checkDir does. */
      missing: string[];
      /** The lease of the innermost existing ancestor with one (its children expire with it); 0n: none. */
      lease: bigint;
    }
  | { ok: false; notDir: string };

/** checkDir along p's ancestors, for a write at p. */
export function checkParents(snap: Snapshot, layout: V2Layout, p: string): ParentCheck {
  const missing: string[] = [];
  let lease = 0n;
  for (const a of ancestors(p)) {
    const n = nodeAt(snap, layout, a);
    if (n.kind === 'file') return { ok: false, notDir: a };
    if (n.kind === 'missing') missing.push(a);
    else if (n.kind === 'dir' && n.kv && n.kv.lease !== 0n) lease = n.kv.lease;
  }
  return { ok: true, missing, lease };
}

/** The lease of p's parent directory in the snapshot (0n at the top): what p holds when it has no TTL of its own. */
export function parentLeaseOf(snap: Snapshot, layout: V2Layout, p: string): bigint {
  const parent = parentOf(p);
  return parent === '/' ? 0n : snap.get(layout.dirKey(parent))?.lease ?? 0n;
}
