// Does a user's set of permissions cover a key or a range? (etcd's
// range_perm_cache.go and its interval tree, as merged intervals.)
//
// Each permission is an interval of keys: a single key k is [k, k+"\0"), a range
// [key, rangeEnd), a from-key permission (rangeEnd "\0") [key, +inf). A user's
// read (write) intervals from all its roles are merged where they touch or
// overlap, so "the union covers the requested range" becomes "one merged
// interval contains it" — what etcd's Contains() computes by walking the tree.

import { type Permission, PermType } from './types.js';

/** [begin, end); end undefined: +infinity. */
interface Interval {
  begin: Uint8Array;
  end: Uint8Array | undefined;
}

const cmp = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b);
/** Compares two interval ends, undefined being +infinity. */
const cmpEnd = (a: Uint8Array | undefined, b: Uint8Array | undefined): number =>
  a === undefined ? (b === undefined ? 0 : 1) : b === undefined ? -1 : cmp(a, b);

const isFromKey = (rangeEnd: Uint8Array): boolean => rangeEnd.length === 1 && rangeEnd[0] === 0;

function pointEnd(key: Uint8Array): Uint8Array {
  const end = new Uint8Array(key.length + 1);
  end.set(key);
  return end;
}

function intervalOf(p: Permission): Interval {
  if (p.rangeEnd.length === 0) return { begin: p.key, end: pointEnd(p.key) };
  return { begin: p.key, end: isFromKey(p.rangeEnd) ? undefined : p.rangeEnd };
}

/** Sorted, non-touching intervals covering exactly the union of `ivs`. */
function merge(ivs: Interval[]): Interval[] {
  const sorted = [...ivs].sort((a, b) => cmp(a.begin, b.begin));
  const out: Interval[] = [];
  for (const iv of sorted) {
    const last = out[out.length - 1];
    // Contiguous when the next begins at or before the end so far (etcd: maxEnd >= begin).
    if (last && (last.end === undefined || cmp(iv.begin, last.end) <= 0)) {
      if (cmpEnd(iv.end, last.end) > 0) last.end = iv.end;
    } else {
      out.push({ begin: iv.begin, end: iv.end });
    }
  }
  return out;
}

/** One user's merged read and write permissions (etcd's unifiedRangePermissions). */
export class RangePermissions {
  private readonly read: Interval[];
  private readonly write: Interval[];

  constructor(perms: Iterable<Permission>) {
    const read: Interval[] = [];
    const write: Interval[] = [];
    for (const p of perms) {
      const iv = intervalOf(p);
      if (p.permType === PermType.READ || p.permType === PermType.READWRITE) read.push(iv);
      if (p.permType === PermType.WRITE || p.permType === PermType.READWRITE) write.push(iv);
    }
    this.read = merge(read);
    this.write = merge(write);
  }

  /**
   * Whether `type` (READ or WRITE) is granted on `key` (rangeEnd empty), on
   * [key, rangeEnd), or on every key from `key` (rangeEnd "\0").
   */
  permits(type: typeof PermType.READ | typeof PermType.WRITE, key: Uint8Array, rangeEnd: Uint8Array): boolean {
    const ivs = type === PermType.READ ? this.read : this.write;
    if (rangeEnd.length === 0) return ivs.some((iv) => cmp(iv.begin, key) <= 0 && cmpEnd(key, iv.end) < 0);
    const end = isFromKey(rangeEnd) ? undefined : rangeEnd;
    // The requested key itself must lie inside (etcd only visits intervals that
    // overlap the request), and the interval must reach the request's end.
    return ivs.some((iv) => cmp(iv.begin, key) <= 0 && cmpEnd(key, iv.end) < 0 && cmpEnd(iv.end, end) >= 0);
  }
}
