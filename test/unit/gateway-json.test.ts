// The gateway's JSON mapping (grpc-gateway 1.x / jsonpb as etcd 3.4.23 runs it):
// requests from JSON into the objects our codecs encode, responses into JSON,
// and Go's error texts. Expected texts are what etcd 3.4.23 answered (see
// test/e2e/fixtures/gateway.json) or what Go's encoding/json says.
import { describe, expect, it } from 'vitest';
import { messageCodec } from '../../src/pb/index.js';
import { schema } from '../../src/pb/schema.js';
import { BodyValues } from '../../src/server/api/gateway/body-values.js';
import { decodeGoBase64 } from '../../src/server/api/gateway/go-base64.js';
import { goJsonString, JsonReader, unmarshalWhole } from '../../src/server/api/gateway/go-json.js';
import { goEnumName, messageFromJson, messageToJson } from '../../src/server/api/gateway/json-codec.js';
import { GATEWAY_PATHS } from '../../src/server/api/gateway/paths.js';
import { methodSchema } from '../../src/server/api/gateway/method-schema.js';
import { streamErrorChunk, errorBody, httpStatusOf } from '../../src/server/api/gateway/errors.js';

const type = (name: string) => schema().lookupType(name);
const parse = (text: string) => new JsonReader(text).readValue();
/** JSON text → the request object, through the wire (what a handler receives). */
function request(name: string, text: string): any {
  const c = messageCodec(name);
  return c.decode(c.encode(messageFromJson(type(name), parse(text)) as never));
}
function response(name: string, obj: unknown): string {
  const c = messageCodec(name);
  return messageToJson(type(name), c.decode(c.encode(obj as never)));
}
function mappingError(name: string, text: string): string {
  try {
    messageFromJson(type(name), parse(text));
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('no error');
}
function syntaxError(text: string): string {
  try {
    new JsonReader(text).readValue();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('no error');
}
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('requests from JSON', () => {
  it('64-bit ints as strings or numbers, beyond 2^53 exactly; 32-bit ints too', () => {
    expect(request('etcdserverpb.RangeRequest', '{"key":"YQ==","revision":"9007199254740993","limit":5}')).toMatchObject({
      revision: 9007199254740993n,
      limit: 5n,
    });
    expect(mappingError('etcdserverpb.LeaseGrantRequest', '{"ID":18446744073709551615}')).toBe(
      'json: cannot unmarshal number 18446744073709551615 into Go value of type int64',
    );
    expect(request('etcdserverpb.MemberRemoveRequest', '{"ID":"18446744073709551615"}').ID).toBe(18446744073709551615n);
    expect(request('etcdserverpb.RangeRequest', '{"revision":" 7 "}').revision).toBe(7n);
    expect(request('etcdserverpb.RangeRequest', '{"revision":"null"}').revision).toBe(0n);
  });

  it("refuses what jsonpb refuses, with Go's texts", () => {
    const R = 'etcdserverpb.RangeRequest';
    expect(mappingError(R, '{"revision":"abc"}')).toBe("invalid character 'a' looking for beginning of value");
    expect(mappingError(R, '{"revision":1.5}')).toBe('json: cannot unmarshal number 1.5 into Go value of type int64');
    expect(mappingError(R, '{"limit":"1e2"}')).toBe('json: cannot unmarshal number 1e2 into Go value of type int64');
    expect(mappingError(R, '{"limit":"99999999999999999999"}')).toBe('json: cannot unmarshal number 99999999999999999999 into Go value of type int64');
    expect(mappingError(R, '{"limit":""}')).toBe('unexpected end of JSON input');
    expect(mappingError(R, '{"limit":"5 6"}')).toBe("invalid character '6' after top-level value");
    expect(mappingError(R, '{"limit":true}')).toBe('json: cannot unmarshal bool into Go value of type int64');
    expect(mappingError('etcdserverpb.MemberRemoveRequest', '{"ID":-1}')).toBe('json: cannot unmarshal number -1 into Go value of type uint64');
    expect(mappingError(R, '{"keys_only":"true"}')).toBe('json: cannot unmarshal string into Go value of type bool');
    expect(mappingError(R, '{"key":1}')).toBe('json: cannot unmarshal number into Go value of type []uint8');
    expect(mappingError(R, '[]')).toBe('json: cannot unmarshal array into Go value of type map[string]json.RawMessage');
    expect(mappingError('etcdserverpb.AuthUserAddRequest', '{"name":5}')).toBe('json: cannot unmarshal number into Go value of type string');
    expect(mappingError('etcdserverpb.TxnRequest', '{"compare":{}}')).toBe('json: cannot unmarshal object into Go value of type []json.RawMessage');
    expect(mappingError('etcdserverpb.TxnRequest', '{"success":[{"request_put":5}]}')).toBe(
      'json: cannot unmarshal number into Go value of type map[string]json.RawMessage',
    );
  });

  it('bytes as standard base64 with padding, Go offsets in the errors', () => {
    expect(request('etcdserverpb.PutRequest', `{"key":"${b64('foo')}","value":"${b64('\u00e9\u0000x')}"}`)).toMatchObject({
      key: Buffer.from('foo'),
      value: Buffer.from('\u00e9\u0000x'),
    });
    expect(decodeGoBase64('Zm9v\r\nYmFy')).toEqual(Buffer.from('foobar'));
    expect(decodeGoBase64('YQ==')).toEqual(Buffer.from('a'));
    expect(decodeGoBase64('')).toEqual(Buffer.alloc(0));
    const offset = (s: string) => {
      try {
        decodeGoBase64(s);
      } catch (e) {
        return (e as Error).message;
      }
      return 'ok';
    };
    expect(offset('Zm9')).toBe('illegal base64 data at input byte 0');
    expect(offset('Zm9v-_')).toBe('illegal base64 data at input byte 4');
    expect(offset('!!!')).toBe('illegal base64 data at input byte 0');
    expect(offset('YQ=')).toBe('illegal base64 data at input byte 3');
    expect(offset('YQ==YQ==')).toBe('illegal base64 data at input byte 4');
    expect(offset('Y===')).toBe('illegal base64 data at input byte 1');
    // Go also fills a []byte from an array of numbers.
    expect(request('etcdserverpb.PutRequest', '{"key":[97,98]}').key).toEqual(Buffer.from('ab'));
  });

  it('enums by name or number (any int32); an unknown name is refused', () => {
    expect(request('etcdserverpb.RangeRequest', '{"sort_order":"DESCEND","sortTarget":"MOD"}')).toMatchObject({ sortOrder: 2, sortTarget: 3 });
    expect(request('etcdserverpb.RangeRequest', '{"sort_order":7}').sortOrder).toBe(7);
    expect(mappingError('etcdserverpb.RangeRequest', '{"sort_order":"BAD"}')).toBe('unknown value "BAD" for enum etcdserverpb.RangeRequest_SortOrder');
    expect(mappingError('etcdserverpb.RangeRequest', '{"sort_order":"1"}')).toBe('unknown value "1" for enum etcdserverpb.RangeRequest_SortOrder');
    expect(mappingError('etcdserverpb.RangeRequest', '{"sort_order":true}')).toBe(
      'json: cannot unmarshal bool into Go value of type etcdserverpb.RangeRequest_SortOrder',
    );
    expect(goEnumName(schema().lookupEnum('etcdserverpb.AlarmType'))).toBe('etcdserverpb.AlarmType');
    expect(goEnumName(schema().lookupEnum('mvccpb.Event.EventType'))).toBe('mvccpb.Event_EventType');
  });

  it('proto and lowerCamel names; lowerCamel wins when both are given; unknown fields and null ignored', () => {
    expect(request('etcdserverpb.RangeRequest', '{"range_end":"YQ==","keysOnly":true,"bogus":[1]}')).toMatchObject({ rangeEnd: Buffer.from('a'), keysOnly: true });
    expect(request('etcdserverpb.RangeRequest', '{"limit":1,"limit":2}').limit).toBe(2n);
    expect(request('etcdserverpb.RangeRequest', '{"count_only":false,"countOnly":true}').countOnly).toBe(true);
    expect(request('etcdserverpb.RangeRequest', '{"key":null,"limit":null}')).toMatchObject({ key: Buffer.alloc(0), limit: 0n });
    expect(request('etcdserverpb.AlarmRequest', '{"memberID":"5"}').memberID).toBe(5n);
    expect(request('etcdserverpb.LeaseTimeToLiveRequest', '{"ID":"5","keys":true}')).toMatchObject({ ID: 5n, keys: true });
  });

  it('txn compare / success / failure unions, nested', () => {
    const t = request(
      'etcdserverpb.TxnRequest',
      JSON.stringify({
        compare: [
          { key: b64('a'), result: 'NOT_EQUAL', target: 'VALUE', value: b64('x') },
          { key: b64('b'), target: 'LEASE', lease: '12' },
          { key: b64('c'), target: 'MOD', mod_revision: 0 },
        ],
        success: [{ requestRange: { key: b64('a') } }, { request_txn: { failure: [{ request_delete_range: { key: b64('z'), prev_kv: true } }] } }],
        failure: [{ request_put: { key: b64('p'), value: b64('v'), ignore_lease: true } }],
      }),
    );
    expect(t.compare[0]).toMatchObject({ result: 3, target: 3, value: Buffer.from('x') });
    expect(t.compare[1]).toMatchObject({ target: 4, lease: 12n });
    // A oneof member set to zero is still set.
    expect(t.compare[2]).toMatchObject({ target: 2, modRevision: 0n });
    expect(Object.keys(t.success[0])).toEqual(['requestRange']);
    expect(t.success[1].requestTxn.failure[0].requestDeleteRange).toMatchObject({ key: Buffer.from('z'), prevKv: true });
    expect(t.failure[0].requestPut).toMatchObject({ key: Buffer.from('p'), ignoreLease: true });
  });

  it('watch create / cancel / progress request unions', () => {
    const c = request('etcdserverpb.WatchRequest', '{"create_request":{"key":"YQ==","start_revision":"3","filters":["NOPUT",1],"prev_kv":true,"watch_id":7}}');
    expect(c.createRequest).toMatchObject({ key: Buffer.from('a'), startRevision: 3n, filters: [0, 1], prevKv: true, watchId: 7n });
    expect(Object.keys(c)).toEqual(['createRequest']);
    expect(request('etcdserverpb.WatchRequest', '{"cancelRequest":{"watch_id":"5"}}')).toEqual({ cancelRequest: { watchId: 5n } });
    expect(request('etcdserverpb.WatchRequest', '{"progress_request":{}}')).toEqual({ progressRequest: {} });
    expect(mappingError('etcdserverpb.WatchRequest', '{"create_request":{"filters":"NOPUT"}}')).toBe(
      'json: cannot unmarshal string into Go value of type []json.RawMessage',
    );
  });
});

describe('responses to JSON', () => {
  const header = { clusterId: 1n, memberId: 2n, revision: 3n, raftTerm: 4n };

  it('proto names, 64-bit ints as strings, bytes base64, enums by name, zero values left out', () => {
    expect(response('etcdserverpb.RangeResponse', { header, kvs: [{ key: Buffer.from('foo'), createRevision: 2n, modRevision: 2n, version: 1n, value: Buffer.from('bar') }], count: 1n })).toBe(
      '{"header":{"cluster_id":"1","member_id":"2","revision":"3","raft_term":"4"},"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}],"count":"1"}',
    );
    // No kvs, more false, count 0: nothing but the header.
    expect(response('etcdserverpb.RangeResponse', { header, kvs: [], more: false, count: 0n })).toBe(
      '{"header":{"cluster_id":"1","member_id":"2","revision":"3","raft_term":"4"}}',
    );
    expect(response('etcdserverpb.RangeResponse', { more: true })).toBe('{"more":true}');
    // An empty header is still written; a uint32 is a number.
    expect(response('etcdserverpb.HashResponse', { header: {}, hash: 810051295 })).toBe('{"header":{},"hash":810051295}');
    expect(response('etcdserverpb.WatchResponse', { watchId: -1n, events: [{ type: 1, kv: { key: Buffer.from('a'), modRevision: 5n } }, { kv: { key: Buffer.from('b') } }] })).toBe(
      '{"watch_id":"-1","events":[{"type":"DELETE","kv":{"key":"YQ==","mod_revision":"5"}},{"kv":{"key":"Yg=="}}]}',
    );
    expect(response('etcdserverpb.StatusResponse', { dbSize: 5n, raftIndex: 6n })).toBe('{"dbSize":"5","raftIndex":"6"}');
    expect(response('etcdserverpb.AlarmResponse', { alarms: [{ memberID: 9n, alarm: 1 }, { alarm: 9 }] })).toBe('{"alarms":[{"memberID":"9","alarm":"NOSPACE"},{"alarm":9}]}');
  });

  it('txn responses: the set union member by its proto name, even when empty', () => {
    expect(
      response('etcdserverpb.TxnResponse', {
        succeeded: false,
        responses: [{ responseDeleteRange: { header: { revision: 7n }, deleted: 1n } }, { responseTxn: { header: {}, succeeded: true } }, { responsePut: {} }],
      }),
    ).toBe('{"responses":[{"response_delete_range":{"header":{"revision":"7"},"deleted":"1"}},{"response_txn":{"header":{},"succeeded":true}},{"response_put":{}}]}');
  });

  it("strings as Go's encoding/json writes them", () => {
    expect(goJsonString('a"b\\c\n\t<x>&\u2028\u0001\b')).toBe('"a\\"b\\\\c\\n\\t\\u003cx\\u003e\\u0026\\u2028\\u0001\\u0008"');
    expect(response('etcdserverpb.AuthUserListResponse', { users: ['<root>'] })).toBe('{"users":["\\u003croot\\u003e"]}');
  });
});

describe("Go's JSON syntax errors", () => {
  it('names the byte and the place as Go does', () => {
    expect(syntaxError('xx')).toBe("invalid character 'x' looking for beginning of value");
    expect(syntaxError('{"key":')).toBe('unexpected EOF');
    expect(syntaxError('{"key" 1}')).toBe("invalid character '1' after object key");
    expect(syntaxError('{"key":"Zm9v" "x"}')).toBe(`invalid character '"' after object key:value pair`);
    expect(syntaxError('{key:1}')).toBe("invalid character 'k' looking for beginning of object key string");
    expect(syntaxError('{"a":1,}')).toBe("invalid character '}' looking for beginning of object key string");
    expect(syntaxError('{"key":tru}')).toBe("invalid character '}' in literal true (expecting 'e')");
    expect(syntaxError('{"key":"\\u00zz"}')).toBe("invalid character 'z' in \\u hexadecimal character escape");
    expect(syntaxError('"\\q"')).toBe("invalid character 'q' in string escape code");
    expect(syntaxError('"a\nb"')).toBe("invalid character '\\n' in string literal");
    expect(syntaxError('[1 2]')).toBe("invalid character '2' after array element");
    expect(syntaxError('-x')).toBe("invalid character 'x' in numeric literal");
    expect(syntaxError('1.x')).toBe("invalid character 'x' after decimal point in numeric literal");
    expect(syntaxError('1ex')).toBe("invalid character 'x' in exponent of numeric literal");
    expect(syntaxError("'")).toBe("invalid character '\\'' looking for beginning of value");
    expect(syntaxError('\u00e9')).toBe("invalid character 'Ã' looking for beginning of value");
  });

  it('keeps number literals as text and unescapes strings', () => {
    expect(unmarshalWhole(' 18446744073709551615 ')).toEqual({ kind: 'number', text: '18446744073709551615' });
    expect(unmarshalWhole('"a\\u00e9\\n"')).toEqual({ kind: 'string', value: 'a\u00e9\n', raw: 'a\\u00e9\\n' });
  });
});

describe('several JSON values in a body, as they arrive', () => {
  it('waits for a value split across chunks (and a character split across chunks)', () => {
    const v = new BodyValues();
    const e = Buffer.from('{"k":"\u00e9"}');
    expect(v.push(Buffer.from('{"create_request":{"key":"YQ=='))).toEqual([]);
    expect(v.push(Buffer.from('"}} {"cancel_request":'))).toHaveLength(1);
    expect(v.push(Buffer.concat([Buffer.from('{}}'), e.subarray(0, 7)]))).toHaveLength(1);
    expect(v.push(e.subarray(7))).toEqual([{ value: parse('{"k":"\u00e9"}') }]);
    expect(v.end()).toEqual([]);
  });

  it('a number at the end of a chunk may go on; a bad value stops reading; a cut value at the end is an EOF', () => {
    const v = new BodyValues();
    expect(v.push(Buffer.from('12'))).toEqual([]);
    expect(v.push(Buffer.from('3 x {}'))).toEqual([{ value: { kind: 'number', text: '123' } }, { error: "invalid character 'x' looking for beginning of value" }]);
    expect(v.push(Buffer.from('{}'))).toEqual([]);
    const w = new BodyValues();
    expect(w.push(Buffer.from('{"a":'))).toEqual([]);
    expect(w.end()).toEqual([{ error: 'unexpected EOF' }]);
  });
});

describe('paths and errors', () => {
  it('every 3.4 path reaches a method of our protos', () => {
    expect(GATEWAY_PATHS.size).toBe(48);
    for (const [path, grpcPath] of GATEWAY_PATHS) expect(methodSchema(grpcPath), path).toBeDefined();
    expect(GATEWAY_PATHS.get('/v3/kv/lease/revoke')).toBe('/etcdserverpb.Lease/LeaseRevoke');
    expect(GATEWAY_PATHS.has('/v3/maintenance/hashkv')).toBe(false);
  });

  it("grpc-gateway's status mapping and bodies", () => {
    expect([5, 3, 9, 11, 7, 16, 12, 14, 2, 8, 1, 4].map(httpStatusOf)).toEqual([404, 400, 412, 400, 403, 401, 501, 503, 500, 429, 408, 504]);
    expect(errorBody(5, 'etcdserver: requested lease not found')).toBe(
      '{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}',
    );
    expect(streamErrorChunk(2, 'auth: permission denied')).toBe(
      '{"error":{"grpc_code":2,"http_code":500,"message":"auth: permission denied","http_status":"Internal Server Error"}}',
    );
  });
});
