// grpc-gateway's JSON mapping (golang/protobuf jsonpb with OrigName, as etcd
// 3.4.23's gateway runs it), driven by the protobufjs schema of src/pb:
//   in:  a JSON value → the plain request object our codecs encode (JS field
//        names, bigint for 64-bit ints, Buffers for bytes, enum numbers), with
//        jsonpb's leniency (proto and lowerCamel names, numbers as strings or
//        numbers, enums by name or number, unknown fields ignored, null = unset)
//        and its error texts;
//   out: a decoded response object → JSON with the proto field names, 64-bit
//        ints as strings, bytes as base64, enums by name, and zero values,
//        empty lists and absent messages left out (a set oneof member stays).

import protobuf from 'protobufjs';
import { jsFieldName } from '../../../pb/compile.js';
import { decodeGoBase64 } from './go-base64.js';
import { GoJsonSyntaxError, goJsonString, type JsonValue, unmarshalWhole } from './go-json.js';

/** A request that does not fit its message, with jsonpb's text. */
export class JsonMappingError extends Error {}

const INT_KINDS: Record<string, { min: bigint; max: bigint }> = {
  int64: { min: -(1n << 63n), max: (1n << 63n) - 1n },
  uint64: { min: 0n, max: (1n << 64n) - 1n },
  int32: { min: -(1n << 31n), max: (1n << 31n) - 1n },
  uint32: { min: 0n, max: (1n << 32n) - 1n },
};

/** The Go type name of an enum, as in Go's errors: etcdserverpb.RangeRequest_SortOrder. */
export function goEnumName(e: protobuf.Enum): string {
  let name = e.name;
  let p = e.parent;
  while (p instanceof protobuf.Type) {
    name = `${p.name}_${name}`;
    p = p.parent;
  }
  return `${p!.fullName.replace(/^\./, '')}.${name}`;
}

function typeError(v: JsonValue, goType: string): JsonMappingError {
  return new JsonMappingError(`json: cannot unmarshal ${v.kind === 'bool' ? 'bool' : v.kind} into Go value of type ${goType}`);
}

/** A JSON number as an integer of `kind` (Go's strconv rules: no fraction, no exponent, in range). */
function integer(text: string, kind: string, goType: string): bigint {
  const range = INT_KINDS[kind]!;
  if (/^-?\d+$/.test(text)) {
    const n = BigInt(text);
    if (n >= range.min && n <= range.max) return n;
  }
  throw new JsonMappingError(`json: cannot unmarshal number ${text} into Go value of type ${goType}`);
}

function integerField(v: JsonValue, kind: string, goType: string): bigint | undefined {
  // jsonpb drops the quotes of a quoted number and reads what is inside as JSON.
  if (v.kind === 'string') {
    try {
      v = unmarshalWhole(v.raw);
    } catch (e) {
      if (e instanceof GoJsonSyntaxError) throw new JsonMappingError(e.message);
      throw e;
    }
  }
  if (v.kind === 'null') return undefined;
  if (v.kind !== 'number') throw typeError(v, goType);
  return integer(v.text, kind, goType);
}

function scalarFromJson(f: protobuf.Field, v: JsonValue): unknown {
  if (f.resolvedType instanceof protobuf.Enum) {
    const goType = goEnumName(f.resolvedType);
    if (v.kind === 'string') {
      // Own names only (protobufjs's values object also answers to inherited keys).
      const n = Object.hasOwn(f.resolvedType.values, v.raw) ? f.resolvedType.values[v.raw] : undefined;
      if (n === undefined) throw new JsonMappingError(`unknown value ${goJsonString(v.raw)} for enum ${goType}`);
      return n;
    }
    if (v.kind !== 'number') throw typeError(v, goType);
    return Number(integer(v.text, 'int32', goType));
  }
  if (f.resolvedType instanceof protobuf.Type) {
    if (v.kind !== 'object') throw typeError(v, 'map[string]json.RawMessage');
    return messageFromJson(f.resolvedType, v);
  }
  switch (f.type) {
    case 'int64':
    case 'uint64':
      return integerField(v, f.type, f.type);
    case 'int32':
    case 'uint32': {
      const n = integerField(v, f.type, f.type);
      return n === undefined ? undefined : Number(n);
    }
    case 'bool':
      if (v.kind !== 'bool') throw typeError(v, 'bool');
      return v.value;
    case 'string':
      if (v.kind !== 'string') throw typeError(v, 'string');
      return v.value;
    case 'bytes':
      return bytesFromJson(v);
    default:
      throw new JsonMappingError(`etcd-ts gateway: field type ${f.type} is not supported`);
  }
}

