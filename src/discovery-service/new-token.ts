// What /new needs besides storage: the cluster size from the request (Go's
// strconv.Atoi, as discoveryserver parses it, with its error text) and a fresh
// token (16 random bytes in hex, discoveryserver's generateCluster).

import { randomBytes } from 'node:crypto';

export const DEFAULT_CLUSTER_SIZE = 3;

export type SizeParse = { ok: true; size: string } | { ok: false; message: string };

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/**
 * The size= form value: absent or empty → 3; otherwise a base-10 integer with an
 * optional sign, in int64 range, stored normalised (strconv.Itoa: "+07" → "7").
 * Like discoveryserver, 0 and negative sizes are accepted here: the etcd members
 * reading the token reject them ("discovery: size key is bad" for a negative one).
 */
export function parseClusterSize(raw: string | undefined): SizeParse {
  if (raw === undefined || raw === '') return { ok: true, size: String(DEFAULT_CLUSTER_SIZE) };
  const quoted = JSON.stringify(raw);
  if (!/^[+-]?\d+$/.test(raw)) return { ok: false, message: `strconv.Atoi: parsing ${quoted}: invalid syntax` };
  const n = BigInt(raw);
  if (n > INT64_MAX || n < INT64_MIN) return { ok: false, message: `strconv.Atoi: parsing ${quoted}: value out of range` };
  return { ok: true, size: n.toString() };
}

/** 32 lower-case hex digits: what the router accepts as a token. */
export function generateToken(): string {
  return randomBytes(16).toString('hex');
}

/** The answer to /new: the public host without trailing slashes, then the token. */
export function tokenUrl(publicHost: string, token: string): string {
  return `${publicHost.replace(/\/+$/, '')}/${token}`;
}
