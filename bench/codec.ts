// Codec throughput: encode+decode of a PutRequest and of a RangeResponse with
// 10 kvs, ops/s, ours vs protobufjs reflection (+ toObject for bigint plain
// objects, which is what we would otherwise need). Prints numbers only.
//   npm run build && node dist/bench/codec.js

import Long from 'long';
import protobuf from 'protobufjs';
import { messageCodec } from '../src/pb/index.js';
import { join } from 'node:path';
import { protoDir } from '../src/pb/protodir.js';
import { decodeKeyValue, encodeKeyValue } from '../src/mvcc/kv-codec.js';
import { encodeEvent, encodeHeader, encodeWatchResponse } from '../src/server/api/watch-encode.js';
import { encodeFrames, FrameDecoder } from '../src/server/transport/frames.js';
import { decodeLeaseRecord, encodeLeaseRecord } from '../src/lease/record.js';
import type { LeaseId } from '../src/lease/types.js';

function bench(label: string, fn: () => void, ms = 1000): number {
  for (let i = 0; i < 20_000; i++) fn(); // warm up the JIT
  let n = 0;
  const start = process.hrtime.bigint();
  const limit = BigInt(ms) * 1_000_000n;
  let elapsed = 0n;
  while (elapsed < limit) {
    for (let i = 0; i < 1000; i++) fn();
    n += 1000;
    elapsed = process.hrtime.bigint() - start;
  }
  const ops = Math.round(n / (Number(elapsed) / 1e9));
  console.log(`${label.padEnd(52)} ${ops.toLocaleString('en-US').padStart(12)} ops/s`);
  return ops;
}

const put = {
  key: Buffer.from('/registry/pods/default/nginx-7c5ddbdf54-x2x9q'),
  value: Buffer.alloc(256, 7),
  lease: 0x694d77ef0a1e2b0cn,
  prevKv: false,
};
const range = {
  header: { clusterId: 0xfedcba9876543210n, memberId: 0x8e9e05c52164694dn, revision: 123456n, raftTerm: 7n },
  kvs: Array.from({ length: 10 }, (_, i) => ({
    key: Buffer.from(`/registry/pods/default/pod-${i}`),
    createRevision: BigInt(1000 + i),
    modRevision: BigInt(120000 + i),
    version: 5n,
    value: Buffer.alloc(128, i),
    lease: 0n,
  })),
  more: false,
  count: 10n,
};

const putC = messageCodec('etcdserverpb.PutRequest');
const rangeC = messageCodec('etcdserverpb.RangeResponse');
const putBytes = putC.encode(put);
const rangeBytes = rangeC.encode(range);
console.log(`PutRequest ${putBytes.length} bytes, RangeResponse(10 kvs) ${rangeBytes.length} bytes`);

console.log('\netcd-ts compiled codec');
bench('PutRequest encode+decode', () => { putC.decode(putC.encode(put)); });
bench('PutRequest decode', () => { putC.decode(putBytes); });
bench('PutRequest encode', () => { putC.encode(put); });
bench('RangeResponse(10 kvs) encode+decode', () => { rangeC.decode(rangeC.encode(range)); });
bench('RangeResponse(10 kvs) decode', () => { rangeC.decode(rangeBytes); });
bench('RangeResponse(10 kvs) encode', () => { rangeC.encode(range); });

// Reference: protobufjs reflection codecs; 64-bit fields as Long (long.js is
// installed), then toObject to reach the same plain-object/bigint shape.
// A separate root with protobufjs's default camelCase names, as its users would load it.
const root = new protobuf.Root();
root.resolvePath = (_o: string, t: string) => join(protoDir(), t);
root.loadSync(['etcdserverpb/rpc.proto']);
const PutT = root.lookupType('etcdserverpb.PutRequest');
const RangeT = root.lookupType('etcdserverpb.RangeResponse');
const toLong = (v: bigint) => Long.fromString(v.toString());
const putPb = { ...put, lease: toLong(put.lease) };
const rangePb = {
  header: { ...range.header, clusterId: toLong(range.header.clusterId), memberId: toLong(range.header.memberId), revision: toLong(range.header.revision), raftTerm: toLong(range.header.raftTerm) },
  kvs: range.kvs.map((kv) => ({ ...kv, createRevision: toLong(kv.createRevision), modRevision: toLong(kv.modRevision), version: toLong(kv.version), lease: toLong(kv.lease) })),
  more: false,
  count: toLong(range.count),
};
const conv = { longs: BigInt, defaults: true, arrays: true } as protobuf.IConversionOptions;
console.log('\nprotobufjs reflection (Long), for comparison');
bench('PutRequest encode+decode', () => { PutT.decode(PutT.encode(putPb).finish()); });
bench('PutRequest encode+decode+toObject(bigint)', () => { PutT.toObject(PutT.decode(PutT.encode(putPb).finish()), conv); });
bench('RangeResponse(10 kvs) encode+decode', () => { RangeT.decode(RangeT.encode(rangePb).finish()); });
bench('RangeResponse(10 kvs) encode+decode+toObject(bigint)', () => { RangeT.toObject(RangeT.decode(RangeT.encode(rangePb).finish()), conv); });

// The hand-written encoders on the hot paths (stored KeyValues, watch fan-out,
// peer batches, lease records), all on the shared wire toolkit.
const storedKv = { key: put.key, createRevision: 1000, modRevision: 120000, version: 5, value: Buffer.alloc(128, 1), lease: 0x694d77ef0a1e2b0cn };
const storedBytes = encodeKeyValue(storedKv);
const ev = { type: 'PUT' as const, kv: storedKv };
const hdr = { clusterId: 0xfedcba9876543210n, memberId: 0x8e9e05c52164694dn, revision: 123456, raftTerm: 7n };
const msgs = Array.from({ length: 16 }, (_, i) => Buffer.alloc(100 + i * 50, i));
const frames = encodeFrames(msgs);
const frameDecoder = new FrameDecoder(1 << 20, () => {});
const leaseRec = { id: 0x694d77ef0a1e2b0cn as LeaseId, ttl: 60, remainingTtl: 30 };
const leaseBytes = encodeLeaseRecord(leaseRec);
console.log('\nhand-written encoders');
bench('mvcc KeyValue encode', () => { encodeKeyValue(storedKv); });
bench('mvcc KeyValue decode', () => { decodeKeyValue(storedBytes); });
bench('watch header + response(1 event) encode', () => { encodeWatchResponse({ header: encodeHeader(hdr), watchId: 3n }, [encodeEvent({ ...ev })]); });
bench('peer stream frames(16 msgs) encode', () => { encodeFrames(msgs); });
bench('peer stream frames(16 msgs) decode', () => { frameDecoder.push(frames); });
bench('lease record encode', () => { encodeLeaseRecord(leaseRec); });
bench('lease record decode', () => { decodeLeaseRecord(leaseBytes); });
