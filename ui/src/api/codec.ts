// The gateway's JSON conventions (etcd's grpc-gateway): bytes fields are
// base64, int64 fields are decimal strings, and fields at their default value
// (0, false, "", PUT) are left out. Pure functions, shared by the pages and
// the unit tests (no DOM).

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8Bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

export function bytesToBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

export function base64ToBytes(b64: string | undefined): Uint8Array {
  if (!b64) return new Uint8Array(0);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Text → the base64 the gateway reads (UTF-8 bytes). */
export function encodeText(text: string): string {
  return bytesToBase64(utf8Bytes(text));
}

/** A bytes field as text: UTF-8 when it is, otherwise each byte that is not printable ASCII as \xNN. */
export function decodeText(b64: string | undefined): string {
  const bytes = base64ToBytes(b64);
  try {
    return decoder.decode(bytes);
  } catch {
    let s = '';
    for (const b of bytes) s += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : '\\x' + b.toString(16).padStart(2, '0');
    return s;
  }
}

/** An int64 field (string, number or absent) as a number; revisions and TTLs fit in 2^53. */
export function int(v: string | number | undefined | null): number {
  if (v === undefined || v === null || v === '') return 0;
  return typeof v === 'number' ? v : Number(v);
}

/** The smallest key after every key with this prefix (etcd's prefix range end); "\0" for the empty prefix: all keys. */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.slice(0, i + 1);
    }
  }
  return new Uint8Array([0]);
}

/** {key, range_end} of a prefix range, base64 as the gateway takes them. */
export function prefixRange(prefix: string): { key: string; range_end: string } {
  const bytes = utf8Bytes(prefix);
  if (bytes.length === 0) return { key: 'AA==', range_end: 'AA==' };
  return { key: bytesToBase64(bytes), range_end: bytesToBase64(prefixEnd(bytes)) };
}

/** A uint64 id as the gateway prints it (decimal string) → the 16-digit lowercase hex etcdctl prints. */
export function idHex(decimal: string | undefined): string {
  if (!decimal) return '0000000000000000';
  return BigInt(decimal).toString(16).padStart(16, '0');
}

/** The key just after `key` (for paging past it): key + "\0". */
export function keyAfter(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}
