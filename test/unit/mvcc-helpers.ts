import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MvccStore, SortOrder, SortTarget, CompareResult, CompareTarget,
  type Compare, type DeleteRangeRequest, type KeyValue, type MvccOptions, type PutRequest, type RangeRequest,
} from '../../src/mvcc/index.js';

const te = new TextEncoder();
const td = new TextDecoder();
export const b = (s: string): Uint8Array => te.encode(s);
export const str = (u: Uint8Array): string => td.decode(u);

export function rr(key: string, rangeEnd = '', o: Partial<RangeRequest> = {}): RangeRequest {
  return {
    key: b(key), rangeEnd: rangeEnd === '\0' ? new Uint8Array([0]) : b(rangeEnd), limit: 0, revision: 0,
    sortOrder: SortOrder.None, sortTarget: SortTarget.Key, serializable: false, keysOnly: false, countOnly: false,
    minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0, ...o,
  };
}

export function pr(key: string, value: string, o: Partial<PutRequest> = {}): PutRequest {
  return { key: b(key), value: b(value), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false, ...o };
}

export function dr(key: string, rangeEnd = '', o: Partial<DeleteRangeRequest> = {}): DeleteRangeRequest {
  return { key: b(key), rangeEnd: rangeEnd === '\0' ? new Uint8Array([0]) : b(rangeEnd), prevKv: false, ...o };
}

export function cmp(key: string, target: CompareTarget, result: CompareResult, v: number | string | bigint, rangeEnd = ''): Compare {
  return {
    key: b(key), rangeEnd: rangeEnd === '\0' ? new Uint8Array([0]) : b(rangeEnd), target, result,
    version: target === CompareTarget.Version ? Number(v) : 0,
    createRevision: target === CompareTarget.Create ? Number(v) : 0,
    modRevision: target === CompareTarget.Mod ? Number(v) : 0,
    value: target === CompareTarget.Value ? b(String(v)) : new Uint8Array(0),
    lease: target === CompareTarget.Lease ? BigInt(v) : 0n,
  };
}

/** Compact, comparable form of a KeyValue. */
export const kvt = (kv: KeyValue): [string, string, number, number, number, bigint] =>
  [str(kv.key), str(kv.value), kv.createRevision, kv.modRevision, kv.version, kv.lease];

export const keys = (kvs: KeyValue[]): string[] => kvs.map((kv) => str(kv.key));

export class TmpStores {
  private dirs: string[] = [];
  private stores: MvccStore[] = [];
  async dir(): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), 'mvcc-test-'));
    this.dirs.push(d);
    return d;
  }
  async open(dir?: string, opts: MvccOptions = {}): Promise<MvccStore> {
    const s = await MvccStore.open(dir ?? (await this.dir()), { flushIntervalMs: 5, ...opts });
    this.stores.push(s);
    return s;
  }
  async cleanup(): Promise<void> {
    for (const s of this.stores) await s.close().catch(() => {});
    for (const d of this.dirs) await rm(d, { recursive: true, force: true });
    this.stores = []; this.dirs = [];
  }
}

export { SortOrder, SortTarget, CompareResult, CompareTarget };
