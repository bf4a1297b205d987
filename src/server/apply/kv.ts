// KV requests: put, delete range, txn, compaction. The writes use the store's
// synchronous forms: an entry that needs no LevelDB read is applied without a promise.

import type { InternalRaftRequest } from '../../pb/types.js';
import { deleteFromPb, putFromPb, txnFromPb } from '../kv-convert.js';
import type { RequestHandler } from './handler.js';

export function kvHandler(req: InternalRaftRequest): RequestHandler | undefined {
  const { put, deleteRange, txn, compaction } = req;
  if (put) return { name: 'put', run: ({ store }, index) => store.putNow(putFromPb(put), index) };
  if (deleteRange) return { name: 'deleteRange', run: ({ store }, index) => store.deleteRangeNow(deleteFromPb(deleteRange), index) };
  if (txn) return { name: 'txn', run: ({ store }, index) => store.txnNow(txnFromPb(txn), index) };
  if (compaction) {
    return {
      name: 'compaction',
      run: async ({ store }, index) => {
        // The physical compaction continues in the background; `done` tells when.
        const { done } = await store.compact(Number(compaction.revision), index);
        return { done };
      },
    };
  }
  return undefined;
}
