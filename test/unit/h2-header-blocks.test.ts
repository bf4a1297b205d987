// HEADERS + CONTINUATION joined, bounded and decoded (src/server/h2/header-blocks.ts).
import { describe, expect, it } from 'vitest';
import { ErrorCode, Flag } from '../../src/server/h2/frame.js';
import { HeaderBlocks, MAX_HEADER_BLOCK_BYTES } from '../../src/server/h2/header-blocks.js';
import { encodeHeaderBlock } from '../../src/server/h2/hpack-encoder.js';

const FIELDS: [string, string][] = [[':method', 'POST'], [':path', '/etcdserverpb.KV/Range'], ['content-type', 'application/grpc'], ['x-long', 'v'.repeat(300)]];
const BLOCK = encodeHeaderBlock(FIELDS);

describe('HeaderBlocks', () => {
  it('one HEADERS frame: decoded at once, END_STREAM carried', () => {
    const b = new HeaderBlocks();
    expect(b.headers(Flag.END_HEADERS | Flag.END_STREAM, 1, BLOCK)).toEqual({ streamId: 1, endStream: true, fields: FIELDS });
    expect(b.awaitingContinuationOf).toBeUndefined();
  });

  it('HEADERS with padding and priority, then CONTINUATIONs: the same fields once END_HEADERS arrives', () => {
    const b = new HeaderBlocks();
    const padded = Buffer.concat([Buffer.from([3]), Buffer.alloc(5), BLOCK.subarray(0, 10), Buffer.alloc(3)]);
    expect(b.headers(Flag.PADDED | Flag.PRIORITY, 5, padded)).toBeUndefined();
    expect(b.awaitingContinuationOf).toBe(5);
    expect(b.continuation(0, BLOCK.subarray(10, 100))).toBeUndefined();
    expect(b.continuation(Flag.END_HEADERS, BLOCK.subarray(100))).toEqual({ streamId: 5, endStream: false, fields: FIELDS });
    expect(b.awaitingContinuationOf).toBeUndefined();
  });

  it('a CONTINUATION without HEADERS, a block too large, a garbled block: the connection errors', () => {
    const code = (f: () => unknown): number | undefined => {
      try {
        f();
      } catch (e) {
        return (e as { code: number }).code;
      }
      return undefined;
    };
    expect(code(() => new HeaderBlocks().continuation(Flag.END_HEADERS, BLOCK))).toBe(ErrorCode.PROTOCOL_ERROR);
    const big = new HeaderBlocks();
    big.headers(0, 1, BLOCK.subarray(0, 1));
    const chunk = Buffer.alloc(16_384);
    let err: number | undefined;
    for (let sent = 1; err === undefined && sent <= MAX_HEADER_BLOCK_BYTES + chunk.length; sent += chunk.length) err = code(() => big.continuation(0, chunk));
    expect(err).toBe(ErrorCode.ENHANCE_YOUR_CALM);
    expect(code(() => new HeaderBlocks().headers(Flag.END_HEADERS, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f])))).toBe(ErrorCode.COMPRESSION_ERROR);
  });
});