function bytesFromJson(v: JsonValue): Buffer {
  if (v.kind === 'string') {
    try {
      return decodeGoBase64(v.value);
    } catch (e) {
      throw new JsonMappingError((e as Error).message);
    }
  }
  // Go's encoding/json also fills a []byte from an array of small numbers.
  if (v.kind === 'array') {
    return Buffer.from(
      v.items.map((it) => {
        if (it.kind === 'null') return 0;
        if (it.kind !== 'number') throw typeError(it, 'uint8');
        const n = /^\d+$/.test(it.text) ? Number(it.text) : -1;
        if (n < 0 || n > 255) throw new JsonMappingError(`json: cannot unmarshal number ${it.text} into Go value of type uint8`);
        return n;
      }),
    );
  }
  throw typeError(v, '[]uint8');
}

function fieldFromJson(f: protobuf.Field, v: JsonValue): unknown {
  if (v.kind === 'null') return undefined;
  if (!f.repeated) return scalarFromJson(f, v);
  if (v.kind !== 'array') throw typeError(v, '[]json.RawMessage');
  return v.items.map((it) => {
    if (it.kind === 'null') return f.resolvedType instanceof protobuf.Type ? {} : undefined;
    return scalarFromJson(f, it);
  });
}

/**
 * The value jsonpb would take for `f` from the object: the lowerCamel name wins
 * over the proto name when both are there.
 */
function lookup(entries: Map<string, JsonValue>, f: protobuf.Field): JsonValue | undefined {
  return entries.get(jsFieldName(f.name)) ?? entries.get(f.name);
}

/** A JSON object → the plain object of `type` (JS field names) our codecs encode. */
export function messageFromJson(type: protobuf.Type, v: JsonValue): Record<string, unknown> {
  if (v.kind === 'null') return {};
  if (v.kind !== 'object') throw typeError(v, 'map[string]json.RawMessage');
  const out: Record<string, unknown> = {};
  // jsonpb reads the plain fields in declaration order, then the oneofs.
  const fields = type.fieldsArray;
  for (const f of [...fields.filter((x) => !x.partOf), ...fields.filter((x) => x.partOf)]) {
    f.resolve();
    const raw = lookup(v.entries, f);
    if (raw === undefined) continue;
    const value = fieldFromJson(f, raw);
    if (value === undefined) continue;
    if (f.partOf) for (const sibling of f.partOf.fieldsArray) delete out[jsFieldName(sibling.name)];
    out[jsFieldName(f.name)] = value;
  }
  return out;
}

// ---- out

function isDefault(f: protobuf.Field, v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (f.repeated) return (v as unknown[]).length === 0;
  if (f.resolvedType instanceof protobuf.Type) return false;
  if (typeof v === 'bigint' || typeof v === 'number') return v == 0;
  if (typeof v === 'boolean') return !v;
  return (v as { length: number }).length === 0;
}

function scalarToJson(f: protobuf.Field, v: unknown): string {
  if (f.resolvedType instanceof protobuf.Enum) {
    const name = f.resolvedType.valuesById[v as number];
    return name === undefined ? String(v) : goJsonString(name);
  }
  if (f.resolvedType instanceof protobuf.Type) return messageToJson(f.resolvedType, v as Record<string, unknown>);
  switch (f.type) {
    case 'int64':
    case 'uint64':
      return `"${String(v)}"`;
    case 'bytes':
      return `"${Buffer.from(v as Uint8Array).toString('base64')}"`;
    case 'string':
      return goJsonString(v as string);
    default:
      return String(v);
  }
}

/** A decoded message (our codecs' plain object) → grpc-gateway's JSON text. */
export function messageToJson(type: protobuf.Type, msg: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const f of type.fieldsArray) {
    f.resolve();
    const v = msg[jsFieldName(f.name)];
    // A oneof member that is set is written even when it holds a zero value.
    if (f.partOf ? v === undefined || v === null : isDefault(f, v)) continue;
    const json = f.repeated ? `[${(v as unknown[]).map((x) => scalarToJson(f, x)).join(',')}]` : scalarToJson(f, v);
    parts.push(`${goJsonString(f.name)}:${json}`);
  }
  return `{${parts.join(',')}}`;
}
