// Keys of the benchmark key space: prefix + zero-padded decimal index, exactly
// --key-size bytes, so the keys a `put` run writes are the ones a later
// `range` run reads. Pre-built once (up to a cap) so requests reuse them.

export const PREBUILD_LIMIT = 1 << 20;

export function makeKey(prefix: string, index: number, keySize: number): Buffer {
  const p = Buffer.from(prefix);
  const digits = keySize - p.length;
  const s = String(index);
  if (s.length > digits) throw new Error(`key index ${index} does not fit in ${keySize} bytes after prefix "${prefix}"`);
  return Buffer.concat([p, Buffer.from(s.padStart(digits, '0'))]);
}

/** Half-open [start, end) covering every key of the space: the prefix range. */
export function keySpaceRange(prefix: string): { key: Buffer; rangeEnd: Buffer } {
  const p = Buffer.from(prefix);
  if (p.length === 0) return { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) }; // from-key "\0": everything
  const end = Buffer.from(p);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return { key: p, rangeEnd: end.subarray(0, i + 1) };
    }
  }
  return { key: p, rangeEnd: Buffer.from([0]) };
}

/** Chooses key indexes: round-robin or uniformly random in [0, space). */
export class KeyChooser {
  private next = 0;
  constructor(
    readonly space: number,
    readonly sequential: boolean,
  ) {}
  pick(): number {
    if (this.sequential) {
      const i = this.next;
      this.next = i + 1 === this.space ? 0 : i + 1;
      return i;
    }
    return Math.floor(Math.random() * this.space);
  }
}
