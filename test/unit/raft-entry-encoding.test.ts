// Each log entry is encoded once (Entry.encoded) and its bytes are reused for the
// WAL record and every follower's MsgApp; messages are sized exactly (entries
// written in place or copied from their encoding) into arena memory; ids are
// written and read through 32-bit halves (issue #12). The bytes must be exactly
// what a plain byte-at-a-time encoder writes, for any message.
import { describe, expect, it } from 'vitest';
import { decodeEntry, decodeMessage, encodeEntry, encodeHardState, encodeMessage } from '../../src/raft/codec.js';
import { WireReader, WireWriter, bigVarintSize, varintSize } from '../../src/raft/wire.js';
import { Arena } from '../../src/raft/arena.js';
import { MemoryStorage, RawNode } from '../../src/raft/index.js';
import { EntryType, MessageType, type Entry, type Message } from '../../src/raft/types.js';

// --- the reference: a byte-at-a-time encoder with no caching, no sizing, bigint ids done with bigints.
function refVarint(out: number[], v: bigint): void {
  let x = BigInt.asUintN(64, v);
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
}
function refUint(out: number[], field: number, v: number | bigint): void {
  if (BigInt(v) === 0n) return;
  refVarint(out, BigInt(field * 8));
  refVarint(out, BigInt(v));
}
function refBytes(out: number[], field: number, v: Uint8Array | undefined, always = false): void {
  if (v === undefined || (v.length === 0 && !always)) return;
  refVarint(out, BigInt(field * 8 + 2));
  refVarint(out, BigInt(v.length));
  for (const b of v) out.push(b);
}
function refEntry(e: Entry): Uint8Array {
  const out: number[] = [];
  refUint(out, 1, e.type);
  refUint(out, 2, e.term);
  refUint(out, 3, e.index);
  refBytes(out, 4, e.data);
  return Uint8Array.from(out);
}
function refMessage(m: Message): Uint8Array {
  const out: number[] = [];
  refUint(out, 1, m.type);
  refUint(out, 2, m.to);
  refUint(out, 3, m.from);
  refUint(out, 4, m.term);
  refUint(out, 5, m.logTerm);
  refUint(out, 6, m.index);
  for (const e of m.entries) refBytes(out, 7, refEntry(e), true);
  refUint(out, 8, m.commit);
  if (m.reject) refUint(out, 10, 1);
  refUint(out, 11, m.rejectHint);
  refBytes(out, 12, m.context);
  return Uint8Array.from(out);
}

let seed = 4242;
const rnd = (n: number) => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed % n;
};
const big = [0, 1, 127, 128, 16383, 16384, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 35, 2 ** 53 - 1];
const num = () => (rnd(3) === 0 ? big[rnd(big.length)]! : rnd(100000));
const ids = [0n, 1n, 127n, 128n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, 0x8e9e05c52164694dn, -1n];
function randomId(): bigint {
  if (rnd(2) === 0) return ids[rnd(ids.length)]!;
  let v = 0n;
  for (let i = 0; i < 4; i++) v = (v << 16n) | BigInt(rnd(65536));
  return v >> BigInt(rnd(64));
}
const bytes = (len: number) => Uint8Array.from({ length: len }, () => rnd(256));
function randomEntry(): Entry {
  const len = rnd(4) === 0 ? 0 : rnd(4) === 0 ? 4000 + rnd(9000) : rnd(400);
  return { type: rnd(3) === 0 ? EntryType.ConfChange : EntryType.Normal, term: num(), index: num(), data: bytes(len), encoded: undefined };
}
function randomMessage(): Message {
  const entries: Entry[] = [];
  for (let k = rnd(7); k > 0; k--) entries.push(randomEntry());
  return {
    type: rnd(2) === 0 ? MessageType.MsgApp : MessageType.MsgAppResp,
    to: randomId(),
    from: randomId(),
    term: num(),
    logTerm: num(),
    index: num(),
    entries,
    commit: num(),
    reject: rnd(2) === 0,
    rejectHint: num(),
    context: rnd(3) === 0 ? bytes(rnd(40)) : undefined,
  };
}
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
const copyOf = (e: Entry): Entry => ({ type: e.type, term: e.term, index: e.index, data: e.data.slice(), encoded: undefined });

