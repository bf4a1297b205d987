// A JSON reader that fails the way Go's encoding/json does, because etcd's
// gateway answers malformed JSON with Go's error text ("invalid character 'x'
// looking for beginning of value", "unexpected EOF"). It also keeps number
// literals as text (a 64-bit id must not pass through a double) and reads one
// value at a time from a longer text, as Go's json.Decoder does: a streaming
// request body may carry several values one after another.

export type JsonValue =
  | { kind: 'object'; entries: Map<string, JsonValue> }
  | { kind: 'array'; items: JsonValue[] }
  /** raw: the text between the quotes, unescaped (jsonpb reads enum names and quoted numbers from it). */
  | { kind: 'string'; value: string; raw: string }
  | { kind: 'number'; text: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'null' };

/** Malformed JSON, with Go's message. */
export class GoJsonSyntaxError extends Error {}

/** The text ended inside a value (Go's Decoder: "unexpected EOF"; Unmarshal: "unexpected end of JSON input"). */
export class JsonIncomplete extends Error {}

/** Go's quoteChar: how its scanner names the byte it stopped at. */
export function goQuoteChar(ch: string): string {
  if (ch === "'") return "'\\''";
  if (ch === '"') return `'"'`;
  // Go quotes the first byte of the character, read as a code point below 256.
  const c = Buffer.from(ch, 'utf8')[0]!;
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v', 92: '\\\\' };
  if (named[c]) return `'${named[c]}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, '0')}'`;
  if ((c >= 0x80 && c < 0xa1) || c === 0xad) return `'\\u00${c.toString(16).padStart(2, '0')}'`;
  return `'${String.fromCharCode(c)}'`;
}

const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isHex = (c: string) => /^[0-9a-fA-F]$/.test(c);
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

export class JsonReader {
  constructor(
    private readonly text: string,
    public pos = 0,
  ) {}

  /** Skips whitespace; true when nothing but whitespace is left. */
  atEnd(): boolean {
    while (isSpace(this.text[this.pos])) this.pos++;
    return this.pos >= this.text.length;
  }

  /** Reads the next value; throws GoJsonSyntaxError or JsonIncomplete. */
  readValue(): JsonValue {
    this.skipSpace();
    return this.value();
  }

  private peek(): string {
    const c = this.text[this.pos];
    if (c === undefined) throw new JsonIncomplete('unexpected EOF');
    return c;
  }

  private fail(context: string): never {
    const cp = this.text.codePointAt(this.pos)!;
    throw new GoJsonSyntaxError(`invalid character ${goQuoteChar(String.fromCodePoint(cp))} ${context}`);
  }

  private skipSpace(): void {
    while (isSpace(this.text[this.pos])) this.pos++;
  }

