// The v2 keys API's request side: Go's form parsing, etcd's parseKeyRequest
// checks and their errors, which store operation a request is, the flags.
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/server/config.js';
import { V2Error } from '../../src/server/api/v2/errors.js';
import { parseGoBool, parseGoUint64, parseQuery, unescape } from '../../src/server/api/v2/form.js';
import { writeKindOf } from '../../src/server/api/v2/keys-handler.js';
import { cleanPath, parseKeyRequest, type V2Method } from '../../src/server/api/v2/request.js';

function parse(method: V2Method, path: string, query = '') {
  const { form, error } = parseQuery(query);
  return parseKeyRequest(method, path, form, error);
}

function errorOf(method: V2Method, path: string, query = ''): object {
  try {
    parse(method, path, query);
  } catch (err) {
    expect(err).toBeInstanceOf(V2Error);
    const e = err as V2Error;
    return { status: e.status, ...e.toJSON() };
  }
  throw new Error('no error');
}

describe('form parsing as Go does it', () => {
  it('decodes + and %XX, keeps repeated values in order, and reports the first bad escape', () => {
    const { form, error } = parseQuery('value=Hello+etcd%21&value=second&empty&k=%zz&x=1');
    expect(form.get('value')).toEqual(['Hello etcd!', 'second']);
    expect(form.get('empty')).toEqual(['']);
    expect(form.get('x')).toEqual(['1']);
    expect(form.has('k')).toBe(false);
    expect(error?.message).toBe('invalid URL escape "%zz"');
  });

  it('reads raw UTF-8 bytes (latin1 chars, as Node hands them over) and escapes alike; + is a space only in queries', () => {
    const raw = Buffer.from('value=€uro&k=%E2%82%AC', 'utf8').toString('latin1');
    expect(parseQuery(raw).form.get('value')).toEqual(['€uro']);
    expect(parseQuery(raw).form.get('k')).toEqual(['€']);
    expect(unescape('/v2/keys/a+b%20c', false)).toBe('/v2/keys/a+b c');
  });

  it('refuses semicolons as Go 1.17+ does', () => {
    expect(parseQuery('a=1;b=2').error?.message).toBe('invalid semicolon separator in query');
  });

  it("accepts strconv's spellings only", () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) expect(parseGoBool(t)).toBe(true);
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) expect(parseGoBool(f)).toBe(false);
    for (const bad of ['yes', 'tRue', '', ' true']) expect(parseGoBool(bad)).toBeUndefined();
    expect(parseGoUint64('18446744073709551615')).toBe(18446744073709551615n);
    for (const bad of ['18446744073709551616', '-1', '+1', '1.5', '', '0x10']) expect(parseGoUint64(bad)).toBeUndefined();
  });
});

describe('parseKeyRequest', () => {
  it('cleans the key as path.Join does', () => {
    expect(cleanPath('')).toBe('/');
    expect(cleanPath('//a/./b/../c/')).toBe('/a/c');
    expect(parse('GET', '/v2/keys').key).toBe('/');
    expect(parse('GET', '/v2/keys/').key).toBe('/');
    expect(parse('GET', '/v2/keys/a//b/').key).toBe('/a/b');
  });

  it('reads every field', () => {
    const r = parse('PUT', '/v2/keys/k', 'value=v&ttl=30&prevExist=false&prevIndex=7&prevValue=old&dir=1&quorum=true&noValueOnSuccess=t');
    expect(r).toEqual({
      method: 'PUT', key: '/k', value: 'v', dir: true, recursive: false, sorted: false, wait: false, quorum: true, stream: false,
      prevValue: 'old', prevIndex: 7, waitIndex: 0, prevExist: false, refresh: false, ttl: 30, noValueOnSuccess: true,
    });
    expect(parse('GET', '/v2/keys/k', 'ttl=').ttl).toBeUndefined(); // an empty ttl is no ttl
    expect(parse('PUT', '/v2/keys/k', 'ttl=5&refresh=true').refresh).toBe(true);
  });

  it("answers etcd's error for each bad field, with index 0", () => {
    const bad = (code: number, status: number, cause: string) => ({ status, errorCode: code, cause, index: 0 });
    expect(errorOf('GET', '/v2/keys/k', 'prevIndex=x')).toMatchObject(bad(203, 400, 'invalid value for "prevIndex"'));
    expect(errorOf('GET', '/v2/keys/k', 'waitIndex=-1')).toMatchObject(bad(203, 400, 'invalid value for "waitIndex"'));
    expect(errorOf('GET', '/v2/keys/k', 'recursive=maybe')).toMatchObject(bad(209, 400, 'invalid value for "recursive"'));
    expect(errorOf('GET', '/v2/keys/k', 'sorted=2')).toMatchObject(bad(209, 400, 'invalid value for "sorted"'));
    expect(errorOf('PUT', '/v2/keys/k', 'wait=true')).toMatchObject(bad(209, 400, '"wait" can only be used with GET requests'));
    expect(errorOf('PUT', '/v2/keys/k', 'prevValue=')).toMatchObject(bad(201, 400, '"prevValue" cannot be empty'));
    expect(errorOf('PUT', '/v2/keys/k', 'ttl=abc')).toMatchObject(bad(202, 400, 'invalid value for "ttl"'));
    expect(errorOf('PUT', '/v2/keys/k', 'prevExist=maybe')).toMatchObject(bad(209, 400, 'invalid value for prevExist'));
    expect(errorOf('PUT', '/v2/keys/k', 'refresh=true&value=v&ttl=5')).toMatchObject(bad(211, 400, 'A value was provided on a refresh'));
    expect(errorOf('PUT', '/v2/keys/k', 'refresh=true')).toMatchObject(bad(212, 400, 'No TTL value set'));
    expect(errorOf('PUT', '/v2/keys/k', 'a=%zz')).toMatchObject(bad(210, 400, 'invalid URL escape "%zz"'));
    expect(errorOf('GET', '/v2/other')).toMatchObject(bad(210, 400, 'incorrect key prefix'));
  });

  it('checks fields in etcd\'s order (prevIndex before recursive before wait)', () => {
    expect(errorOf('PUT', '/v2/keys/k', 'recursive=x&prevIndex=y&wait=true')).toMatchObject({ errorCode: 203 });
    expect(errorOf('PUT', '/v2/keys/k', 'recursive=x&wait=true')).toMatchObject({ errorCode: 209, cause: 'invalid value for "recursive"' });
  });

  it('takes the first of repeated values', () => {
    expect(parse('PUT', '/v2/keys/k', 'value=a&value=b').value).toBe('a');
  });
});

