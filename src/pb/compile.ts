// Compiles a protobufjs reflection Type into a pair of specialised functions
// (decode, encode), generated as JavaScript source once at start-up.
//
// Why not protobufjs's own encode/decode: with long.js installed it yields
// Long objects for 64-bit fields, and its decoded messages are class instances
// whose defaults live on the prototype (null for absent sub-messages, virtual
// oneof properties). Converting that with toObject({longs: BigInt, defaults:
// true}) is a deep, allocation-heavy second pass on every request. Generating
// the decoder ourselves produces the final plain object in one pass:
//   - 64-bit ints -> bigint (0n when absent); 32-bit ints and enums -> number
//   - bytes -> Buffer (shared empty Buffer when absent), strings -> ''
//   - bool -> false, repeated -> [] (a fresh array), sub-messages -> undefined
//   - oneof members: only the one that is set is present on the object.
// The encoder follows proto3 rules (zero scalars are not written, oneof
// members are written whenever present, repeated numerics are packed) and
// accepts 64-bit values as bigint or number.

import protobuf from 'protobufjs';
import * as wire from './wire.js';

export interface MessageCodec<T = any, In = T> {
  /** Fully qualified name, e.g. "etcdserverpb.PutRequest". */
  readonly name: string;
  /** Bytes -> plain object (see the conventions above). Throws RangeError on malformed input. */
  decode(buf: Uint8Array): T;
  /** Plain object -> bytes; absent or null fields take their defaults. */
  encode(msg: In): Buffer;
  /**
   * The same bytes behind `prefixBytes` (1–5) bytes left for the caller, in one
   * buffer: a gRPC message with its 5-byte length prefix is one allocation
   * instead of an encode and a copy.
   */
  encodeAfter(msg: In, prefixBytes: number): Buffer;
}

type DecodeFn = (c: wire.Cursor, end: number) => any;
type EncodeFn = (m: any, w: protobuf.Writer) => void;

/** Wire type for each scalar type we support. */
const WIRE: Record<string, number> = {
  bool: 0, int32: 0, uint32: 0, int64: 0, uint64: 0, enum: 0,
  string: 2, bytes: 2, message: 2,
};

/** The subset of protobuf types the etcd protos use; anything else is refused loudly. */
function kindOf(f: protobuf.Field, typeName: string): string {
  if (f.map) throw new Error(`codec: map field ${typeName}.${f.name} is not supported`);
  if (f.resolvedType instanceof protobuf.Enum) return 'enum';
  if (f.resolvedType instanceof protobuf.Type) return 'message';
  if (WIRE[f.type] === undefined) {
    throw new Error(`codec: field type ${f.type} of ${typeName}.${f.name} is not supported`);
  }
  return f.type;
}

function defaultLiteral(kind: string): string {
  switch (kind) {
    case 'int64': case 'uint64': return '0n';
    case 'int32': case 'uint32': case 'enum': return '0';
    case 'bool': return 'false';
    case 'string': return "''";
    case 'bytes': return 'H.EMPTY_BYTES';
    default: return 'undefined';
  }
}

/** Expression reading one value of `kind` from cursor `c`. */
function readExpr(kind: string, msgIndex: number): string {
  switch (kind) {
    case 'int64': return 'H.readI64(c)';
    case 'uint64': return 'H.readU64(c)';
    case 'int32': case 'enum': return '(H.readU32(c)|0)';
    case 'uint32': return 'H.readU32(c)';
    case 'bool': return '(H.readU32(c)!==0)';
    case 'string': return 'H.readString(c)';
    case 'bytes': return 'H.readBytes(c)';
    case 'message': return `D[${msgIndex}](c,(n=H.readU32(c))+c.pos)`;
    default: throw new Error(kind);
  }
}

