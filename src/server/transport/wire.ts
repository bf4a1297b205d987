// The snapshot transfer's wire format (proto/etcdserverpb/peer.proto):
// SnapshotChunk carries a MsgSnap in pieces over the gRPC SendSnapshot call.
// Hand-written protobuf; the payload is read in place (subarrays). (Ordinary Raft
// messages travel on the message stream instead: frames.ts, stream-protocol.ts.)

import { WireReader, WireWriter } from '../../pb/wire-messages.js';

const LEN = 2;

/**
 * One piece of a snapshot transfer. The first chunk carries `message` (the MsgSnap,
 * encoded, without its snapshot) and `payloadSize`; every chunk carries `data`; the
 * last has `last` set and the CRC-32C of the whole payload.
 */
export interface SnapshotChunk {
  message?: Uint8Array;
  payloadSize: number;
  data: Uint8Array;
  last: boolean;
  crc32c: number;
}

export function encodeSnapshotChunk(c: SnapshotChunk): Buffer {
  const w = new WireWriter(c.data.length + (c.message?.length ?? 0) + 32)
    .bytes(1, c.message)
    .uint(2, c.payloadSize)
    .bytes(3, c.data)
    .bool(4, c.last)
    .uint(5, c.crc32c);
  const out = w.finish();
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

export function decodeSnapshotChunk(buf: Uint8Array): SnapshotChunk {
  const r = new WireReader(buf);
  const c: SnapshotChunk = { payloadSize: 0, data: new Uint8Array(0), last: false, crc32c: 0 };
  while (!r.done()) {
    const [f, wt] = r.tag();
    if (f === 1 && wt === LEN) c.message = r.bytes();
    else if (f === 2) c.payloadSize = r.varint();
    else if (f === 3 && wt === LEN) c.data = r.bytes();
    else if (f === 4) c.last = r.varint() !== 0;
    else if (f === 5) c.crc32c = r.varint();
    else r.skip(wt);
  }
  return c;
}
