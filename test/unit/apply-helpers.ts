// Shared helpers for the applier unit tests: a real store (LevelDB in a temp
// dir), a lessor and a membership, hooks that record what the applier did.

import { vi } from 'vitest';
import { type Entry, EntryType } from '../../src/raft/types.js';
import type { MvccStore } from '../../src/mvcc/index.js';
import { encodeInternalRequest } from '../../src/pb/index.js';
import type { Encodable, InternalRaftRequest } from '../../src/pb/types.js';
import { Applier, type ApplierHooks, type ApplierOptions, type ApplyFailure, type ApplyResult } from '../../src/server/apply/index.js';
import { toLeaseId, type Lessor } from '../../src/lease/index.js';
import { Membership } from '../../src/server/membership.js';
import { newLessor } from './lease-helpers.js';
import { b, TmpStores } from './mvcc-helpers.js';

export { b };

export type Body = Omit<Encodable<InternalRaftRequest>, 'header' | 'ID'>;

/** A Normal entry at `index` holding request `body` with request id `index`. */
export function req(index: number, body: Body): Entry {
  return { term: 1, index, type: EntryType.Normal, data: encodeInternalRequest({ ...body, header: { ID: BigInt(index) } }), encoded: undefined };
}

export const put = (index: number, key: string, value = 'v'): Entry => req(index, { put: { key: b(key), value: b(value) } });

export interface Rig {
  applier: Applier;
  store: MvccStore;
  lessor: Lessor;
  delivered: Map<bigint, ApplyResult>;
  appliedCalls: number[];
  fatal: ReturnType<typeof vi.fn<(f: ApplyFailure) => void>>;
  hooks: ApplierHooks;
}

export async function rig(stores: TmpStores, over: Partial<ApplierHooks> = {}, opts: ApplierOptions = {}): Promise<Rig> {
  const store = await stores.open();
  const { lessor } = newLessor();
  store.setLeaseChecker((lease) => lessor.has(toLeaseId(lease)));
  const delivered = new Map<bigint, ApplyResult>();
  const appliedCalls: number[] = [];
  const fatal = vi.fn<(f: ApplyFailure) => void>();
  const hooks: ApplierHooks = {
    applyConfChange: () => ({ voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }) as never,
    membersChanged: () => {},
    deliver: (id, result) => delivered.set(id, result),
    applied: (index) => appliedCalls.push(index),
    termStarted: () => {},
    fatal,
    ...over,
  };
  const applier = new Applier(store, new Membership(1n, 1n), lessor, hooks, undefined, opts);
  return { applier, store, lessor, delivered, appliedCalls, fatal, hooks };
}

/** Pushes `entries` and waits until the applier is idle again. */
export async function apply(r: Rig, ...entries: Entry[]): Promise<void> {
  r.applier.push(entries);
  await r.applier.drained();
}

/** The value of `key` in the store, or undefined. */
export async function get(store: MvccStore, key: string): Promise<string | undefined> {
  const res = await store.range({
    key: b(key), rangeEnd: new Uint8Array(0), limit: 0, revision: 0, sortOrder: 0, sortTarget: 0, serializable: true,
    keysOnly: false, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0,
  });
  const kv = res.kvs[0];
  return kv ? new TextDecoder().decode(kv.value) : undefined;
}
