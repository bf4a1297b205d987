// Bounded LRU of decoded records by revision. A revision's record never changes,
// so the cache needs no invalidation, only eviction (and compaction may leave
// dead entries in it, which are harmless: the index no longer points at them).
// It is fed with what reads fetch from LevelDB (not with writes: records not yet
// in LevelDB are read from the backend's overlay, and copying every write into
// the cache cost a copy per put and kept seconds of writes alive).

import type { KeyValue } from './types.js';

const OVERHEAD = 96; // rough per-entry cost of the objects around the bytes

const slot = (main: number, sub: number): string => `${main}.${sub}`;

export class KvCache {
  private readonly map = new Map<string, KeyValue>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(main: number, sub: number): KeyValue | undefined {
    if (this.maxBytes <= 0) return undefined;
    const k = slot(main, sub);
    const kv = this.map.get(k);
    if (kv !== undefined) { this.map.delete(k); this.map.set(k, kv); }
    return kv;
  }

  set(main: number, sub: number, kv: KeyValue): void {
    if (this.maxBytes <= 0) return;
    const k = slot(main, sub);
    if (this.map.has(k)) return;
    this.map.set(k, compact(kv));
    this.bytes += kv.key.length + kv.value.length + OVERHEAD;
    if (this.bytes > this.maxBytes) this.evict();
  }

  private evict(): void {
    for (const [k, kv] of this.map) {
      if (this.bytes <= this.maxBytes * 0.9) break;
      this.map.delete(k);
      this.bytes -= kv.key.length + kv.value.length + OVERHEAD;
    }
  }
}

/**
 * A copy whose key and value share one backing store of their own. Records come
 * from decoded requests, whose small byte fields are slices of shared 8 KiB pool
 * slabs; a cached slice would pin its whole slab for as long as it stays cached.
 */
function compact(kv: KeyValue): KeyValue {
  const kl = kv.key.length;
  const buf = new Uint8Array(kl + kv.value.length);
  buf.set(kv.key, 0);
  buf.set(kv.value, kl);
  return { ...kv, key: buf.subarray(0, kl), value: buf.subarray(kl) };
}
