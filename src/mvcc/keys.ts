// User keys travel through the index as latin1 strings (one char per byte), which
// compare exactly like the bytes do. These helpers convert and interpret etcd's
// range conventions.

const EMPTY = new Uint8Array(0);

// Buffer's latin1 decoder accepts any Uint8Array as `this`, which saves wrapping
// every key in a Buffer on the hot path; it yields a flat one-byte string.
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }).latin1Slice;

export function toSkey(key: Uint8Array): string {
  return latin1Slice.call(key, 0, key.length);
}

export function fromSkey(s: string): Uint8Array {
  const b = Buffer.from(s, 'latin1');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * etcd's key-range forms: empty rangeEnd = the single key; rangeEnd "\0" = every
 * key ≥ key (so key "\0" + rangeEnd "\0" = everything); otherwise [key, rangeEnd).
 */
export interface KeyRange {
  start: string;
  /** exclusive upper bound; null = unbounded */
  end: string | null;
  single: boolean;
}

export function keyRange(key: Uint8Array, rangeEnd: Uint8Array | undefined): KeyRange {
  const start = toSkey(key);
  if (!rangeEnd || rangeEnd.length === 0) return { start, end: null, single: true };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start, end: null, single: false };
  return { start, end: toSkey(rangeEnd), single: false };
}

export function bytesCompare(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export { EMPTY as EMPTY_BYTES };
