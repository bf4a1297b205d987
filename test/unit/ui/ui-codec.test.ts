// The dashboard's gateway codec: base64 of UTF-8 both ways, binary values,
// prefix ranges as etcdctl --prefix computes them, ids as etcdctl prints them,
// and the newline-delimited JSON of streams split across chunks.

import { describe, expect, it } from 'vitest';
import { base64ToBytes, bytesToBase64, decodeText, encodeText, idHex, int, prefixEnd, prefixRange } from '../../../ui/src/api/codec.js';
import { LineSplitter, parseStreamLine } from '../../../ui/src/api/ndjson.js';

describe('gateway codec', () => {
  it('round-trips UTF-8 text through base64 as Node encodes it', () => {
    for (const s of ['', 'a', '/app/config', 'héllo wörld ✓', '日本語', '\u{1F600}', 'x'.repeat(100_000)]) {
      const b64 = encodeText(s);
      expect(b64).toBe(Buffer.from(s, 'utf8').toString('base64'));
      expect(decodeText(b64)).toBe(s);
    }
  });

  it('shows bytes that are not UTF-8 as \\x escapes', () => {
    expect(decodeText(Buffer.from([0x61, 0xff, 0x00, 0x5c]).toString('base64'))).toBe('a\\xff\\x00\\x5c');
    expect(decodeText(undefined)).toBe('');
    expect([...base64ToBytes(bytesToBase64(new Uint8Array([0, 255, 128])))]).toEqual([0, 255, 128]);
  });

  it('computes prefix range ends as etcd clientv3 GetPrefixRangeEnd', () => {
    const end = (s: number[]): number[] => [...prefixEnd(new Uint8Array(s))];
    expect(end([0x61])).toEqual([0x62]);
    expect(end([0x61, 0xff])).toEqual([0x62]);
    expect(end([0xff, 0xff])).toEqual([0]);
    expect(end([])).toEqual([0]);
    expect(prefixRange('/app/')).toEqual({ key: Buffer.from('/app/').toString('base64'), range_end: Buffer.from('/app0').toString('base64') });
    expect(prefixRange('')).toEqual({ key: 'AA==', range_end: 'AA==' });
  });

  it('prints uint64 ids as 16 hex digits, past 2^53 exactly', () => {
    // As a 3-member cluster answered: the gateway's decimal ID, etcdctl member list's hex.
    expect(idHex('8250469628524149172')).toBe('727f8e6a0e54b9b4');
    expect(idHex('2592331608853586603')).toBe('23f9cfdd0dbc22ab');
    expect(idHex('1')).toBe('0000000000000001');
    expect(idHex(undefined)).toBe('0000000000000000');
    expect(int('42')).toBe(42);
    expect(int(undefined)).toBe(0);
  });
});

describe('stream lines', () => {
  it('hands out whole lines whatever the chunking', () => {
    const body = '{"result":{"created":true}}\n{"result":{"events":[{"kv":{"key":"YQ=="}}]}}\n{"error":{"grpc_code":7,"message":"etcdserver: permission denied"}}';
    for (let cut = 1; cut < body.length; cut += 7) {
      const s = new LineSplitter();
      const lines = [...s.push(body.slice(0, cut)), ...s.push(body.slice(cut)), ...s.end()];
      expect(lines).toHaveLength(3);
      expect(parseStreamLine(lines[2]!)).toEqual({ error: { grpc_code: 7, message: 'etcdserver: permission denied' } });
    }
  });
});
