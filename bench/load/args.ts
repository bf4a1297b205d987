// Command-line parsing for the load generator. Flag names follow etcd's
// `benchmark` tool (tools/benchmark): --endpoints, --clients, --conns, --total,
// --key-size, --val-size, --key-space-size (alias --key-space), --consistency,
// --sequential-keys. Both `--flag=v` and `--flag v`; unknown flags are errors.

export type WorkloadName = 'put' | 'range' | 'txn' | 'watch' | 'lease-keepalive' | 'lease';

export interface BenchOptions {
  workload: WorkloadName;
  endpoints: string[];
  clients: number;
  conns: number;
  total: number;
  keySize: number;
  valSize: number;
  keySpace: number;
  /** Keys in order 0,1,2,… (round-robin over the key space) instead of random. */
  sequentialKeys: boolean;
  /** Range only: 'l' linearizable (default) or 's' serializable. */
  consistency: 'l' | 's';
  /** Prefix of every key (the rest is a zero-padded decimal index). */
  prefix: string;
  /** Range only: ask for count only (no values shipped back). */
  countOnly: boolean;
  /** Range only: range over the whole key space (prefix range) instead of one key. */
  rangeAll: boolean;
  /** Range/txn: write every key of the key space once before measuring. */
  preload: boolean;
  /** Per-request deadline, milliseconds (0: none). */
  timeoutMs: number;
  /** 'grpc' (@grpc/grpc-js, default), 'h2' (minimal gRPC on node:http2, lighter) or 'raw' (HTTP/2 frames by hand, lightest; plain TCP, KV only). */
  transport: 'grpc' | 'h2' | 'raw';
  /** Watch: watchers on the key prefix, spread over `streams` streams on `conns` connections. */
  watchers: number;
  streams: number;
  /** Watch: puts per second the writer issues (open loop). */
  rate: number;
  /** Put/range/txn: requests per second over all clients, each issued at its slot or when its client is free (0: back to back). */
  pace: number;
  /** Watch: where the watchers connect (default: --endpoints; the writer uses --endpoints). */
  watchEndpoints: string[];
  /** Lease-keepalive: leases granted (TTL `ttl` seconds) and kept alive over `streams` streams. */
  leases: number;
  ttl: number;
  /** put/range/txn: write one line per request, "<start unix ms> <latency ms>", to this file ('' = none). */
  latencyLog: string;
  /** put/range/txn: "name:password" — authenticate each connection and send its token (etcd's --user). '' = none. */
  user: string;
  /** Progress line on stderr every second. */
  progress: boolean;
  /** TLS (etcd benchmark's --cacert/--cert/--key): any of them set → the KV connections dial TLS. */
  cacert: string;
  cert: string;
  key: string;
  help: boolean;
}

export const USAGE = `usage: npm run bench -- put|range|txn|watch|lease-keepalive|lease [flags]
       npm run bench -- compare      (bench/run-table.sh: the issue #12 table, ours vs etcd, 3 members each)
       npm run bench -- keys-1m      (bench/run-million-keys.sh: N distinct keys on one member each)

  --endpoints host:port[,…]   gRPC endpoints (default 127.0.0.1:2379)
  --clients N                 concurrent in-flight requests (default 1)
  --conns N                   gRPC connections; clients spread round-robin (default 1)
  --total N                   requests to send (default 10000)
  --key-size N                bytes per key (default 8)
  --val-size N                bytes per value (default 8)
  --key-space N               distinct keys (default 1); alias --key-space-size
  --sequential-keys           pick keys round-robin instead of at random
  --prefix P                  key prefix (default none); keys are P + zero-padded index
  --consistency l|s           range: linearizable or serializable (default l)
  --range-all                 range: one prefix range over the whole key space
  --count-only                range: count only
  --preload                   range/txn: put every key once before measuring
  --timeout MS                per-request deadline (default 0: none)
  --transport grpc|h2|raw     client: @grpc/grpc-js (default), minimal gRPC on node:http2,
                              which costs the generator far less CPU per request, or raw:
                              HTTP/2 frames written by hand on TCP (put/range/txn; no TLS),
                              the least CPU of the three
  --watchers N                watch: watchers on the prefix (default 100)
  --streams N                 watch: Watch streams they are spread over (default 10);
                              lease-keepalive: LeaseKeepAlive streams
  --rate N                    watch: puts per second, at a fixed pace (default 100)
  --pace N                    put/range/txn: N requests per second in all, request i not before
                              i/N s (a client still waits for its previous answer); 0 = back to
                              back (default). A low pace measures a request on an idle cluster
  --watch-endpoints host:port[,…]  watch: where watchers connect (default --endpoints)
  --leases N                  lease-keepalive: leases to grant and keep alive (default 1000)
  --ttl N                     lease-keepalive, lease: their TTL in seconds (default 60)
  --latency-log FILE          put/range/txn: after the run, write one line per request to FILE:
                              "<start, ms since the Unix epoch> <latency ms>" (to cut out a time window);
                              watch: one line per put, "<issued, ms since the Unix epoch> <first event ms> <last event ms>"
  --user NAME:PASSWORD        put/range/txn: authenticate every connection (Auth.Authenticate on its
                              endpoint) and send its token with each request, as clientv3 does
  --no-progress               no per-second progress on stderr
  --cacert FILE, --cert FILE, --key FILE
                              put/range/txn: dial TLS, verifying the server with the CA and
                              presenting the client certificate (as etcd's benchmark tool)

Prints a report on stdout, then one line of JSON (the summary, for scripts).
txn: Txn(If mod_revision(key) > 0, Then Put(key, value), Else Put(key, value)).
watch: --watchers watchers on --prefix (default "w/"), --total puts under it at --rate per second;
reports events delivered per second and the delivery latency (put issued → event received).
lease-keepalive: --total keep-alives for --leases leases, round-robin, --clients in flight over --streams streams;
reports keep-alives per second and their latency; the leases are revoked at the end.
lease: --total LeaseGrant calls with --clients in flight (over --conns connections), then a LeaseRevoke
of each lease, --clients in flight; reports each phase's rate and latency, and both together.`;

