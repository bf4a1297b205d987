// Go's url.ParseQuery and the strconv parsers etcd's v2 handlers use on form
// values: the same accepted spellings and the same error texts, so that a bad
// request gets etcd's answer.

/** Form values in Go's r.Form order: body values first, then the query's. */
export type Form = Map<string, string[]>;

export class FormError extends Error {}

/**
 * Go's url.QueryUnescape (`plusIsSpace`) or PathUnescape of raw bytes given as a
 * latin1 string (one char per byte, as Node hands over a request line and as a
 * body is read here), decoded as UTF-8 after unescaping.
 */
export function unescape(s: string, plusIsSpace = true): string {
  const bytes = Buffer.alloc(s.length);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
        throw new FormError(`invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`);
      }
      bytes[n++] = parseInt(hex, 16);
      i += 2;
    } else if (c === '+' && plusIsSpace) {
      bytes[n++] = 0x20;
    } else {
      bytes[n++] = c.charCodeAt(0) & 0xff;
    }
  }
  return bytes.subarray(0, n).toString('utf8');
}

/** Parses `a=1&b=2` (raw bytes as latin1) into `into`, keeping the first error as Go does (it goes on parsing). */
export function parseQuery(query: string, into: Form = new Map()): { form: Form; error?: FormError } {
  let error: FormError | undefined;
  for (const part of query.split('&')) {
    if (part === '') continue;
    if (part.includes(';')) {
      error ??= new FormError('invalid semicolon separator in query');
      continue;
    }
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    try {
      const key = unescape(rawKey);
      const value = unescape(rawValue);
      const list = into.get(key);
      if (list) list.push(value);
      else into.set(key, [value]);
    } catch (err) {
      error ??= err as FormError;
    }
  }
  return { form: into, ...(error ? { error } : {}) };
}

/** Go's strconv.ParseBool. */
export function parseGoBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

const MAX_UINT64 = (1n << 64n) - 1n;

/** Go's strconv.ParseUint(v, 10, 64); undefined when it fails. */
export function parseGoUint64(v: string): bigint | undefined {
  if (!/^[0-9]+$/.test(v)) return undefined;
  const n = BigInt(v);
  return n > MAX_UINT64 ? undefined : n;
}

/** r.FormValue: the first value, or "". */
export function formValue(form: Form, key: string): string {
  return form.get(key)?.[0] ?? '';
}
