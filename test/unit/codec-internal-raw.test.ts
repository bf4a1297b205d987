import { describe, expect, it } from 'vitest';
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
});