const DEFAULTS: Omit<BenchOptions, 'workload'> = {
  endpoints: ['127.0.0.1:2379'],
  clients: 1,
  conns: 1,
  total: 10000,
  keySize: 8,
  valSize: 8,
  keySpace: 1,
  sequentialKeys: false,
  consistency: 'l',
  prefix: '',
  countOnly: false,
  rangeAll: false,
  preload: false,
  timeoutMs: 0,
  transport: 'grpc',
  watchers: 100,
  streams: 10,
  rate: 100,
  pace: 0,
  watchEndpoints: [],
  leases: 1000,
  ttl: 60,
  latencyLog: '',
  user: '',
  progress: true,
  cacert: '',
  cert: '',
  key: '',
  help: false,
};

type Kind = 'int' | 'nonneg' | 'bool' | 'string';
const FLAGS: Record<string, { field: keyof BenchOptions | 'endpointsRaw' | 'watchEndpointsRaw'; kind: Kind }> = {
  endpoints: { field: 'endpointsRaw', kind: 'string' },
  clients: { field: 'clients', kind: 'int' },
  conns: { field: 'conns', kind: 'int' },
  total: { field: 'total', kind: 'int' },
  'key-size': { field: 'keySize', kind: 'int' },
  'val-size': { field: 'valSize', kind: 'nonneg' },
  'key-space': { field: 'keySpace', kind: 'int' },
  'key-space-size': { field: 'keySpace', kind: 'int' },
  'sequential-keys': { field: 'sequentialKeys', kind: 'bool' },
  prefix: { field: 'prefix', kind: 'string' },
  consistency: { field: 'consistency', kind: 'string' },
  'range-all': { field: 'rangeAll', kind: 'bool' },
  'count-only': { field: 'countOnly', kind: 'bool' },
  preload: { field: 'preload', kind: 'bool' },
  timeout: { field: 'timeoutMs', kind: 'nonneg' },
  transport: { field: 'transport', kind: 'string' },
  watchers: { field: 'watchers', kind: 'int' },
  streams: { field: 'streams', kind: 'int' },
  rate: { field: 'rate', kind: 'int' },
  pace: { field: 'pace', kind: 'nonneg' },
  'watch-endpoints': { field: 'watchEndpointsRaw', kind: 'string' },
  leases: { field: 'leases', kind: 'int' },
  ttl: { field: 'ttl', kind: 'int' },
  'latency-log': { field: 'latencyLog', kind: 'string' },
  user: { field: 'user', kind: 'string' },
  progress: { field: 'progress', kind: 'bool' },
  help: { field: 'help', kind: 'bool' },
  cacert: { field: 'cacert', kind: 'string' },
  cert: { field: 'cert', kind: 'string' },
  key: { field: 'key', kind: 'string' },
};

export class ArgError extends Error {}

function parseBool(name: string, v: string): boolean {
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new ArgError(`invalid value "${v}" for flag --${name}: want true or false`);
}

