// Key order and key ranges as etcd sees them: keys are byte strings compared
// byte by byte. The tests write UTF-8 text, and UTF-8 byte order equals code
// point order, which differs from JavaScript's UTF-16 `<` only when a surrogate
// pair meets a character in U+E000..U+FFFF; compareKeys handles that case so a
// range over such keys matches etcd's answer.

/** Negative, zero or positive as etcd's bytes.Compare on the keys' UTF-8 bytes. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (D800..DFFF) encode code points above U+FFFF: they sort after
    // every BMP character in UTF-8, though below U+E000 in UTF-16.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * Whether `key` lies in the request's range: `end` omitted or "" = the single
 * key; "\0" = every key >= `key`; otherwise [key, end).
 */
export function inKeyRange(key: string, start: string, end: string | undefined): boolean {
  if (end === undefined || end === '') return key === start;
  if (compareKeys(key, start) < 0) return false;
  if (end === '\0') return true;
  return compareKeys(key, end) < 0;
}

/** The keys of `keys` that lie in the range, sorted as etcd returns them. */
export function keysInRange(keys: Iterable<string>, start: string, end: string | undefined): string[] {
  if (end === undefined || end === '') {
    for (const k of keys) if (k === start) return [k];
    return [];
  }
  const out: string[] = [];
  for (const k of keys) if (inKeyRange(k, start, end)) out.push(k);
  return out.sort(compareKeys);
}
