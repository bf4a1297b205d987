// Go's Request.FormValue for the service: the form body of a PUT/POST/PATCH
// (application/x-www-form-urlencoded) comes first, then the query string. Bodies
// are bounded; discovery values are a few hundred bytes.

import type * as http from 'node:http';

export const MAX_FORM_BYTES = 1 << 20;

export class FormTooLargeError extends Error {}

const BODY_METHODS = new Set(['PUT', 'POST', 'PATCH']);

function isForm(req: http.IncomingMessage): boolean {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/x-www-form-urlencoded';
}

/** The request's form body (empty when it has none or another content type). */
export async function readFormBody(req: http.IncomingMessage): Promise<URLSearchParams> {
  if (!BODY_METHODS.has(req.method ?? '') || !isForm(req)) {
    req.resume();
    return new URLSearchParams();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new FormTooLargeError('http: request body too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** FormValue: the body's first value for the key, else the query's, else undefined. */
export function formValue(body: URLSearchParams, query: URLSearchParams, key: string): string | undefined {
  return body.get(key) ?? query.get(key) ?? undefined;
}
