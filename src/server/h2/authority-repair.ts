// Go's gRPC client, dialing an endpoint written as a URL (as etcdctl does for
// `endpoint status --cluster`, with the client URLs from the member list), sends
// ":authority: http://127.0.0.1:2379". etcd accepts it; Node's HTTP/2 layer
// (nghttp2) rejects a '/' in the authority and resets the stream, with no option to
// relax the check. So the first request of each connection is looked at before
// Node sees it, and such an authority is rewritten in place.
//
// The rewrite keeps the value's length (each invalid character becomes '_'): the
// client's encoder adds the header to its HPACK dynamic table, and the decoder's
// table must stay the same size for later requests that refer to it by index.

import { Flag, FRAME_HEADER_BYTES as FRAME_HEADER } from './frame.js';
import { encodeRawString, HpackError, readInt, readString } from './hpack.js';

/** ":authority" is entry 1 of the HPACK static table. */
const STATIC_AUTHORITY = 1;
const AUTHORITY_NAME = Buffer.from(':authority');

// What nghttp2 accepts in an authority: RFC 3986 unreserved, sub-delims, ':', '@', '[', ']', '%'.
const ALLOWED = new Uint8Array(256);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@[]%") {
  ALLOWED[c.charCodeAt(0)] = 1;
}
const UNDERSCORE = '_'.charCodeAt(0);

function repairValue(value: Uint8Array): Uint8Array | undefined {
  if (value.every((c) => ALLOWED[c] === 1)) return undefined;
  return value.map((c) => (ALLOWED[c] === 1 ? c : UNDERSCORE));
}

/** The header block with its :authority repaired, or undefined if nothing needed it. */
export function repairHeaderBlock(block: Uint8Array): Uint8Array | undefined {
  let pos = 0;
  while (pos < block.length) {
    const b = block[pos]!;
    if (b & 0x80) {
      pos = readInt(block, pos, 7)[1]; // indexed field
      continue;
    }
    if ((b & 0xe0) === 0x20) {
      pos = readInt(block, pos, 5)[1]; // dynamic table size update
      continue;
    }
    const [nameIndex, afterIndex] = readInt(block, pos, b & 0x40 ? 6 : 4);
    let valueStart = afterIndex;
    let isAuthority = nameIndex === STATIC_AUTHORITY;
    if (nameIndex === 0) {
      const [name, end] = readString(block, afterIndex);
      isAuthority = Buffer.from(name).equals(AUTHORITY_NAME);
      valueStart = end;
    }
    const [value, valueEnd] = readString(block, valueStart);
    if (isAuthority) {
      const fixed = repairValue(value);
      if (!fixed) return undefined;
      return Buffer.concat([block.subarray(0, valueStart), encodeRawString(fixed), block.subarray(valueEnd)]);
    }
    pos = valueEnd;
  }
  return undefined;
}

/**
 * A HEADERS frame (9-byte header included) with its :authority repaired, or
 * undefined when it needs no change or cannot be handled here (a header block
 * continued in CONTINUATION frames is left to Node).
 */
export function repairHeadersFrame(frame: Uint8Array): Uint8Array | undefined {
  const flags = frame[4]!;
  if (!(flags & Flag.END_HEADERS)) return undefined;
  const payload = frame.subarray(FRAME_HEADER);
  let start = 0;
  let padLength = 0;
  if (flags & Flag.PADDED) {
    padLength = payload[0]!;
    start = 1;
  }
  if (flags & Flag.PRIORITY) start += 5;
  const end = payload.length - padLength;
  if (end < start) return undefined;
  let block: Uint8Array | undefined;
  try {
    block = repairHeaderBlock(payload.subarray(start, end));
  } catch (err) {
    if (err instanceof HpackError) return undefined; // malformed: let Node reject it properly
    throw err;
  }
  if (!block) return undefined;
  const out = Buffer.concat([frame.subarray(0, FRAME_HEADER), payload.subarray(0, start), block, payload.subarray(end)]);
  out.writeUIntBE(out.length - FRAME_HEADER, 0, 3);
  return out;
}
