// The bootstrap-by-discovery flags, checked as etcd checks them: --discovery-srv
// (etcd 3.4) and etcd 3.6's v3 discovery (--discovery-endpoints, --discovery-token
// and the client settings of the registry connection). At most one way to name
// the initial cluster may be given; when a discovery flag is set and
// --initial-cluster is not, the default initial cluster is dropped (etcdmain).

/** How this member reaches the v3 discovery registry (etcd 3.6's DiscoveryConfig). */
export interface V3DiscoveryConfig {
  /** gRPC endpoints of the registry cluster: host:port, or with an http:// / https:// scheme. */
  endpoints: string[];
  token: string;
  dialTimeoutMs: number;
  requestTimeoutMs: number;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  /** etcd's default true: plain connections unless TLS material is given. */
  insecureTransport: boolean;
  insecureSkipTlsVerify: boolean;
  certFile: string;
  keyFile: string;
  cacertFile: string;
  /** Authenticate first when user is set (user:password in --discovery-user splits). */
  user: string;
  password: string;
}

export interface DiscoverySection {
  /** --discovery-srv domain ('' off) and --discovery-srv-name suffix. */
  discoverySrv: string;
  discoverySrvName: string;
  /** etcd 3.6's v3 discovery; undefined when --discovery-endpoints is not set. */
  v3Discovery: V3DiscoveryConfig | undefined;
  /** True when the initial cluster comes from discovery, not from --initial-cluster. */
  bootstrapByDiscovery: boolean;
}

export class DiscoveryFlagsError extends Error {}

const CONFLICT_34 =
  'multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery" or "discovery-srv"';
const CONFLICT_36 =
  'multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery-endpoints" or "discovery-srv"';

/**
 * `get`: a flag's value (given or default); `given`: whether it was set on the
 * command line, in the environment or in the config file; `duration`/`bool`:
 * config.ts's parsers (already checked for syntax).
 */
export function discoverySection(
  get: (name: string) => string,
  given: (name: string) => boolean,
  parse: { duration: (v: string, name: string) => number; bool: (v: string) => boolean },
): DiscoverySection {
  const discoverySrv = get('discovery-srv');
  const discoverySrvName = get('discovery-srv-name');
  const endpoints = get('discovery-endpoints') === '' ? [] : get('discovery-endpoints').split(',');
  const token = get('discovery-token');
  const v2Url = get('discovery');
  const initialClusterGiven = given('initial-cluster') && get('initial-cluster') !== '';
  const set = [initialClusterGiven, v2Url !== '', discoverySrv !== '', endpoints.length > 0].filter(Boolean).length;
  if (set > 1) throw new DiscoveryFlagsError(endpoints.length > 0 && v2Url === '' ? CONFLICT_36 : CONFLICT_34);
  if ((token !== '') !== (endpoints.length > 0)) {
    throw new DiscoveryFlagsError('both --discovery-token and --discovery-endpoints must be set');
  }
  if (endpoints.some((e) => e.trim() === '')) {
    throw new DiscoveryFlagsError('--discovery-endpoints must not contain empty endpoints');
  }
  const v3Discovery = endpoints.length > 0 ? v3Config(endpoints, token, get, parse) : undefined;
  // (etcdmain also drops the default for --discovery-srv-name alone, which then has no
  // initial cluster at all; here that flag alone leaves --initial-cluster's default.)
  const bootstrapByDiscovery = !initialClusterGiven && (discoverySrv !== '' || v2Url !== '' || endpoints.length > 0);
  return { discoverySrv, discoverySrvName, v3Discovery, bootstrapByDiscovery };
}

function v3Config(
  endpoints: string[],
  token: string,
  get: (name: string) => string,
  parse: { duration: (v: string, name: string) => number; bool: (v: string) => boolean },
): V3DiscoveryConfig {
  let user = get('discovery-user');
  let password = get('discovery-password');
  if (user !== '' && password === '') {
    const colon = user.indexOf(':');
    if (colon < 0) {
      throw new DiscoveryFlagsError(
        '--discovery-user without a password: etcd-ts does not prompt for it; give --discovery-user=<user>:<password> or --discovery-password',
      );
    }
    password = user.slice(colon + 1);
    user = user.slice(0, colon);
  }
  if ((get('discovery-cert') === '') !== (get('discovery-key') === '')) {
    throw new DiscoveryFlagsError('--discovery-cert and --discovery-key must be given together');
  }
  const ms = (name: string): number => {
    const v = parse.duration(get(name), name);
    if (v < 0) throw new DiscoveryFlagsError(`invalid value "${get(name)}" for flag -${name}: must not be negative`);
    return v;
  };
  return {
    endpoints: endpoints.map((e) => e.trim()),
    token,
    dialTimeoutMs: ms('discovery-dial-timeout'),
    requestTimeoutMs: ms('discovery-request-timeout'),
    keepaliveTimeMs: ms('discovery-keepalive-time'),
    keepaliveTimeoutMs: ms('discovery-keepalive-timeout'),
    insecureTransport: parse.bool(get('discovery-insecure-transport')),
    insecureSkipTlsVerify: parse.bool(get('discovery-insecure-skip-tls-verify')),
    certFile: get('discovery-cert'),
    keyFile: get('discovery-key'),
    cacertFile: get('discovery-cacert'),
    user,
    password,
  };
}
