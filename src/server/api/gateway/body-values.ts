// The JSON values of a request body, one after another, as they arrive: what
// grpc-gateway's json.Decoder reads from a streaming request (a body on
// /v3/watch may carry several requests). A value split across chunks waits for
// the rest; a multi-byte character split across chunks too.

import { StringDecoder } from 'node:string_decoder';
import { GoJsonSyntaxError, JsonIncomplete, JsonReader, type JsonValue } from './go-json.js';

export type BodyItem = { value: JsonValue } | { error: string };

export class BodyValues {
  private text = '';
  private readonly utf8 = new StringDecoder('utf8');
  private failed = false;

  /** The values complete after this chunk (and the error that stops reading, if any). */
  push(chunk: Buffer): BodyItem[] {
    this.text += this.utf8.write(chunk);
    return this.take(false);
  }

  /** The body ended: what is left (a value cut short is Go's "unexpected EOF"). */
  end(): BodyItem[] {
    this.text += this.utf8.end();
    return this.take(true);
  }

  private take(atEnd: boolean): BodyItem[] {
    const out: BodyItem[] = [];
    while (!this.failed) {
      const r = new JsonReader(this.text);
      if (r.atEnd()) {
        this.text = '';
        break;
      }
      try {
        const value = r.readValue();
        // A number at the very end may go on in the next chunk.
        if (!atEnd && value.kind === 'number' && r.pos === this.text.length) break;
        out.push({ value });
        this.text = this.text.slice(r.pos);
      } catch (e) {
        if (e instanceof JsonIncomplete && !atEnd) break;
        if (!(e instanceof GoJsonSyntaxError) && !(e instanceof JsonIncomplete)) throw e;
        this.failed = true;
        out.push({ error: e.message });
      }
    }
    return out;
  }
}