describe('entry encoding cache', () => {
  it('encodeMessage writes the reference bytes, also when the entries were encoded before (cache hits)', () => {
    for (let i = 0; i < 1000; i++) {
      const m = randomMessage();
      const want = refMessage(m);
      expect(same(encodeMessage(m), want)).toBe(true);
      // Every log entry now carries its encoding; a second follower's copy reuses it.
      for (const e of m.entries) if (e.index > 0) expect(same(e.encoded!, refEntry(e))).toBe(true);
      expect(same(encodeMessage({ ...m, to: 5n }), refMessage({ ...m, to: 5n }))).toBe(true);
      expect(same(encodeMessage(m), want)).toBe(true);
    }
  });

  it('encodeEntry (the WAL record) writes the reference bytes, caches log entries only, and data stays the same bytes', () => {
    for (let i = 0; i < 1000; i++) {
      const e = randomEntry();
      const before = copyOf(e);
      const enc = encodeEntry(e);
      expect(same(enc, refEntry(before))).toBe(true);
      expect(same(e.data, before.data)).toBe(true);
      if (e.index > 0) {
        expect(e.encoded).toBe(enc);
        expect(encodeEntry(e)).toBe(enc); // no second encoding
        // data is now a view into the encoding: one buffer per entry
        if (e.data.length > 0) expect(e.data.buffer).toBe(enc.buffer);
      } else {
        expect(e.encoded).toBeUndefined(); // a proposal: term and index are still to come
      }
    }
  });

  it('a received entry keeps its bytes as its encoding only when they are what encodeEntry writes', () => {
    for (let i = 0; i < 300; i++) {
      const e = randomEntry();
      const wire = refEntry(e);
      const d = decodeEntry(wire);
      if (e.index > 0) {
        expect(d.encoded).toBe(wire);
        expect(encodeEntry(d)).toBe(wire);
      } else expect(d.encoded).toBeUndefined();
    }
    // Unknown field 9, and a padded varint for the term: decodes the same, re-encoded canonically.
    const odd = Uint8Array.from([0x10, 0x07, 0x18, 0x0a, 0x48, 0x01, 0x22, 0x01, 0x78]);
    const padded = Uint8Array.from([0x10, 0x87, 0x00, 0x18, 0x0a, 0x22, 0x01, 0x78]);
    for (const w of [odd, padded]) {
      const d = decodeEntry(w);
      expect(d.encoded).toBeUndefined();
      expect(same(encodeEntry(d), Uint8Array.from([0x10, 0x07, 0x18, 0x0a, 0x22, 0x01, 0x78]))).toBe(true);
    }
  });

  it('a MsgApp decoded on a follower hands its entries over with their received bytes (no re-encoding for the WAL)', () => {
    for (let i = 0; i < 200; i++) {
      const m = randomMessage();
      const wire = encodeMessage(m);
      const d = decodeMessage(wire);
      for (let k = 0; k < m.entries.length; k++) {
        const e = d.entries[k]!;
        expect(same(encodeEntry(e), refEntry(m.entries[k]!))).toBe(true);
        if (e.index > 0) expect(e.encoded!.buffer).toBe(wire.buffer);
      }
    }
  });

  it('a proposal forwarded (index 0) and then appended by the leader is encoded with its term and index', () => {
    const s = new MemoryStorage();
    s.applySnapshot({ data: new Uint8Array(0), metadata: { index: 1, term: 1, confState: { voters: [1n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } });
    const rn = new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, storage: s, random: () => 0.5 });
    rn.campaign();
    let rd = rn.ready();
    s.append(rd.entries);
    rn.advance(rd);
    // A follower's forwarded MsgProp: decoded entries with index 0 carry no encoding.
    const prop = decodeMessage(
      encodeMessage({ type: MessageType.MsgProp, to: 1n, from: 2n, term: 0, logTerm: 0, index: 0, entries: [{ term: 0, index: 0, type: EntryType.Normal, data: Uint8Array.of(1, 2, 3), encoded: undefined }], commit: 0, reject: false, rejectHint: 0 }),
    );
    expect(prop.entries[0]!.encoded).toBeUndefined();
    // Even an encoding attached before the append (by anyone) is dropped when term and index are set.
    prop.entries[0]!.encoded = Uint8Array.of(0xde, 0xad);
    rn.step(prop);
    rd = rn.ready();
    const appended = rd.entries.find((e) => e.data.length === 3)!;
    expect(appended.index).toBeGreaterThan(1);
    expect(same(encodeEntry(appended), refEntry(appended))).toBe(true);
  });
});

