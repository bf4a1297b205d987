// Locates the repository's proto/ directory from this module's own location,
// so the same code works from src/ (vitest, tsx) and from dist/src/ after tsc:
// we walk up from this file until a directory holding proto/etcdserverpb/rpc.proto
// appears. An explicit ETCD_TS_PROTO_DIR wins (packaging, odd layouts).

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const MARKER = join('etcdserverpb', 'rpc.proto');

let cached: string | undefined;

export function protoDir(): string {
  if (cached !== undefined) return cached;
  const override = process.env.ETCD_TS_PROTO_DIR;
  if (override) {
    if (!existsSync(join(override, MARKER))) {
      throw new Error(`etcd-ts: ETCD_TS_PROTO_DIR=${override} has no ${MARKER}`);
    }
    return (cached = resolve(override));
  }
  let dir = dirname(fileURLToPath(import.meta.url));
  // src/pb is 2 levels below the root, dist/src/pb 3.
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, MARKER))) return (cached = candidate);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`etcd-ts: cannot find proto/${MARKER} above ${fileURLToPath(import.meta.url)}`);
}
