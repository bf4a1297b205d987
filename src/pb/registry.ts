// The compiled codecs for every message of our protos, built once on first use.

import { compileAll, type MessageCodec } from './compile.js';
import { schema } from './schema.js';
import type { Encodable } from './types.js';

let codecs: Map<string, MessageCodec> | undefined;

function all(): Map<string, MessageCodec> {
  return (codecs ??= compileAll(schema()));
}

/**
 * Codec for a message by fully qualified name ("etcdserverpb.PutRequest").
 * T is the decoded shape (types.ts); encode accepts Encodable<T>.
 */
export function messageCodec<T = any>(fullName: string): MessageCodec<T, Encodable<T>> {
  const c = all().get(fullName);
  if (!c) throw new Error(`etcd-ts codec: unknown message type ${fullName}`);
  return c as MessageCodec<T, Encodable<T>>;
}

/** All known message names (for tests and tooling). */
export function messageNames(): string[] {
  return [...all().keys()];
}
