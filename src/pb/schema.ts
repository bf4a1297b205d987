// Loads our .proto files once into a protobufjs reflection Root. We use
// protobufjs only as a .proto parser and for reflection; encoding and decoding
// are compiled by compile.ts into our own functions (bigint for 64-bit ints,
// plain objects with defaults), see there for why.

import { join } from 'node:path';
import protobuf from 'protobufjs';
import { protoDir } from './protodir.js';

/** Entry files; their imports (mvccpb, authpb, membershippb) come along. */
export const PROTO_FILES = [
  'etcdserverpb/rpc.proto',
  'etcdserverpb/internal.proto',
  'v3lockpb/v3lock.proto',
  'v3electionpb/v3election.proto',
] as const;

let root: protobuf.Root | undefined;

export function schema(): protobuf.Root {
  if (root) return root;
  const dir = protoDir();
  const r = new protobuf.Root();
  // Imports are written relative to proto/ ("mvccpb/kv.proto"), not to the
  // importing file, so resolve every path against the proto directory.
  r.resolvePath = (_origin: string, target: string) => join(dir, target);
  // Keep the .proto field names here; compile.ts maps them to the JS names
  // (see jsFieldName) so the mapping is ours and stable.
  r.loadSync(PROTO_FILES.slice(), { keepCase: true });
  r.resolveAll();
  return (root = r);
}