function parseInt10(name: string, v: string, min: number): number {
  if (!/^\d+$/.test(v)) throw new ArgError(`invalid value "${v}" for flag --${name}: want an integer`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new ArgError(`invalid value "${v}" for flag --${name}: must be >= ${min}`);
  return n;
}

function parseEndpoints(flag: string, raw: string): string[] {
  const eps = raw
    .split(',')
    .map((s) => s.trim().replace(/^https?:\/\//, '').replace(/\/+$/, ''))
    .filter((s) => s.length > 0);
  if (eps.length === 0) throw new ArgError(`--${flag}: no endpoint given`);
  for (const e of eps) if (!/^[^\s:]+:\d+$/.test(e) && !/^\[[0-9a-fA-F:.]+\]:\d+$/.test(e)) throw new ArgError(`--${flag}: "${e}" is not host:port`);
  return eps;
}

/** Parses argv (without node and script). Throws ArgError with a clear message. */
export function parseArgs(argv: readonly string[]): BenchOptions {
  const opts: Record<string, unknown> = { ...DEFAULTS, endpoints: [...DEFAULTS.endpoints] };
  let workload: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      opts.help = true;
      continue;
    }
    if (!arg.startsWith('-')) {
      if (workload !== undefined) throw new ArgError(`unexpected argument "${arg}"`);
      workload = arg;
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    let name = eq >= 0 ? body.slice(0, eq) : body;
    let value: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    let negated = false;
    if (!(name in FLAGS) && name.startsWith('no-') && FLAGS[name.slice(3)]?.kind === 'bool') {
      name = name.slice(3);
      negated = true;
    }
    const spec = FLAGS[name];
    if (!spec) throw new ArgError(`unknown flag: ${arg}`);
    if (spec.kind === 'bool') {
      const b = value === undefined ? true : parseBool(name, value);
      opts[spec.field] = negated ? !b : b;
      continue;
    }
    if (negated) throw new ArgError(`unknown flag: ${arg}`);
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new ArgError(`flag needs an argument: --${name}`);
      value = argv[++i]!;
    }
    if (spec.kind === 'int') opts[spec.field] = parseInt10(name, value, 1);
    else if (spec.kind === 'nonneg') opts[spec.field] = parseInt10(name, value, 0);
    else opts[spec.field] = value;
  }
  if (opts.endpointsRaw !== undefined) {
    opts.endpoints = parseEndpoints('endpoints', String(opts.endpointsRaw));
    delete opts.endpointsRaw;
  }
  if (opts.watchEndpointsRaw !== undefined) {
    opts.watchEndpoints = parseEndpoints('watch-endpoints', String(opts.watchEndpointsRaw));
    delete opts.watchEndpointsRaw;
  }
  if (opts.consistency !== 'l' && opts.consistency !== 's') {
    throw new ArgError(`invalid value "${String(opts.consistency)}" for flag --consistency: want l or s`);
  }
  if (opts.transport !== 'grpc' && opts.transport !== 'h2' && opts.transport !== 'raw') {
    throw new ArgError(`invalid value "${String(opts.transport)}" for flag --transport: want grpc, h2 or raw`);
  }
  if (opts.transport === 'raw' && (opts.cacert || opts.cert || opts.key)) {
    throw new ArgError('--transport raw speaks plain TCP only: use --transport h2 with --cacert, --cert or --key');
  }
  const out = opts as unknown as BenchOptions;
  if (out.help) {
    out.workload = (workload ?? 'put') as WorkloadName;
    return out;
  }
  if (workload === undefined) throw new ArgError('missing workload: put, range, txn, watch, lease-keepalive or lease');
  if (!['put', 'range', 'txn', 'watch', 'lease-keepalive', 'lease'].includes(workload)) {
    throw new ArgError(`unknown workload "${workload}": want put, range, txn, watch, lease-keepalive or lease`);
  }
  out.workload = workload as WorkloadName;
  if (workload === 'watch') {
    if (out.watchEndpoints.length === 0) out.watchEndpoints = out.endpoints;
    if (out.prefix === '') out.prefix = 'w/';
    if (out.streams > out.watchers) out.streams = out.watchers;
  }
  const minKey = Buffer.byteLength(out.prefix) + String(out.keySpace - 1).length;
  if (out.keySize < minKey) {
    throw new ArgError(`--key-size ${out.keySize} is too small for prefix "${out.prefix}" and --key-space ${out.keySpace} (need >= ${minKey})`);
  }
  return out;
}
