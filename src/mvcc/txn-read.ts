// A read-only Txn (isTxnReadonly: ranges only, top level), served from the store
// without the apply loop, as etcd 3.4's EtcdServer.Txn serves one through a read
// view. Every compare and range sees one revision: the store's when the txn starts.
//
// Applies go on while the txn waits for LevelDB: their revisions are newer, and
// the index still answers at the txn's revision. Only a compaction can take
// what it needs out of the index (it drops revisions at once), so a txn during
// which one was applied starts over at the store's revision then — as if it had
// come after the compaction, which is where etcd's would wait.

import { checkRequests, evalPaths, type TxnView } from './txn-apply.js';
import { rangeAt } from './range.js';
import { isTxnReadonly } from './txn.js';
import type { RangeRequest, RangeResponse, ResponseOp, TxnRequest, TxnResponse } from './types.js';
import type { WriteContext } from './write-txn.js';

export async function readTxn(ctx: WriteContext, req: TxnRequest): Promise<TxnResponse> {
  if (!isTxnReadonly(req)) throw new Error('mvcc: readTxn given a txn that writes');
  for (;;) {
    const compactedBefore = ctx.compactRev();
    try {
      const resp = await readTxnAt(ctx, req, ctx.currentRevision());
      if (ctx.compactRev() === compactedBefore) return resp;
    } catch (err) {
      // "compacted" from a range whose revision the compaction took: start over.
      if (ctx.compactRev() === compactedBefore) throw err;
    }
  }
}

async function readTxnAt(ctx: WriteContext, req: TxnRequest, rev: number): Promise<TxnResponse> {
  const view: TxnView = { rev, range: (r: RangeRequest): RangeResponse | Promise<RangeResponse> => rangeAt(ctx, r, rev) };
  const paths = new Map<TxnRequest, boolean>();
  await evalPaths(ctx, view, req, paths);
  checkRequests(ctx, rev, req, paths);
  const succeeded = paths.get(req)!;
  const responses: ResponseOp[] = [];
  for (const op of succeeded ? req.success : req.failure) {
    if ('range' in op) responses.push({ range: await view.range(op.range) });
  }
  return { succeeded, responses, revision: rev };
}
