// Range, as etcd's applierV3backend.Range + storeTxnRead.rangeKeys:
//  - revision ≤ 0 reads the current revision; above current → ErrFutureRev;
//    below the compacted revision → ErrCompacted (equal is fine).
//  - count is every key matching at that revision, before filters and limit.
//  - with no sort and no min/max filters, only limit+1 values are fetched (the
//    extra one tells `more`); otherwise everything is fetched, then filtered,
//    sorted, and cut to limit.
//  - a sort target other than KEY with order NONE means ASCEND.

import type { Backend } from './backend.js';
import type { ReadGuard } from './compaction.js';
import { errCompacted, errFutureRev } from './errors.js';
import { keyRange, bytesCompare, EMPTY_BYTES } from './keys.js';
import type { TreeIndex } from './tree-index.js';
import { SortOrder, SortTarget, type KeyValue, type RangeRequest, type RangeResponse } from './types.js';

export interface ReadContext {
  index: TreeIndex;
  backend: Backend;
  guard: ReadGuard;
  compactRev(): number;
}

export interface CollectedRevs { mains: number[]; subs: number[]; count: number }

/** Revisions visible at atRev for keys in the range; at most `limit` of them kept (0 = all). */
export function collectRevisions(index: TreeIndex, key: Uint8Array, rangeEnd: Uint8Array | undefined, atRev: number, limit: number, countOnly = false): CollectedRevs {
  const kr = keyRange(key, rangeEnd);
  const mains: number[] = [], subs: number[] = [];
  let count = 0;
  if (kr.single) {
    const info = index.get(kr.start)?.get(atRev);
    if (info) {
      count = 1;
      if (!countOnly) { mains.push(info.modMain); subs.push(info.modSub); }
    }
    return { mains, subs, count };
  }
  const want = countOnly ? 0 : limit > 0 ? limit : Infinity;
  index.visit(kr.start, kr.end, (ki) => {
    if (mains.length < want) {
      const info = ki.get(atRev);
      if (!info) return;
      mains.push(info.modMain); subs.push(info.modSub);
      count++;
    } else if (ki.existsAt(atRev)) {
      count++;
    }
  });
  return { mains, subs, count };
}

/** Checks the requested revision; returns the revision to read at. */
export function resolveReadRev(requested: number, curRev: number, compactRev: number): number {
  if (requested > curRev) throw errFutureRev();
  const rev = requested <= 0 ? curRev : requested;
  if (rev < compactRev) throw errCompacted();
  return rev;
}

function needsAll(req: RangeRequest): boolean {
  const filtered = req.minModRevision !== 0 || req.maxModRevision !== 0 || req.minCreateRevision !== 0 || req.maxCreateRevision !== 0;
  if (filtered) return true;
  // Ascending by key is the index's own order, so the limit+1 shortcut is still exact.
  if (req.sortOrder === SortOrder.None && req.sortTarget === SortTarget.Key) return false;
  if (req.sortOrder === SortOrder.Ascend && req.sortTarget === SortTarget.Key) return false;
  return true;
}

/**
 * Reads at curRev (the store's revision, or a write txn's view of it). The index
 * lookup happens synchronously, so the result is a consistent snapshot even while
 * later writes are applied during the value fetch.
 */
export function rangeAt(ctx: ReadContext, req: RangeRequest, curRev: number): RangeResponse | Promise<RangeResponse> {
  const rev = resolveReadRev(req.revision, curRev, ctx.compactRev());
  const limit = req.limit > 0 && !needsAll(req) ? req.limit + 1 : 0;
  const col = collectRevisions(ctx.index, req.key, req.rangeEnd, rev, limit, req.countOnly);
  if (req.countOnly || col.mains.length === 0) {
    return { kvs: [], more: false, count: col.count, revision: curRev };
  }
  const ticket = ctx.guard.enter();
  let fetched: KeyValue[] | Promise<KeyValue[]>;
  try {
    fetched = ctx.backend.fetchLive(col.mains, col.subs);
  } catch (err) {
    ctx.guard.leave(ticket);
    throw err;
  }
  if (Array.isArray(fetched)) {
    ctx.guard.leave(ticket);
    return finishRange(req, fetched, col.count, curRev);
  }
  return fetched.then(
    (kvs) => { ctx.guard.leave(ticket); return finishRange(req, kvs, col.count, curRev); },
    (err) => { ctx.guard.leave(ticket); throw err; },
  );
}

const cmpNum = (a: number, b: number): number => (a < b ? -1 : a > b ? 1 : 0);

function sorter(target: SortTarget): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case SortTarget.Version: return (a, b) => cmpNum(a.version, b.version);
    case SortTarget.Create: return (a, b) => cmpNum(a.createRevision, b.createRevision);
    case SortTarget.Mod: return (a, b) => cmpNum(a.modRevision, b.modRevision);
    case SortTarget.Value: return (a, b) => bytesCompare(a.value, b.value);
    default: return (a, b) => bytesCompare(a.key, b.key);
  }
}

/** Filters, sorts, limits and strips values, in etcd's order. Never mutates the input KeyValues (they are shared). */
export function finishRange(req: RangeRequest, input: KeyValue[], count: number, curRev: number): RangeResponse {
  let kvs = input;
  if (req.maxModRevision !== 0) kvs = kvs.filter((kv) => kv.modRevision <= req.maxModRevision);
  if (req.minModRevision !== 0) kvs = kvs.filter((kv) => kv.modRevision >= req.minModRevision);
  if (req.maxCreateRevision !== 0) kvs = kvs.filter((kv) => kv.createRevision <= req.maxCreateRevision);
  if (req.minCreateRevision !== 0) kvs = kvs.filter((kv) => kv.createRevision >= req.minCreateRevision);

  let order = req.sortOrder;
  if (req.sortTarget !== SortTarget.Key && order === SortOrder.None) order = SortOrder.Ascend;
  const alreadySorted = req.sortTarget === SortTarget.Key && order === SortOrder.Ascend;
  if (order !== SortOrder.None && !alreadySorted) {
    // Stable sort: ties keep key order, which is what Go's sort gives etcd for the
    // small result sets where tie order is observable.
    const cmp = sorter(req.sortTarget);
    kvs = kvs === input ? kvs.slice() : kvs;
    if (order === SortOrder.Descend) kvs.sort((a, b) => cmp(b, a));
    else kvs.sort(cmp);
  }

  let more = false;
  if (req.limit > 0 && kvs.length > req.limit) {
    kvs = kvs.slice(0, req.limit);
    more = true;
  }
  if (req.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY_BYTES }));
  return { kvs, more, count, revision: curRev };
}
