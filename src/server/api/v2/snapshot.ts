// A consistent view of the v2 keys one request looks at: every key read at one
// revision (the first read's), so a request decides on one state of the store.
// Writes then commit only if none of those keys (nor the action key, which every
// v2 write puts) changed since: an optimistic transaction, retried on conflict.

import type * as pb from '../../../pb/types.js';
import { CompareResult, CompareTarget } from '../../../pb/types.js';
import type { RaftKV } from '../ports.js';

export function rangeRequest(key: string, over: Partial<pb.RangeRequest> = {}): pb.RangeRequest {
  return {
    key: Buffer.from(key, 'utf8'), rangeEnd: Buffer.alloc(0), limit: 0n, revision: 0n, sortOrder: 0, sortTarget: 0,
    serializable: true, keysOnly: false, countOnly: false,
    minModRevision: 0n, maxModRevision: 0n, minCreateRevision: 0n, maxCreateRevision: 0n, ...over,
  };
}

/** The end of the range of keys starting with `prefix`, which always ends in "/" here. */
export function prefixEnd(prefix: string): Buffer {
  return Buffer.from(prefix.slice(0, -1) + '0', 'utf8');
}

export interface SnapshotRequest {
  /** Exact keys to read. */
  keys: string[];
  /** Prefixes whose emptiness matters (a directory's children). */
  prefixes?: string[];
  /** Wait for a ReadIndex barrier first (writes, quorum reads). */
  linearizable: boolean;
}

export class Snapshot {
  constructor(
    /** The store revision everything was read at (the v2 index). */
    readonly revision: number,
    private readonly kvs: Map<string, pb.KeyValue | undefined>,
    private readonly nonEmpty: Map<string, boolean>,
    readonly actionMod: bigint,
  ) {}

  get(key: string): pb.KeyValue | undefined {
    if (!this.kvs.has(key)) throw new Error(`v2 snapshot: ${key} was not read`);
    return this.kvs.get(key);
  }

  hasKeysUnder(prefix: string): boolean {
    const v = this.nonEmpty.get(prefix);
    if (v === undefined) throw new Error(`v2 snapshot: ${prefix} was not read`);
    return v;
  }

  /** Compares that hold while nothing read here changed (a missing key's mod revision compares as 0). */
  unchanged(actionKey: string): pb.Compare[] {
    const mod = (key: string, rev: bigint, rangeEnd?: Buffer): pb.Compare => ({
      result: CompareResult.EQUAL, target: CompareTarget.MOD, key: Buffer.from(key, 'utf8'),
      rangeEnd: rangeEnd ?? Buffer.alloc(0), modRevision: rev,
    });
    const out = [mod(actionKey, this.actionMod)];
    for (const [k, kv] of this.kvs) out.push(mod(k, kv?.modRevision ?? 0n));
    for (const [p, some] of this.nonEmpty) {
      // "still empty": every key in the range has version 0, which an empty range satisfies.
      if (!some) out.push({ result: CompareResult.EQUAL, target: CompareTarget.VERSION, key: Buffer.from(p, 'utf8'), rangeEnd: prefixEnd(p), version: 0n });
    }
    return out;
  }
}

export async function readSnapshot(kv: RaftKV, actionKey: string, req: SnapshotRequest): Promise<Snapshot> {
  const first = await kv.range(rangeRequest(actionKey, { serializable: !req.linearizable }));
  const revision = first.header!.revision;
  const at = { revision, serializable: true };
  const keys = [...new Set(req.keys)];
  const prefixes = [...new Set(req.prefixes ?? [])];
  const [values, counts] = await Promise.all([
    Promise.all(keys.map((k) => kv.range(rangeRequest(k, at)))),
    Promise.all(prefixes.map((p) => kv.range(rangeRequest(p, { ...at, rangeEnd: prefixEnd(p), limit: 1n, keysOnly: true })))),
  ]);
  return new Snapshot(
    Number(revision),
    new Map(keys.map((k, i) => [k, values[i]!.kvs[0]])),
    new Map(prefixes.map((p, i) => [p, counts[i]!.kvs.length > 0])),
    first.kvs[0]?.modRevision ?? 0n,
  );
}
