// A /v2/keys request as etcd's v2http parseKeyRequest reads it: the key from the
// path (cleaned, as path.Join does), then the form (body values before the
// query's), each field checked in etcd's order with etcd's error for it.

import {
  EcodeIndexNaN, EcodeInvalidField, EcodeInvalidForm, EcodePrevValueRequired, EcodeRefreshTTLRequired,
  EcodeRefreshValue, EcodeTTLNaN, requestError,
} from './errors.js';
import { type Form, formValue, parseGoBool, parseGoUint64 } from './form.js';

export const KEYS_PREFIX = '/v2/keys';

export type V2Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';

export interface V2KeyRequest {
  method: V2Method;
  /** The node path: "/" for the root, otherwise "/a/b" (cleaned). */
  key: string;
  value: string;
  dir: boolean;
  recursive: boolean;
  sorted: boolean;
  wait: boolean;
  quorum: boolean;
  stream: boolean;
  /** Absent: no value condition. */
  prevValue?: string;
  /** 0: no index condition. */
  prevIndex: number;
  /** 0: from the next change. */
  waitIndex: number;
  /** Absent: no existence condition. */
  prevExist?: boolean;
  refresh: boolean;
  /** Seconds; absent: no TTL (a set without ttl makes the key permanent). */
  ttl?: number;
  noValueOnSuccess: boolean;
}

/** Go's path.Clean of "/" + p. */
export function cleanPath(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

function bool(form: Form, name: string, message = `invalid value for "${name}"`): boolean {
  const v = form.get(name);
  if (!v) return false;
  const b = parseGoBool(v[0]!);
  if (b === undefined) throw requestError(EcodeInvalidField, message);
  return b;
}

/** An index or TTL: etcd reads uint64; beyond 2^53 no revision or TTL can match, so it is clamped. */
function uint(form: Form, name: string, code: typeof EcodeIndexNaN | typeof EcodeTTLNaN): number {
  const v = form.get(name);
  if (!v) return 0;
  const n = parseGoUint64(v[0]!);
  if (n === undefined) throw requestError(code, `invalid value for "${name}"`);
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

/**
 * `path` is the URL path after decoding, starting with /v2/keys; `formError` a
 * parse error of the form (Go's ParseForm error). Throws a V2Error as etcd would answer.
 */
export function parseKeyRequest(method: V2Method, path: string, form: Form, formError?: Error): V2KeyRequest {
  if (formError) throw requestError(EcodeInvalidForm, formError.message);
  if (!path.startsWith(KEYS_PREFIX)) throw requestError(EcodeInvalidForm, 'incorrect key prefix');
  const key = cleanPath(path.slice(KEYS_PREFIX.length));
  const prevIndex = uint(form, 'prevIndex', EcodeIndexNaN);
  const waitIndex = uint(form, 'waitIndex', EcodeIndexNaN);
  const recursive = bool(form, 'recursive');
  const sorted = bool(form, 'sorted');
  const wait = bool(form, 'wait');
  const dir = bool(form, 'dir');
  const quorum = bool(form, 'quorum');
  const stream = bool(form, 'stream');
  if (wait && method !== 'GET') throw requestError(EcodeInvalidField, '"wait" can only be used with GET requests');
  const prevValue = formValue(form, 'prevValue');
  if (form.has('prevValue') && prevValue === '') throw requestError(EcodePrevValueRequired, '"prevValue" cannot be empty');
  const noValueOnSuccess = bool(form, 'noValueOnSuccess');
  let ttl: number | undefined;
  if (formValue(form, 'ttl') !== '') ttl = uint(form, 'ttl', EcodeTTLNaN);
  let prevExist: boolean | undefined;
  if (form.has('prevExist')) prevExist = bool(form, 'prevExist', 'invalid value for prevExist');
  let refresh = false;
  if (form.has('refresh')) {
    refresh = bool(form, 'refresh', 'invalid value for refresh');
    if (refresh) {
      if (form.has('value') && formValue(form, 'value') !== '') throw requestError(EcodeRefreshValue, 'A value was provided on a refresh');
      if (ttl === undefined) throw requestError(EcodeRefreshTTLRequired, 'No TTL value set');
    }
  }
  return {
    method, key, value: formValue(form, 'value'), dir, recursive, sorted, wait, quorum, stream,
    ...(prevValue !== '' ? { prevValue } : {}),
    prevIndex, waitIndex,
    ...(prevExist !== undefined ? { prevExist } : {}),
    refresh,
    ...(ttl !== undefined ? { ttl } : {}),
    noValueOnSuccess,
  };
}
