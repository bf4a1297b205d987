// The `etcd-ts discovery` command line: discoveryserver's flags (--addr/-a,
// --host/-h, --etcd/-e, --minage/-m, --gcfreq/-g) and its DISC_* variables (a
// flag given wins over the variable, the variable over the default), plus what
// standalone mode needs (--data-dir). Pure: argv and env in, a config or an error out.

import { ConfigError, duration } from '../server/config.js';

export { ConfigError };

export interface DiscoveryConfig {
  /** Where the HTTP service listens; Go's form (":8087" is every interface). */
  listen: { host: string | undefined; port: number };
  /** scheme://host[:port] put in front of every token /new answers. */
  publicHost: string;
  /** The backing cluster's client URLs (scheme://host:port); empty: standalone, an embedded member. */
  etcdEndpoints: string[];
  /** A token older than this is garbage collected (discoveryserver's --minage, 168h). */
  minAgeMs: number;
  /** How often the collector runs (discoveryserver's --gcfreq, 5m). */
  gcIntervalMs: number;
  /** Standalone mode: the embedded member's data dir. */
  dataDir: string;
  logLevel: string;
}

export type ParsedDiscoveryArgs = { kind: 'help' } | { kind: 'run'; config: DiscoveryConfig; envUsed: string[] };

interface FlagSpec {
  name: string;
  short?: string;
  env: string;
  def: string;
  help: string;
}

const FLAGS: FlagSpec[] = [
  { name: 'addr', short: 'a', env: 'DISC_ADDR', def: ':8087', help: 'web service address' },
  { name: 'host', short: 'h', env: 'DISC_HOST', def: '', help: 'discovery url prefix (default: http://<addr>, 127.0.0.1 for an address without a host)' },
  { name: 'etcd', short: 'e', env: 'DISC_ETCD', def: '', help: 'etcd endpoint location(s), comma-separated; empty: run an embedded member (standalone)' },
  { name: 'minage', short: 'm', env: 'DISC_MINAGE', def: '168h', help: 'min age of a token for garbage collection' },
  { name: 'gcfreq', short: 'g', env: 'DISC_GCFREQ', def: '5m', help: 'garbage collection frequency' },
  { name: 'data-dir', env: 'DISC_DATA_DIR', def: 'discovery.etcd', help: 'standalone mode: data dir of the embedded member' },
  { name: 'log-level', env: 'DISC_LOG_LEVEL', def: 'info', help: 'log level (debug, info, warn, error)' },
];

export function discoveryUsage(): string {
  const lines = FLAGS.map((f) => {
    const def = f.def === '' ? '' : `, default "${f.def}"`;
    return `  ${f.short ? `-${f.short}, ` : '    '}--${f.name.padEnd(10)} ${f.help} (env ${f.env}${def})`;
  });
  return `Usage: etcd-ts discovery [flags]\n\nA discovery service compatible with etcd-io/discoveryserver.\n\n${lines.join('\n')}\n`;
}

/** discoveryserver's mustHostOnlyURL: scheme://host with no path, query or fragment. */
export function hostOnlyUrl(given: string): string {
  let u: URL;
  try {
    u = new URL(given);
  } catch {
    throw new ConfigError(`Invalid url given: parse "${given}": invalid URL`);
  }
  if (u.pathname !== '' && u.pathname !== '/') throw new ConfigError(`Expected url without path (${u.pathname})`);
  if (u.search !== '') throw new ConfigError(`Expected url without query (${u.search})`);
  if (u.hash !== '') throw new ConfigError(`Expected url without fragment (${u.hash.slice(1)})`);
  if (u.host === '') throw new ConfigError('Expected hostname (none given)');
  return `${u.protocol}//${u.host}`;
}

/** Go's listen address: "host:port", ":port", "[v6]:port". */
export function listenAddress(addr: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) throw new ConfigError(`invalid value "${addr}" for flag -addr: want host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(`invalid value "${addr}" for flag -addr: port out of range`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? undefined : host, port };
}

function defaultPublicHost(listen: { host: string | undefined; port: number }): string {
  const wildcard = listen.host === undefined || listen.host === '0.0.0.0' || listen.host === '::';
  const host = wildcard ? '127.0.0.1' : listen.host!;
  return `http://${host.includes(':') ? `[${host}]` : host}:${listen.port}`;
}

function readFlags(argv: string[]): Map<string, string> | 'help' {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-help') return 'help';
    const m = /^--?([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new ConfigError(`unexpected argument "${arg}"`);
    const spec = FLAGS.find((f) => f.name === m[1] || f.short === m[1]);
    if (!spec) throw new ConfigError(`unknown flag: ${arg}`);
    let value = m[2];
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new ConfigError(`flag needs an argument: ${arg}`);
      value = argv[++i]!;
    }
    given.set(spec.name, value);
  }
  return given;
}

export function parseDiscoveryArgs(argv: string[], env: NodeJS.ProcessEnv): ParsedDiscoveryArgs {
  const given = readFlags(argv);
  if (given === 'help') return { kind: 'help' };
  const envUsed: string[] = [];
  const get = (name: string): string => {
    const spec = FLAGS.find((f) => f.name === name)!;
    const flag = given.get(name);
    if (flag !== undefined) return flag;
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv !== '') {
      envUsed.push(`${spec.env}=${fromEnv}`);
      return fromEnv;
    }
    return spec.def;
  };
  const listen = listenAddress(get('addr'));
  const host = get('host');
  const etcd = get('etcd');
  const minAgeMs = duration(get('minage'), 'minage');
  const gcIntervalMs = duration(get('gcfreq'), 'gcfreq');
  if (gcIntervalMs <= 0) throw new ConfigError(`invalid value "${get('gcfreq')}" for flag -gcfreq: non-positive interval`);
  const dataDir = get('data-dir');
  if (dataDir === '') throw new ConfigError('--data-dir must not be empty');
  return {
    kind: 'run',
    envUsed,
    config: {
      listen,
      publicHost: host === '' ? defaultPublicHost(listen) : hostOnlyUrl(host),
      etcdEndpoints: etcd.split(',').map((s) => s.trim()).filter((s) => s !== '').map(hostOnlyUrl),
      minAgeMs,
      gcIntervalMs,
      dataDir,
      logLevel: get('log-level'),
    },
  };
}
