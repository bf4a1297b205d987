// Go's base64.StdEncoding.Decode, which is what etcd's gateway runs on every
// bytes field (key, value, range_end): padding required, CR and LF skipped,
// and a bad input answered with "illegal base64 data at input byte N" where N
// is the byte offset Go reports.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Int16Array(256).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

export class GoBase64Error extends Error {
  constructor(readonly offset: number) {
    super(`illegal base64 data at input byte ${offset}`);
  }
}

const isNewline = (b: number | undefined) => b === 0x0a || b === 0x0d;

/** Decodes `text` (its UTF-8 bytes) or throws GoBase64Error. */
export function decodeGoBase64(text: string): Buffer {
  const src = Buffer.from(text, 'utf8');
  const out: number[] = [];
  let si = 0;
  for (;;) {
    const quantum: number[] = [];
    let done = false;
    while (quantum.length < 4) {
      if (si === src.length) {
        if (quantum.length === 0) return Buffer.from(out);
        // An incomplete last quantum: Go points at its start.
        throw new GoBase64Error(si - quantum.length);
      }
      const b = src[si++]!;
      const v = DECODE[b]!;
      if (v >= 0) {
        quantum.push(v);
        continue;
      }
      if (isNewline(b)) continue;
      if (b !== 0x3d /* = */ || quantum.length < 2) throw new GoBase64Error(si - 1);
      if (quantum.length === 2) {
        while (isNewline(src[si])) si++;
        if (si === src.length) throw new GoBase64Error(src.length);
        if (src[si] !== 0x3d) throw new GoBase64Error(si - 1);
        si++;
      }
      while (isNewline(src[si])) si++;
      if (si < src.length) throw new GoBase64Error(si);
      done = true;
      break;
    }
    const n = quantum.length;
    const val = ((quantum[0] ?? 0) << 18) | ((quantum[1] ?? 0) << 12) | ((quantum[2] ?? 0) << 6) | (quantum[3] ?? 0);
    out.push((val >> 16) & 0xff);
    if (n >= 3) out.push((val >> 8) & 0xff);
    if (n === 4) out.push(val & 0xff);
    if (done) return Buffer.from(out);
  }
}