describe('error JSON and statuses', () => {
  it("maps codes to etcd's statuses and omits an empty cause", () => {
    const cases: [V2Error['errorCode'], number][] = [[100, 404], [101, 412], [102, 403], [104, 400], [105, 412], [107, 400], [108, 403], [110, 401], [209, 400], [300, 500], [401, 400]];
    for (const [code, status] of cases) expect(new V2Error(code, 'c', 3).status).toBe(status);
    expect(JSON.stringify(new V2Error(100, '/a', 5))).toBe('{"errorCode":100,"message":"Key not found","cause":"/a","index":5}');
    expect(JSON.stringify(new V2Error(300, '', 0))).toBe('{"errorCode":300,"message":"Raft Internal Error","index":0}');
  });
});

describe('which store operation a request is (etcd applierV2)', () => {
  const kind = (method: V2Method, query: string) => writeKindOf(parse(method, '/v2/keys/k', query));
  it('PUT', () => {
    expect(kind('PUT', 'value=v')).toEqual({ op: 'set', dir: false, value: 'v' });
    expect(kind('PUT', 'dir=true')).toEqual({ op: 'set', dir: true, value: '' });
    expect(kind('PUT', 'value=v&prevExist=false')).toEqual({ op: 'create', dir: false, value: 'v', unique: false });
    expect(kind('PUT', 'value=v&prevExist=true')).toEqual({ op: 'update', value: 'v' });
    expect(kind('PUT', 'value=v&prevExist=true&prevIndex=3')).toEqual({ op: 'compareAndSwap', value: 'v', prevIndex: 3 });
    expect(kind('PUT', 'value=v&prevValue=a')).toEqual({ op: 'compareAndSwap', value: 'v', prevValue: 'a', prevIndex: 0 });
    // prevExist=false wins over compare fields, as in etcd
    expect(kind('PUT', 'value=v&prevExist=false&prevValue=a')).toMatchObject({ op: 'create' });
  });
  it('POST and DELETE', () => {
    expect(kind('POST', 'value=j')).toEqual({ op: 'create', dir: false, value: 'j', unique: true });
    expect(kind('DELETE', '')).toEqual({ op: 'delete', dir: false, recursive: false });
    expect(kind('DELETE', 'recursive=true')).toEqual({ op: 'delete', dir: false, recursive: true });
    expect(kind('DELETE', 'prevIndex=4')).toEqual({ op: 'compareAndDelete', prevIndex: 4 });
  });
});

describe('--enable-v2 and --experimental-enable-v2v3', () => {
  const config = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = parseArgs(argv, env);
    if (r.kind !== 'run') throw new Error(r.kind);
    return r.config;
  };
  it('are off by default and read from flags or ETCD_* variables', () => {
    expect([config([]).enableV2, config([]).v2Prefix]).toEqual([false, '']);
    expect(config(['--enable-v2']).enableV2).toBe(true);
    expect(config([], { ETCD_ENABLE_V2: 'true' }).enableV2).toBe(true);
    expect(config(['--enable-v2', '--experimental-enable-v2v3=v2x/']).v2Prefix).toBe('v2x/');
  });
});