describe('exact writers and ids', () => {
  it('a hard state is sized exactly', () => {
    for (let i = 0; i < 300; i++) {
      const h = { term: num(), vote: randomId(), commit: num() };
      const out: number[] = [];
      refUint(out, 1, h.term);
      refUint(out, 2, h.vote);
      refUint(out, 3, h.commit);
      expect(same(encodeHardState(h), Uint8Array.from(out))).toBe(true);
    }
  });

  it('varintSize matches the bytes written', () => {
    for (const v of [1, 127, 128, 300, 16383, 16384, 2 ** 28, 2 ** 35, 2 ** 49, 2 ** 53 - 1]) {
      expect(new WireWriter(1).uint(1, v).finish().length - 1).toBe(varintSize(v));
    }
  });

  it('an exactly sized writer refuses to hand over bytes it did not write', () => {
    expect(() => WireWriter.exact(4).uint(1, 5).finish()).toThrow(/sized 4 bytes, wrote 2/);
    expect(() => WireWriter.exact(1).uint(1, 300).finish()).toThrow(/sized 1 bytes, wrote 3/);
    expect(Array.from(WireWriter.exact(2).uint(1, 5).finish())).toEqual([8, 5]);
  });

  it('64-bit ids: size, write and read agree with plain bigint arithmetic, and the id cache never mixes ids up', () => {
    const seen: bigint[] = [];
    for (let i = 0; i < 3000; i++) {
      const id = i < ids.length ? ids[i]! : rnd(4) === 0 && seen.length > 0 ? seen[rnd(seen.length)]! : randomId();
      seen.push(id);
      const want: number[] = [];
      refVarint(want, id);
      const w = new WireWriter(1).uint64(1, id === 0n ? 1n : id).finish();
      if (id !== 0n) {
        expect(Array.from(w.subarray(1))).toEqual(want);
        expect(bigVarintSize(id)).toBe(want.length);
      }
      const r = new WireReader(Uint8Array.from(want));
      expect(r.id()).toBe(BigInt.asUintN(64, id));
      expect(r.done()).toBe(true);
    }
    // Bits past 64 wrap as uint64 (as bigVarint does); an 11th byte is refused.
    const over = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    expect(new WireReader(over).id()).toBe(new WireReader(over).bigVarint());
    expect(() => new WireReader(Uint8Array.from([...Array(10).fill(0x80), 0x01])).id()).toThrow(/too long/);
    expect(() => new WireReader(Uint8Array.from([0x80, 0x80])).id()).toThrow(/truncated/);
  });

  it('arena views never overlap and start zeroed', () => {
    const a = new Arena(256, 64);
    const views: Uint8Array[] = [];
    for (let i = 0; i < 100; i++) {
      const n = rnd(80);
      const v = a.bytes(n);
      expect(v.length).toBe(n);
      expect(v.every((b) => b === 0)).toBe(true);
      v.fill(i + 1);
      views.push(v);
    }
    views.forEach((v, i) => expect(v.every((b) => b === i + 1)).toBe(true));
  });
});
