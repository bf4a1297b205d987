// A request's decoded header fields as the object Node's HTTP/2 layer gives
// (and the gRPC call reads): lowercase names, a repeated field as an array.

import type { RequestHeaders } from '../grpc/stream-port.js';
import type { HeaderList } from './hpack-decoder.js';

/**
 * The fields as an object, or undefined when the request is malformed (RFC
 * 7540 §8.1.2.1): a pseudo-header after a regular field or repeated, or
 * :method or :path missing.
 */
export function toHeaderObject(fields: HeaderList): RequestHeaders | undefined {
  const out: Record<string, string | string[]> = Object.create(null);
  let regularSeen = false;
  for (const [name, value] of fields) {
    if (name.charCodeAt(0) === 0x3a /* ':' */) {
      if (regularSeen || out[name] !== undefined) return undefined;
    } else {
      regularSeen = true;
    }
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  if (out[':method'] === undefined || out[':path'] === undefined) return undefined;
  return out;
}
