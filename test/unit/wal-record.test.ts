import { describe, expect, it } from 'vitest';
import {
  RecordBatch,
  RecordType,
  decodeSnapshotMarker,
  encodeSnapshotMarker,
  hasZeroSector,
  readFrame,
  recordCrc,
} from '../../src/wal/record.js';

describe('WAL record framing', () => {
  it('round-trips records of every padding size, 8-byte aligned', () => {
    const b = new RecordBatch(0, 16);
    b.addCrc();
    const datas = Array.from({ length: 17 }, (_, n) => Uint8Array.from({ length: n }, (_, i) => i + 1));
    for (const d of datas) b.add(RecordType.Entry, d);
    const buf = new Uint8Array(b.bytes());
    let off = 0;
    let chain = 0;
    const f0 = readFrame(buf, off);
    expect(f0.kind).toBe('record');
    if (f0.kind !== 'record') return;
    expect(f0.type).toBe(RecordType.Crc);
    off = f0.end;
    for (const d of datas) {
      expect(off % 8).toBe(0);
      const f = readFrame(buf, off);
      if (f.kind !== 'record') throw new Error(`unexpected ${f.kind}`);
      expect(Array.from(f.data)).toEqual(Array.from(d));
      chain = recordCrc(RecordType.Entry, f.data, chain);
      expect(f.crc).toBe(chain);
      off = f.end;
    }
    expect(off).toBe(buf.length);
    expect(readFrame(buf, off).kind).toBe('end');
    expect(b.crc).toBe(chain);
  });

  it('reports a zero length word as end and a truncated record as short', () => {
    const b = new RecordBatch(0);
    b.add(RecordType.Entry, new Uint8Array(100).fill(9));
    const full = new Uint8Array(b.bytes());
    const padded = new Uint8Array(full.length + 64);
    padded.set(full);
    expect(readFrame(padded, full.length).kind).toBe('end');
    expect(readFrame(full.subarray(0, 50), 0).kind).toBe('short');
    expect(readFrame(full.subarray(0, 5), 0).kind).toBe('short');
    expect(readFrame(new Uint8Array(5), 0).kind).toBe('end');
  });

  it('rejects inconsistent padding flags and header bytes', () => {
    const b = new RecordBatch(0);
    b.add(RecordType.Entry, new Uint8Array(3).fill(1));
    const buf = new Uint8Array(b.bytes());
    const flipped = buf.slice();
    flipped[7] = 0;
    expect(readFrame(flipped, 0).kind).toBe('bad');
    const reserved = buf.slice();
    reserved[10] = 1;
    expect(readFrame(reserved, 0).kind).toBe('bad');
  });

  it('detects zeroed sectors inside a record body', () => {
    const big = new Uint8Array(2048).fill(7);
    expect(hasZeroSector(big, 0, 2048)).toBe(false);
    big.fill(0, 512, 1024);
    expect(hasZeroSector(big, 0, 2048)).toBe(true);
    const partial = new Uint8Array(2048).fill(7);
    partial.fill(0, 600, 1000); // not a whole sector chunk
    expect(hasZeroSector(partial, 0, 2048)).toBe(false);
  });

  it('encodes snapshot markers', () => {
    expect(decodeSnapshotMarker(encodeSnapshotMarker(2 ** 40 + 3, 77))).toEqual({ index: 2 ** 40 + 3, term: 77 });
    expect(() => decodeSnapshotMarker(new Uint8Array(3))).toThrow();
  });
});
