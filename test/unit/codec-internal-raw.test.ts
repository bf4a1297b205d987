import { describe, expect, it } from 'vitest';
import { WireWriter } from '../../src/pb/wire-messages.js';
import {
  decodeInternalRequest,
  encodeInternalRequest,
  encodeInternalRequestRaw,
  INTERNAL_FIELD,
  messageCodec,
} from '../../src/pb/index.js';

describe('InternalRaftRequest from raw request bytes', () => {
  it('decodes exactly like the re-encoded request', () => {
    const put = messageCodec('etcdserverpb.PutRequest');
    const bytes = put.encode({ key: Buffer.from('k'), value: Buffer.from('v'), lease: 2n ** 60n, prevKv: true });
    const id = 0xfedcba9876543210n;
    const viaRaw = decodeInternalRequest(encodeInternalRequestRaw(id, INTERNAL_FIELD.put, bytes));
    const viaEncode = decodeInternalRequest(encodeInternalRequest({ header: { ID: id }, put: put.decode(bytes) }));
    expect(viaRaw).toEqual(viaEncode);
    expect(viaRaw.put?.lease).toBe(2n ** 60n);
    expect(viaRaw.header?.ID).toBe(id);
  });

  it('carries a txn with nested ops unchanged', () => {
    const txn = messageCodec('etcdserverpb.TxnRequest');
    const bytes = txn.encode({
      compare: [{ key: Buffer.from('a'), target: 3, result: 0, value: Buffer.from('x') }],
      success: [{ requestPut: { key: Buffer.from('a'), value: Buffer.from('y') } }],
      failure: [{ requestTxn: { success: [{ requestRange: { key: Buffer.from('a') } }] } }],
    });
    const viaRaw = decodeInternalRequest(encodeInternalRequestRaw(7n, INTERNAL_FIELD.txn, bytes));
    expect(viaRaw.txn).toEqual(txn.decode(bytes));
  });

  it('is sized exactly: the same bytes as the growing nested writer, for any id and request size', () => {
    const ids = [0n, 1n, 127n, 128n, 2n ** 53n, 0xfedcba9876543210n, 2n ** 64n - 1n];
    for (const id of ids) {
      for (const len of [0, 1, 127, 128, 300, 16384, 70000]) {
        const request = Uint8Array.from({ length: len }, (_, i) => (i * 7 + len) & 0xff);
        const want = new WireWriter(8).message(INTERNAL_FIELD.header, (h) => h.uint64(1, id)).bytes(INTERNAL_FIELD.put, request, true).finish();
        expect(Buffer.from(encodeInternalRequestRaw(id, INTERNAL_FIELD.put, request)).equals(Buffer.from(want))).toBe(true);
      }
    }
  });

  it('an exactly sized writer refuses to hand over bytes it did not write', () => {
    expect(() => WireWriter.exact(5).uint(1, 3).finish()).toThrow(/sized 5 bytes, wrote 2/);
    expect(() => WireWriter.exact(1).uint(1, 3).finish()).toThrow(/sized 1 bytes, wrote 2/);
    expect(() => WireWriter.exact(8).sizedMessage(1, 3, (w) => w.uint(1, 1)).finish()).toThrow(/nested message wrote 2 bytes, sized 3/);
  });
});
