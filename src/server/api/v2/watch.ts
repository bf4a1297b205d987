// wait=true on /v2/keys: a v3 watcher over the whole v2 layout, from waitIndex
// (or the next index), turning each revision's events back into the one v2
// event the write made (its action from the action key), and handing over those
// the v2 watch would see: the key itself, keys below it with recursive (hidden
// ones excepted), and the deletion of a directory above it. A waitIndex whose
// history is compacted answers 401, as etcd's v2 store does for history it no
// longer keeps.

import type { Event as MvccEvent, MvccWatchResponse as WatchResponse, WatchHub } from '../../../mvcc/index.js';
import { EcodeEventIndexCleared, V2Error } from './errors.js';
import type { V2Layout } from './layout.js';
import type { V2Action, V2Event, V2Node } from './node.js';
import { kvToNode, type LeaseExpiries, utf8 } from './nodes.js';
import { decodeAction } from './action-record.js';

export interface WaitRequest {
  key: string;
  recursive: boolean;
  /** 0: from the next change. */
  waitIndex: number;
}

/** Does a watch on `watched` see event `ev`? (etcd's watcherHub.notify and isHidden.) */
export function watchSees(ev: V2Event, watched: string, recursive: boolean): boolean {
  const path = ev.node?.key ?? '';
  if (path === watched) return true;
  const under = (child: string, dir: string): boolean => dir === '/' || child.startsWith(dir + '/');
  if (recursive && under(path, watched)) {
    const rest = watched === '/' ? path : path.slice(watched.length);
    return !rest.includes('/_');
  }
  const removal = ev.action === 'delete' || ev.action === 'expire' || ev.action === 'compareAndDelete';
  return removal && ev.node?.dir === true && under(watched, path);
}

/** The v2 event of one revision's v3 events; undefined when it is no v2 write (or a refresh). */
export async function v2EventOf(
  layout: V2Layout, events: MvccEvent[], revision: number,
  prevKv: (ev: MvccEvent) => Promise<MvccEvent['kv'] | undefined>, expiries: LeaseExpiries,
): Promise<V2Event | undefined> {
  let action: string | undefined;
  let primary: { ev: MvccEvent; path: string; dir: boolean } | undefined;
  // A set over a node deletes its key and puts it (or the directory's) again in
  // the same revision: the put is a creation (no prevKv), so the node it
  // replaced is what that delete removed.
  const deletedAt = new Map<string, MvccEvent>();
  const depth = (p: string): number => p.split('/').length;
  for (const ev of events) {
    const key = utf8(ev.kv.key);
    if (key === layout.actionKey) {
      if (ev.type === 'PUT') action = utf8(ev.kv.value);
      continue;
    }
    const n = layout.nodeOf(key);
    if (!n) continue;
    if (ev.type === 'DELETE' && !deletedAt.has(n.path)) deletedAt.set(n.path, ev);
    if (!primary) {
      primary = { ev, ...n };
      continue;
    }
    // A write creates missing parents (shorter puts) beside its node; a recursive
    // delete removes the tree below its node (longer deletes).
    const better = ev.type === 'PUT'
      ? primary.ev.type === 'DELETE' || depth(n.path) > depth(primary.path)
      : primary.ev.type === 'DELETE' && depth(n.path) < depth(primary.path);
    if (better) primary = { ev, ...n };
  }
  const record = action !== undefined ? decodeAction(action) : undefined;
  if (!primary || record?.refresh) return undefined;
  const act: V2Action = record?.action ?? 'expire'; // a lease's deletion puts no action
  const replaced = primary.ev.type === 'PUT' ? deletedAt.get(primary.path) : undefined;
  const prev = await prevKv(replaced ?? primary.ev);
  const prevNode = prev ? await kvToNode(layout, prev, expiries) : undefined;
  let node: V2Node;
  if (primary.ev.type === 'PUT') {
    // The TTL the write gave, not the lease's now: history shows the node as it was.
    node = await kvToNode(layout, primary.ev.kv, expiries, { ownLease: false });
    if (record?.ttl !== undefined && record.expiresAtMs !== undefined) {
      node.expiration = new Date(record.expiresAtMs);
      node.ttl = record.ttl;
    }
  } else {
    node = {
      key: primary.path,
      ...(primary.dir ? { dir: true } : {}),
      modifiedIndex: revision,
      createdIndex: prev ? Number(prev.createRevision) : 0,
    };
  }
  return { action: act, node, ...(prevNode ? { prevNode } : {}), etcdIndex: revision };
}

export interface WaitHandle {
  /** The index the watch started at (X-Etcd-Index of the answer). */
  readonly startIndex: number;
  cancel(): void;
}

/**
 * Starts a v2 watch; `onEvent` gets each matching event in order, `onError` a
 * 401 when the history is gone. Nothing is delivered before this returns.
 */
export interface WaitCallbacks {
  /** The watch is valid (its history is there): answer 200 now. Called once, before any event. */
  onReady(): void;
  onEvent(ev: V2Event): void;
  /** 401: the history from waitIndex is compacted. Nothing is called after it. */
  onError(err: V2Error): void;
}

export function startWait(
  hub: WatchHub, layout: V2Layout, req: WaitRequest, expiries: () => LeaseExpiries, cb: WaitCallbacks,
): WaitHandle {
  const current = hub.revision();
  let chain = Promise.resolve();
  let stopped = false;
  let ready = false;
  const markReady = (): void => {
    if (ready || stopped) return;
    ready = true;
    cb.onReady();
  };
  const handle = (res: WatchResponse): void => {
    if (res.compactRevision !== 0) {
      stopped = true;
      // etcd: [oldest index still kept/the index asked for]; a watch may start at the compacted revision.
      const cause = `the requested history has been cleared [${res.compactRevision}/${req.waitIndex}]`;
      cb.onError(new V2Error(EcodeEventIndexCleared, cause, hub.revision()));
      return;
    }
    const byRev = new Map<number, MvccEvent[]>();
    for (const ev of res.events) {
      const list = byRev.get(ev.kv.modRevision);
      if (list) list.push(ev);
      else byRev.set(ev.kv.modRevision, [ev]);
    }
    for (const [rev, evs] of byRev) {
      chain = chain.then(async () => {
        if (stopped) return;
        const ev = await v2EventOf(layout, evs, rev, async (e) => hub.prevKv(e), expiries());
        if (stopped || !ev || !watchSees(ev, req.key, req.recursive)) return;
        markReady();
        cb.onEvent(ev);
      });
    }
  };
  const watcher = hub.watch({
    id: 0n,
    range: { start: layout.start, end: layout.end },
    startRev: req.waitIndex,
    filters: { noPut: false, noDelete: false },
    sink: {
      send: (res) => {
        handle(res);
        return true;
      },
    },
    // Replaying history: valid once caught up (a compacted start is refused before that).
    onSynced: () => {
      chain = chain.then(markReady);
    },
  });
  // From the next index (or a future one): nothing to replay, valid at once.
  if (watcher.state === 'synced') queueMicrotask(markReady);
  return {
    startIndex: current,
    cancel: () => {
      stopped = true;
      hub.cancel(watcher);
    },
  };
}