/** Statement writing value `v` (already known to be present) with tag `tag`. */
function writeStmt(kind: string, tag: number, msgIndex: number, v: string): string {
  switch (kind) {
    case 'int64': case 'uint64': return `w.uint32(${tag});H.writeLong(w,${v});`;
    case 'int32': case 'enum': return `w.uint32(${tag}).int32(${v});`;
    case 'uint32': return `w.uint32(${tag}).uint32(${v});`;
    case 'bool': return `w.uint32(${tag}).bool(${v});`;
    case 'string': return `w.uint32(${tag}).string(${v});`;
    case 'bytes': return `w.uint32(${tag}).bytes(${v});`;
    case 'message': return `w.uint32(${tag}).fork();E[${msgIndex}](${v},w);w.ldelim();`;
    default: throw new Error(kind);
  }
}

/** proto3 "is this scalar non-default" test (written only then). */
function nonDefaultTest(kind: string, v: string): string {
  switch (kind) {
    case 'int64': case 'uint64': case 'int32': case 'uint32': case 'enum':
      // `!= 0` is true for both 0 and 0n; undefined/null were excluded before.
      return `${v}!=0`;
    case 'bool': return `${v}===true`;
    case 'string': case 'bytes': return `${v}.length!==0`;
    default: return 'true';
  }
}

/**
 * JS property name of a proto field: lowerCamelCase, an underscore followed
 * by any letter or digit dropping out (range_end -> rangeEnd, member_ID ->
 * memberID, remaining_TTL -> remainingTTL; ID, TTL, peerURLs unchanged). Same
 * as protobufjs's default except that protobufjs keeps "_" before capitals.
 */
export function jsFieldName(protoName: string): string {
  return protoName.replace(/_([a-zA-Z0-9])/g, (_m, ch: string) => ch.toUpperCase());
}

const isPackable = (kind: string) => WIRE[kind] === 0;

/**
 * Compiles every message type reachable under `root` and returns codecs by
 * fully qualified name (without the leading dot).
 */
