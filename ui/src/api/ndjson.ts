// The gateway's streams (Watch) answer newline-delimited JSON: one
// {"result":{...}} per message, or a final {"error":{...}}. Chunks split lines
// anywhere; this splitter hands out whole lines only. Pure.

export class LineSplitter {
  private rest = '';

  /** The complete lines in `chunk` (plus what was left over before). */
  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    return lines.filter((l) => l.trim() !== '');
  }

  /** What is left when the stream ends (a last line without its newline). */
  end(): string[] {
    const last = this.rest.trim();
    this.rest = '';
    return last === '' ? [] : [last];
  }
}

export type StreamMessage<T> = { result: T } | { error: { grpc_code?: number; http_code?: number; message?: string } };

export function parseStreamLine<T>(line: string): StreamMessage<T> {
  return JSON.parse(line) as StreamMessage<T>;
}
