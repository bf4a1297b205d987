// --auth-token: "simple", or "jwt,pub-key=<file>,priv-key=<file>,sign-method=<alg>[,ttl=<duration>]"
// (etcd's decomposeOpts). Parsed here into its type and options; reading the key
// files and the ttl duration is the server's business.

import { AuthOptionsError } from './errors.js';

export type AuthTokenSpec =
  | { type: 'simple' }
  | { type: 'jwt'; signMethod: string; pubKeyFile: string; privKeyFile: string; ttl: string; unknown: string[] };

const JWT_OPTIONS = new Set(['sign-method', 'pub-key', 'priv-key', 'ttl']);

export function parseAuthToken(value: string): AuthTokenSpec {
  const [type, ...rest] = value.split(',');
  const opts = new Map<string, string>();
  for (const part of rest) {
    const pair = part.split('=');
    if (pair.length !== 2) throw new AuthOptionsError(`invalid token specific option: ${value}`);
    if (opts.has(pair[0]!)) throw new AuthOptionsError(`invalid token specific option, duplicated parameters (${pair[0]}): ${value}`);
    opts.set(pair[0]!, pair[1]!);
  }
  switch (type) {
    case 'simple':
      return { type: 'simple' };
    case 'jwt':
      return {
        type: 'jwt',
        signMethod: opts.get('sign-method') ?? '',
        pubKeyFile: opts.get('pub-key') ?? '',
        privKeyFile: opts.get('priv-key') ?? '',
        ttl: opts.get('ttl') ?? '',
        unknown: [...opts.keys()].filter((k) => !JWT_OPTIONS.has(k)),
      };
    default:
      throw new AuthOptionsError(`unknown token type: ${type}`);
  }
}