  private value(): JsonValue {
    const c = this.peek();
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') {
      const { value, raw } = this.string();
      return { kind: 'string', value, raw };
    }
    if (c === '-' || isDigit(c)) return { kind: 'number', text: this.number() };
    if (c === 't') return this.literal('true', { kind: 'bool', value: true });
    if (c === 'f') return this.literal('false', { kind: 'bool', value: false });
    if (c === 'n') return this.literal('null', { kind: 'null' });
    this.fail('looking for beginning of value');
  }

  private literal(word: string, v: JsonValue): JsonValue {
    this.pos++;
    for (let i = 1; i < word.length; i++) {
      if (this.peek() !== word[i]) this.fail(`in literal ${word} (expecting '${word[i]}')`);
      this.pos++;
    }
    return v;
  }

  private object(): JsonValue {
    this.pos++;
    const entries = new Map<string, JsonValue>();
    this.skipSpace();
    if (this.peek() === '}') {
      this.pos++;
      return { kind: 'object', entries };
    }
    for (;;) {
      if (this.peek() !== '"') this.fail('looking for beginning of object key string');
      const key = this.string().value;
      this.skipSpace();
      if (this.peek() !== ':') this.fail('after object key');
      this.pos++;
      this.skipSpace();
      // Go decodes an object into a map: a repeated key keeps its last value.
      entries.set(key, this.value());
      this.skipSpace();
      const c = this.peek();
      this.pos++;
      if (c === '}') return { kind: 'object', entries };
      if (c !== ',') {
        this.pos--;
        this.fail('after object key:value pair');
      }
      this.skipSpace();
    }
  }

  private array(): JsonValue {
    this.pos++;
    const items: JsonValue[] = [];
    this.skipSpace();
    if (this.peek() === ']') {
      this.pos++;
      return { kind: 'array', items };
    }
    for (;;) {
      items.push(this.value());
      this.skipSpace();
      const c = this.peek();
      this.pos++;
      if (c === ']') return { kind: 'array', items };
      if (c !== ',') {
        this.pos--;
        this.fail('after array element');
      }
      this.skipSpace();
    }
  }

  private string(): { value: string; raw: string } {
    const start = ++this.pos;
    let out = '';
    let from = start;
    for (;;) {
      const c = this.peek();
      if (c === '"') {
        out += this.text.slice(from, this.pos);
        const raw = this.text.slice(start, this.pos);
        this.pos++;
        return { value: out, raw };
      }
      if (c < ' ') this.fail('in string literal');
      if (c !== '\\') {
        this.pos++;
        continue;
      }
      out += this.text.slice(from, this.pos);
      this.pos++;
      const e = this.peek();
      if (e === 'u') {
        this.pos++;
        let hex = '';
        for (let i = 0; i < 4; i++) {
          const h = this.peek();
          if (!isHex(h)) this.fail('in \\u hexadecimal character escape');
          hex += h;
          this.pos++;
        }
        out += String.fromCharCode(parseInt(hex, 16));
      } else if (ESCAPES[e] !== undefined) {
        out += ESCAPES[e];
        this.pos++;
      } else {
        this.fail('in string escape code');
      }
      from = this.pos;
    }
  }

  private number(): string {
    const start = this.pos;
    if (this.text[this.pos] === '-') {
      this.pos++;
      if (!isDigit(this.peek())) this.fail('in numeric literal');
    }
    if (this.peek() === '0') this.pos++;
    else while (isDigit(this.text[this.pos])) this.pos++;
    if (this.text[this.pos] === '.') {
      this.pos++;
      if (!isDigit(this.peek())) this.fail('after decimal point in numeric literal');
      while (isDigit(this.text[this.pos])) this.pos++;
    }
    if (this.text[this.pos] === 'e' || this.text[this.pos] === 'E') {
      this.pos++;
      if (this.peek() === '+' || this.peek() === '-') this.pos++;
      if (!isDigit(this.peek())) this.fail('in exponent of numeric literal');
      while (isDigit(this.text[this.pos])) this.pos++;
    }
    return this.text.slice(start, this.pos);
  }
}

/** Go's json.Unmarshal of a whole text: one value, nothing but whitespace after it. */
export function unmarshalWhole(text: string): JsonValue {
  const r = new JsonReader(text);
  let v: JsonValue;
  try {
    v = r.readValue();
  } catch (e) {
    if (e instanceof JsonIncomplete) throw new GoJsonSyntaxError('unexpected end of JSON input');
    throw e;
  }
  if (!r.atEnd()) {
    const cp = text.codePointAt(r.pos)!;
    throw new GoJsonSyntaxError(`invalid character ${goQuoteChar(String.fromCodePoint(cp))} after top-level value`);
  }
  return v;
}

/** A JSON string as Go's encoding/json writes it (<, >, & and U+2028/9 escaped; \u00XX for other controls). */
export function goJsonString(s: string): string {
  let out = '"';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c === 0x22) esc = '\\"';
    else if (c === 0x5c) esc = '\\\\';
    else if (c === 0x0a) esc = '\\n';
    else if (c === 0x0d) esc = '\\r';
    else if (c === 0x09) esc = '\\t';
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) {
      esc = '\\u' + c.toString(16).padStart(4, '0');
    }
    if (esc === undefined) continue;
    out += s.slice(from, i) + esc;
    from = i + 1;
  }
  return out + s.slice(from) + '"';
}
