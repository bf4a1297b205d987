// HPACK encoding of response header blocks without a dynamic table: a field is
// a static-table index when name and value match one, else a literal "without
// indexing" naming the static entry when only the name matches, else a literal
// with its name. Nothing is ever added to the client's table, so no size
// update is ever needed. Blocks that never change (a gRPC response's headers,
// the OK status) are encoded once by the caller and reused.

import { encodeRawString, writeInt } from './hpack.js';
import { STATIC_EXACT, STATIC_NAME } from './hpack-static-table.js';

function pushString(out: number[], s: string): void {
  for (const b of encodeRawString(Buffer.from(s, 'latin1'))) out.push(b);
}

/** One header block from [name, value] pairs (lowercase names; values already valid for HTTP/2). */
export function encodeHeaderBlock(fields: Iterable<readonly [string, string]>): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    const index = STATIC_EXACT.get(`${name}\0${value}`);
    if (index !== undefined) {
      out.push(...writeInt(index, 7, 0x80));
      continue;
    }
    const nameIndex = STATIC_NAME.get(name);
    if (nameIndex !== undefined) {
      out.push(...writeInt(nameIndex, 4, 0x00));
    } else {
      out.push(0x00);
      pushString(out, name);
    }
    pushString(out, value);
  }
  return Buffer.from(out);
}