export function compileAll(root: protobuf.Root): Map<string, MessageCodec> {
  const types: protobuf.Type[] = [];
  const walk = (ns: protobuf.NamespaceBase) => {
    for (const o of ns.nestedArray) {
      if (o instanceof protobuf.Type) types.push(o);
      if (o instanceof protobuf.Namespace || o instanceof protobuf.Type) walk(o as protobuf.NamespaceBase);
    }
  };
  walk(root);
  const index = new Map<protobuf.Type, number>(types.map((t, i) => [t, i]));
  const D: DecodeFn[] = [];
  const E: EncodeFn[] = [];
  const H = wire;

  types.forEach((t, i) => {
    const name = t.fullName.replace(/^\./, '');
    const fields = t.fieldsArray.slice().sort((a, b) => a.id - b.id);
    const init: string[] = [];
    const cases: string[] = [];
    const enc: string[] = [];
    for (const f of fields) {
      f.resolve();
      const kind = kindOf(f, name);
      const mi = kind === 'message' ? index.get(f.resolvedType as protobuf.Type)! : -1;
      const p = JSON.stringify(jsFieldName(f.name));
      const ref = `m[${p}]`;
      const wt = WIRE[kind];
      const tag = (f.id << 3) | wt;
      const oneof = f.partOf;
      if (f.repeated) {
        init.push(`${p}:[]`);
        cases.push(`case ${tag}:${ref}.push(${readExpr(kind, mi)});continue;`);
        if (isPackable(kind)) {
          // Packed form (proto3 default); the unpacked form above is also accepted.
          const ptag = (f.id << 3) | 2;
          cases.push(`case ${ptag}:{const e2=H.readU32(c)+c.pos;while(c.pos<e2)${ref}.push(${readExpr(kind, mi)});if(c.pos!==e2)H.bad();continue;}`);
          const rd = kind === 'uint32' ? 'uint32' : kind === 'bool' ? 'bool' : 'int32';
          const body = kind === 'int64' || kind === 'uint64'
            ? `for(const x of v)H.writeLong(w,x);`
            : `for(const x of v)w.${rd}(x);`;
          enc.push(`if((v=${ref})!=null&&v.length!==0){w.uint32(${ptag}).fork();${body}w.ldelim();}`);
        } else {
          enc.push(`if((v=${ref})!=null)for(const x of v){${writeStmt(kind, tag, mi, 'x')}}`);
        }
      } else if (oneof) {
        // Absent members are not on the object at all; setting one drops the others.
        const siblings = oneof.fieldsArray.filter((s) => s !== f)
          .map((s) => JSON.stringify(jsFieldName(s.name)))
          .map((q) => `if(m[${q}]!==undefined)delete m[${q}];`).join('');
        cases.push(`case ${tag}:${siblings}${ref}=${readExpr(kind, mi)};continue;`);
        enc.push(`if((v=${ref})!=null){${writeStmt(kind, tag, mi, 'v')}}`);
      } else {
        init.push(`${p}:${defaultLiteral(kind)}`);
        cases.push(`case ${tag}:${ref}=${readExpr(kind, mi)};continue;`);
        const test = kind === 'message' ? 'true' : nonDefaultTest(kind, 'v');
        enc.push(`if((v=${ref})!=null&&${test}){${writeStmt(kind, tag, mi, 'v')}}`);
      }
    }
    const decodeSrc =
      `return function decode_${name.replace(/\W/g, '_')}(c,end){` +
      `let n;const m={${init.join(',')}};` +
      `while(c.pos<end){const t=H.readU32(c);switch(t){${cases.join('')}}` +
      `if(t>>>3===0)H.bad();H.skipField(c,t&7);}` +
      `if(c.pos!==end)H.bad();return m;}`;
    const encodeSrc =
      `return function encode_${name.replace(/\W/g, '_')}(m,w){let v;${enc.join('')}}`;
    D[i] = new Function('H', 'D', decodeSrc)(H, D) as DecodeFn;
    E[i] = new Function('H', 'E', encodeSrc)(H, E) as EncodeFn;
  });

  const out = new Map<string, MessageCodec>();
  types.forEach((t, i) => {
    const name = t.fullName.replace(/^\./, '');
    out.set(name, makeCodec(name, D[i], E[i]));
  });
  return out;
}

// One writer reused for every encode: encoding is synchronous and never
// re-entered, and reuse saves growing a fresh buffer each time. finish()
// copies the bytes out. An unusually large message does not keep its buffer.
let writer = protobuf.Writer.create();
const KEEP_WRITER_BYTES = 1 << 20;

/** Reserves n zero bytes ahead of the message (a fixed32 is 4, a varint 0 is 1). */
function reserve(w: protobuf.Writer, n: number): void {
  if (n >= 4) w.fixed32(0);
  for (let i = n >= 4 ? 4 : 0; i < n; i++) w.uint32(0); // a 0 varint is one byte
}

function encodeWith(e: EncodeFn, msg: any, prefixBytes: number): Buffer {
  const w = writer;
  w.pos = 0;
  (w as unknown as { states?: number[] }).states = undefined;
  try {
    if (prefixBytes > 0) reserve(w, prefixBytes);
    e(msg ?? {}, w);
    return w.finish() as Buffer;
  } finally {
    if (w.buf.length > KEEP_WRITER_BYTES) writer = protobuf.Writer.create();
  }
}

function makeCodec(name: string, d: DecodeFn, e: EncodeFn): MessageCodec {
  return {
    name,
    decode(buf: Uint8Array) {
      const b = wire.asBuffer(buf);
      return d({ buf: b, pos: 0 }, b.length);
    },
    encode(msg: any): Buffer {
      return encodeWith(e, msg, 0);
    },
    encodeAfter(msg: any, prefixBytes: number): Buffer {
      return encodeWith(e, msg, prefixBytes);
    },
  };
}
