// Go's flag value syntax as etcd parses it (bool, int, duration, URL lists, the
// --initial-cluster map) and the per-flag value checks, each failing with etcd's
// text as a ConfigError. config.ts assembles the Config from these.

import type { FlagSpec } from './flags.js';

export class ConfigError extends Error {
  /** etcd exits 2 for a flag it cannot parse, 1 for flags that parse but do not fit together. */
  constructor(message: string, readonly exitCode: 1 | 2 = 2) {
    super(message);
  }
}

export function list(v: string): string[] {
  return v.split(',').map((x) => x.trim()).filter((x) => x !== '');
}

export function nonNegative(v: string, name: string): number {
  const n = int(v, name);
  if (n < 0) throw new ConfigError(`invalid value "${v}" for flag -${name}: value out of range`);
  return n;
}

export function checkValue(spec: FlagSpec, value: string): void {
  if (!spec.supported) {
    if (spec.accepts?.includes(value)) return;
    throw new ConfigError(`--${spec.name} is not supported by etcd-ts yet (given "${value}")`);
  }
  switch (spec.kind) {
    case 'bool':
      if (!['true', 'false', '1', '0', 't', 'f', 'TRUE', 'FALSE', 'True', 'False'].includes(value)) {
        throw new ConfigError(`invalid boolean value "${value}" for -${spec.name}`);
      }
      break;
    case 'int':
      int(value, spec.name);
      break;
    case 'urls':
      urls(value, spec.name);
      break;
    case 'duration':
      duration(value, spec.name);
      break;
    default:
      break;
  }
  if (spec.name === 'logger' && !['zap', 'capnslog'].includes(value)) {
    throw new ConfigError(`invalid logger type: ${value}`);
  }
  if (spec.name === 'discovery-fallback' && !['proxy', 'exit'].includes(value)) {
    throw new ConfigError(`invalid value "${value}" for flag -${spec.name}: invalid value`);
  }
  if (spec.name === 'metrics' && !['basic', 'extensive'].includes(value)) {
    throw new ConfigError(`unknown metrics: ${value}`);
  }
  if ((spec.name === 'log-outputs' || spec.name === 'log-output') && !['default', 'stderr'].includes(value)) {
    throw new ConfigError(`--${spec.name}=${value} is not supported by etcd-ts yet (only stderr)`);
  }
  if (spec.name === 'experimental-backend-bbolt-freelist-type' && !['array', 'map'].includes(value)) {
    throw new ConfigError(`invalid value "${value}" for flag -${spec.name}: 'array' or 'map'`);
  }
}

export function bool(v: string): boolean {
  return ['true', '1', 't', 'TRUE', 'True'].includes(v);
}

export function int(v: string, name: string): number {
  if (!/^-?\d+$/.test(v.trim())) throw new ConfigError(`invalid value "${v}" for flag -${name}: parse error`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new ConfigError(`invalid value "${v}" for flag -${name}: value out of range`);
  return n;
}

const DURATION_UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("10m", "1h30m", "1.5s", "250ms", "0") in milliseconds. */
export function duration(v: string, name: string): number {
  const bad = (): ConfigError => new ConfigError(`invalid value "${v}" for flag -${name}: parse error`);
  let s = v.trim();
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw bad();
  let total = 0;
  const re = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m) throw bad();
    total += Number(m[1]) * DURATION_UNITS_MS[m[2]!]!;
    s = s.slice(m[0].length);
  }
  return sign * total;
}

/** etcd's canonical URL text: no trailing slash on a bare host. */
export function urlString(u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}

export function urls(v: string, name: string): URL[] {
  if (v.trim() === '') return [];
  return v.split(',').map((raw) => {
    let u: URL;
    try {
      u = new URL(raw.trim());
    } catch {
      throw new ConfigError(`invalid value "${v}" for flag -${name}: parse ${raw}: invalid URL`);
    }
    if (u.protocol === 'unix:' || u.protocol === 'unixs:') {
      throw new ConfigError(`--${name}: unix sockets (${raw}) are not supported by etcd-ts yet`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new ConfigError(`invalid value "${v}" for flag -${name}: URL scheme must be http, https, unix, or unixs: ${raw}`);
    }
    if (!u.port) throw new ConfigError(`invalid value "${v}" for flag -${name}: URL address does not have the form "host:port": ${raw}`);
    return u;
  });
}

export function parseInitialCluster(v: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of v.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ConfigError(`invalid value "${v}" for flag -initial-cluster: ${part} is not name=url`);
    const name = part.slice(0, eq).trim();
    const url = urls(part.slice(eq + 1), 'initial-cluster')[0]!;
    const list = out.get(name) ?? [];
    list.push(urlString(url));
    out.set(name, list);
  }
  return out;
}
