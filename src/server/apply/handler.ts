// A request handler applies the one request an InternalRaftRequest holds, at entry
// `index`. It returns the answer or throws; settle() (result.ts) sorts what it throws.
// Every handler moves the store's consistent index to `index`, in the same batch
// as its effects (or alone, when it changes nothing).

import type { Lessor } from '../../lease/index.js';
import type { MvccStore } from '../../mvcc/index.js';

/** What handlers apply to: the parts whose state every member must agree on. */
export interface ApplyContext {
  store: MvccStore;
  lessor: Lessor;
}

export interface RequestHandler {
  /** The request field it handles, for logs. */
  name: string;
  run(ctx: ApplyContext, index: number): unknown;
}
