// Many keys fast: puts in txn batches of etcd's default --max-txn-ops over a few
// concurrent calls on one grpc-js channel (the dashboard's paging test and bench).

import { KvClient } from './kv-client.js';

/** etcd's default --max-txn-ops. */
const DEFAULT_TXN_OPS = 128;

export interface BulkOptions {
  /** Puts per txn: at most the members' --max-txn-ops (default 128). */
  txnOps?: number;
  /** Txns in flight at once. */
  parallel?: number;
}

/** Writes `count` keys `<prefix><n>` (zero-padded) in txn batches through one member's client endpoint (host:port). */
export async function writeMany(endpoint: string, prefix: string, count: number, opts: BulkOptions = {}): Promise<void> {
  const txnOps = opts.txnOps ?? DEFAULT_TXN_OPS;
  const parallel = opts.parallel ?? 4;
  const kv = new KvClient(endpoint, { timeoutMs: 30_000 });
  try {
    const batches: number[][] = [];
    for (let i = 0; i < count; i += txnOps) batches.push(Array.from({ length: Math.min(txnOps, count - i) }, (_, j) => i + j));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        await kv.txn({
          success: batch.map((n) => ({ requestPut: { key: Buffer.from(`${prefix}${String(n).padStart(6, '0')}`), value: Buffer.from(`v${n}`) } })),
        });
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
  } finally {
    kv.close();
  }
}
