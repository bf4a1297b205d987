// encodeMessage sizes its entries and writes them in place (issue #12): the bytes
// must be exactly those of the straightforward nested-writer encoding, and decode
// back to the same message.
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../src/raft/codec.js';
import { WireWriter, varintSize } from '../../src/raft/wire.js';
import { EntryType, MessageType, type Entry, type Message } from '../../src/raft/types.js';

function reference(m: Message): Uint8Array {
  const w = new WireWriter(128);
  w.uint(1, m.type).uint64(2, m.to).uint64(3, m.from).uint(4, m.term).uint(5, m.logTerm).uint(6, m.index);
  for (const e of m.entries) w.message(7, (ew) => ew.uint(1, e.type).uint(2, e.term).uint(3, e.index).bytes(4, e.data));
  w.uint(8, m.commit);
  w.bool(10, m.reject).uint(11, m.rejectHint).bytes(12, m.context);
  return w.finish();
}

let seed = 12345;
const rnd = (n: number) => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed % n;
};
const big = [0, 1, 127, 128, 16383, 16384, 2 ** 21, 2 ** 35, 2 ** 53 - 1];
const num = () => (rnd(3) === 0 ? big[rnd(big.length)]! : rnd(100000));

describe('encodeMessage', () => {
  it('writes the same bytes as the nested-writer encoding and round-trips', () => {
    for (let i = 0; i < 500; i++) {
      const entries: Entry[] = [];
      for (let k = rnd(6); k > 0; k--) {
        const len = rnd(4) === 0 ? 0 : rnd(3) === 0 ? 200 + rnd(20000) : rnd(300);
        entries.push({
          type: rnd(3) === 0 ? EntryType.ConfChange : EntryType.Normal,
          term: num(),
          index: num(),
          data: Uint8Array.from({ length: len }, () => rnd(256)),
        });
      }
      const m: Message = {
        type: rnd(2) === 0 ? MessageType.MsgApp : MessageType.MsgAppResp,
        to: BigInt(rnd(1000)) * 0x10000000000n + 7n,
        from: 0xfedcba9876543210n,
        term: num(),
        logTerm: num(),
        index: num(),
        entries,
        commit: num(),
        reject: rnd(2) === 0,
        rejectHint: num(),
        context: rnd(3) === 0 ? Uint8Array.from({ length: rnd(40) }, () => rnd(256)) : undefined,
      };
      const got = encodeMessage(m);
      expect(Buffer.from(got).equals(Buffer.from(reference(m)))).toBe(true);
      const back = decodeMessage(got);
      expect(back.entries.length).toBe(entries.length);
      for (let k = 0; k < entries.length; k++) {
        expect(back.entries[k]!.index).toBe(entries[k]!.index);
        expect(Buffer.from(back.entries[k]!.data).equals(Buffer.from(entries[k]!.data))).toBe(true);
      }
    }
  });

  it('varintSize matches the bytes written', () => {
    for (const v of [0, 1, 127, 128, 300, 16383, 16384, 2 ** 28, 2 ** 35, 2 ** 49, 2 ** 53 - 1]) {
      const w = new WireWriter(1);
      w.uint(1, v === 0 ? 1 : v);
      expect(w.finish().length - 1).toBe(varintSize(v === 0 ? 1 : v));
    }
  });
});
