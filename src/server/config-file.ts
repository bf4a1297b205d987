// --config-file: etcd's YAML configuration file (embed.ConfigFromFile plus the
// proxy keys etcdmain reads). Keys are the flag names; values are what the flag
// would be given, with YAML's types: lists are joined with commas (log-outputs:
// [stderr]), and the durations of etcd's Config are Go time.Duration numbers in
// nanoseconds (a Go duration string such as "5s" is accepted too). The nested
// client-transport-security and peer-transport-security maps carry the TLS flags.
// As in etcd, keys it does not know are ignored, and a key left empty keeps the
// flag's default.

import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { FLAG_BY_NAME } from './flags.js';

export class ConfigFileError extends Error {}

const SECURITY: Record<string, Record<string, string>> = {
  'client-transport-security': {
    'cert-file': 'cert-file',
    'key-file': 'key-file',
    'client-cert-auth': 'client-cert-auth',
    'trusted-ca-file': 'trusted-ca-file',
    'auto-tls': 'auto-tls',
  },
  'peer-transport-security': {
    'cert-file': 'peer-cert-file',
    'key-file': 'peer-key-file',
    'client-cert-auth': 'peer-client-cert-auth',
    'trusted-ca-file': 'peer-trusted-ca-file',
    'auto-tls': 'peer-auto-tls',
  },
};

/** Never read from a file: they choose what is done, not how the member runs. */
const NOT_FROM_FILE = new Set(['config-file', 'version', 'help']);

export interface FileValues {
  /** flag name → value, as the command line would give it. */
  values: Map<string, string>;
  /** Keys of the file that are not etcd configuration (etcd ignores them too). */
  unknown: string[];
}

export function readConfigFile(path: string): FileValues {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigFileError(`error verifying flags, ${(err as Error).message}. See 'etcd --help'.`);
  }
  return parseConfigFile(text);
}

export function parseConfigFile(text: string): FileValues {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigFileError(`error verifying flags, error converting YAML to JSON: ${(err as Error).message}. See 'etcd --help'.`);
  }
  const values = new Map<string, string>();
  const unknown: string[] = [];
  if (doc === null || doc === undefined) return { values, unknown };
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigFileError('error verifying flags, the configuration file is not a YAML map');
  for (const [key, raw] of Object.entries(doc as Record<string, unknown>)) {
    const nested = SECURITY[key];
    if (nested) {
      if (raw === null || raw === undefined) continue;
      if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigFileError(`error verifying flags, ${key} must be a map`);
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        const flag = nested[k];
        if (!flag) unknown.push(`${key}.${k}`);
        else put(values, flag, v);
      }
      continue;
    }
    if (!FLAG_BY_NAME.has(key) || NOT_FROM_FILE.has(key)) {
      unknown.push(key);
      continue;
    }
    put(values, key, raw);
  }
  return { values, unknown };
}

function put(values: Map<string, string>, flag: string, v: unknown): void {
  if (v === null || v === undefined) return;
  const spec = FLAG_BY_NAME.get(flag)!;
  let s: string;
  if (Array.isArray(v)) s = v.map((x) => String(x)).join(',');
  else if (typeof v === 'number' && spec.kind === 'duration') s = `${v}ns`;
  else if (typeof v === 'object') throw new ConfigFileError(`error verifying flags, ${flag} must not be a map`);
  else s = String(v);
  // An empty string is the flag's zero value, which for these keys means "unset".
  if (s === '' && spec.kind !== 'string') return;
  values.set(flag, s);
}
