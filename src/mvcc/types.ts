// Domain types shared by the store and the server's API adapters. The adapters
// convert protobuf messages to and from exactly these shapes, so the names follow
// etcdserverpb / mvccpb field names in camelCase.

import type { OpenDb } from './db.js';

export interface KeyValue {
  key: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Uint8Array;
  lease: bigint;
}

export enum SortOrder { None = 0, Ascend = 1, Descend = 2 }
export enum SortTarget { Key = 0, Version = 1, Create = 2, Mod = 3, Value = 4 }

export interface RangeRequest {
  key: Uint8Array;
  rangeEnd: Uint8Array;
  limit: number;
  revision: number;
  sortOrder: SortOrder;
  sortTarget: SortTarget;
  serializable: boolean;
  keysOnly: boolean;
  countOnly: boolean;
  minModRevision: number;
  maxModRevision: number;
  minCreateRevision: number;
  maxCreateRevision: number;
}

export interface RangeResponse {
  kvs: KeyValue[];
  more: boolean;
  count: number;
  /** Store revision at read time (goes into the response header). */
  revision: number;
}

export interface PutRequest {
  key: Uint8Array;
  value: Uint8Array;
  lease: bigint;
  prevKv: boolean;
  ignoreValue: boolean;
  ignoreLease: boolean;
}

export interface PutResponse { prevKv?: KeyValue; revision: number }

export interface DeleteRangeRequest { key: Uint8Array; rangeEnd: Uint8Array; prevKv: boolean }
export interface DeleteRangeResponse { deleted: number; prevKvs: KeyValue[]; revision: number }

export enum CompareResult { Equal = 0, Greater = 1, Less = 2, NotEqual = 3 }
export enum CompareTarget { Version = 0, Create = 1, Mod = 2, Value = 3, Lease = 4 }

export interface Compare {
  result: CompareResult;
  target: CompareTarget;
  key: Uint8Array;
  rangeEnd: Uint8Array;
  version: number;
  createRevision: number;
  modRevision: number;
  value: Uint8Array;
  lease: bigint;
}

export type RequestOp = { range: RangeRequest } | { put: PutRequest } | { deleteRange: DeleteRangeRequest } | { txn: TxnRequest };
export type ResponseOp = { range: RangeResponse } | { put: PutResponse } | { deleteRange: DeleteRangeResponse } | { txn: TxnResponse };

export interface TxnRequest { compare: Compare[]; success: RequestOp[]; failure: RequestOp[] }
export interface TxnResponse { succeeded: boolean; responses: ResponseOp[]; revision: number }

export interface Event { type: 'PUT' | 'DELETE'; kv: KeyValue; prevKv?: KeyValue }

/** Minimal logger shape (pino-compatible) so src/mvcc needs no logging dependency. */
export interface MvccLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface MvccOptions {
  logger?: MvccLogger;
  /** Commit pending writes at least this often (etcd backend: 100 ms). */
  flushIntervalMs?: number;
  /** Commit as soon as this many writes are pending (etcd backend: 10 000). */
  flushMaxOps?: number;
  /** Bytes of decoded records kept in memory for reads (default 64 MiB; 0 = off). */
  cacheBytes?: number;
  /**
   * --unsafe-no-fsync: "synced" flushes are plain LevelDB writes (no sync), so a
   * power loss can take back what was applied. Unsafe; for tests and benchmarks.
   */
  unsafeNoFsync?: boolean;
  /** Revisions examined per physical-compaction batch (etcd: 1000). */
  compactBatchLimit?: number;
  /** Pause between physical-compaction batches so writers get the disk (etcd: 10 ms). */
  compactSleepMs?: number;
  /** Opens the database of the store directory (default LevelDB); tests inject crashable ones. */
  openDb?: OpenDb;
  /**
   * Finish an interrupted store-directory swap on the file system before opening
   * (store-dir.ts). Default true; false only where openDb keeps the store off the
   * file system (the deterministic simulation, test/sim, which does no real I/O).
   */
  recoverDir?: boolean;
  /**
   * Called once when storage fails (a LevelDB batch, or a read a write needed):
   * the store then rejects every write with StorageFailure; the member must stop.
   */
  onStorageFailure?: (err: Error) => void;
}
