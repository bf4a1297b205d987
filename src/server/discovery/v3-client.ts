// A small etcd v3 client for the discovery registry: Range, Put, a prefix Watch
// and Authenticate over @grpc/grpc-js with our own codecs (src/pb), configured
// by etcd 3.6's --discovery-* client flags. Calls go to one endpoint at a time;
// a call that fails for want of a connection moves on to the next endpoint (the
// caller's retry then reaches it), as clientv3's balancer would.

import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import { messageCodec } from '../../pb/registry.js';
import type { KeyValue, RangeResponse, WatchResponse } from '../../pb/types.js';
import type { V3DiscoveryConfig } from './discovery-flags.js';

export interface RegistryKv {
  key: string;
  value: string;
  createRevision: bigint;
}

/** What the v3 discovery protocol needs of a registry (v3-discovery.ts); fakes implement it in tests. */
export interface RegistryClient {
  /**
   * clientv3.New: with a user, authenticates within the dial timeout; a refusal or
   * an unreachable registry then fails the start (not retried), as in etcd 3.6.
   */
  connect(): Promise<void>;
  /** One key, or every key under `key` as a prefix; `revision` is the header's. */
  get(key: string, prefix: boolean): Promise<{ kvs: RegistryKv[]; revision: bigint }>;
  put(key: string, value: string): Promise<void>;
  /**
   * Puts under `prefix` from revision `fromRev` on, each to `onPut` until it
   * returns true (resolves) or the stream fails (rejects).
   */
  watchPuts(prefix: string, fromRev: bigint, onPut: (kv: RegistryKv) => boolean): Promise<void>;
  close(): void;
}

function method<Req, Res>(path: string, req: string, res: string) {
  const rq = messageCodec(req);
  const rs = messageCodec(res);
  return {
    path,
    serialize: (v: Req): Buffer => rq.encode(v as never),
    deserialize: (b: Buffer): Res => rs.decode(b) as Res,
  };
}

const RANGE = method<object, RangeResponse>('/etcdserverpb.KV/Range', 'etcdserverpb.RangeRequest', 'etcdserverpb.RangeResponse');
const PUT = method<object, unknown>('/etcdserverpb.KV/Put', 'etcdserverpb.PutRequest', 'etcdserverpb.PutResponse');
const WATCH = method<object, WatchResponse>('/etcdserverpb.Watch/Watch', 'etcdserverpb.WatchRequest', 'etcdserverpb.WatchResponse');
const AUTHENTICATE = method<object, { token: string }>(
  '/etcdserverpb.Auth/Authenticate',
  'etcdserverpb.AuthenticateRequest',
  'etcdserverpb.AuthenticateResponse',
);

/** The key range of everything under `prefix` (clientv3's GetPrefixRangeEnd). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

interface Endpoint {
  target: string;
  secure: boolean;
}

/** "host:port", "http://host:port" or "https://host:port"; TLS when the scheme or the flags ask for it. */
export function parseEndpoint(raw: string, tlsWanted: boolean): Endpoint {
  const m = /^(https?):\/\/(.*?)\/?$/.exec(raw);
  const target = m ? m[2]! : raw;
  return { target, secure: tlsWanted || m?.[1] === 'https' };
}

/** clientv3's newTLSConfig: TLS when material is given, transport security is asked for, or verification is skipped. */
function wantsTls(cfg: V3DiscoveryConfig): boolean {
  return cfg.certFile !== '' || cfg.keyFile !== '' || cfg.cacertFile !== '' || !cfg.insecureTransport || cfg.insecureSkipTlsVerify;
}

function credentials(cfg: V3DiscoveryConfig, secure: boolean): grpc.ChannelCredentials {
  if (!secure) return grpc.credentials.createInsecure();
  const ctx: tls.SecureContextOptions = { minVersion: 'TLSv1.2' };
  if (cfg.cacertFile !== '') ctx.ca = readFileSync(cfg.cacertFile);
  if (cfg.certFile !== '') {
    ctx.cert = readFileSync(cfg.certFile);
    ctx.key = readFileSync(cfg.keyFile);
  }
  const verify: grpc.VerifyOptions = cfg.insecureSkipTlsVerify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {};
  return grpc.credentials.createFromSecureContext(tls.createSecureContext(ctx), verify);
}

const kvOf = (kv: KeyValue): RegistryKv => ({ key: kv.key.toString('utf8'), value: kv.value.toString('utf8'), createRevision: kv.createRevision });

/** Errors that say nothing about the request, only that this endpoint could not be reached in time. */
const UNREACHABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);

/** Throws at once for TLS files that cannot be read (etcd 3.6 fails the join then). */
export function registryClient(cfg: V3DiscoveryConfig): RegistryClient {
  const tlsWanted = wantsTls(cfg);
  const endpoints = cfg.endpoints.map((e) => parseEndpoint(e, tlsWanted));
  const creds = endpoints.map((e) => credentials(cfg, e.secure));
  const options: grpc.ChannelOptions = {
    'grpc.keepalive_time_ms': cfg.keepaliveTimeMs > 0 ? cfg.keepaliveTimeMs : -1,
    'grpc.keepalive_timeout_ms': cfg.keepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': Math.max(1000, cfg.dialTimeoutMs),
  };
  let index = 0;
  let client: grpc.Client | undefined;
  /** The auth token; '' when the registry has auth disabled; undefined: authenticate first. */
  let token: string | undefined;

  const current = (): grpc.Client =>
    (client ??= new grpc.Client(endpoints[index]!.target, creds[index]!, options));
  const moveOn = (): void => {
    client?.close();
    client = undefined;
    token = undefined;
    index = (index + 1) % endpoints.length;
  };
  function unary<Res>(m: ReturnType<typeof method<object, Res>>, req: object, md: grpc.Metadata, timeoutMs = cfg.dialTimeoutMs + cfg.requestTimeoutMs): Promise<Res> {
    const c = current();
    return new Promise((resolve, reject) => {
      c.makeUnaryRequest(m.path, m.serialize, m.deserialize, req, md, { deadline: new Date(Date.now() + timeoutMs) }, (err, res) => {
        if (err) {
          if (UNREACHABLE.has(err.code)) moveOn();
          // A simple token expires unused (--auth-token-ttl): the next call authenticates again.
          if (err.code === grpc.status.UNAUTHENTICATED) token = undefined;
          reject(err);
        } else resolve(res!);
      });
    });
  }

  async function authenticate(timeoutMs?: number): Promise<string> {
    try {
      return (await unary(AUTHENTICATE, { name: cfg.user, password: cfg.password }, new grpc.Metadata(), timeoutMs)).token;
    } catch (err) {
      const details = (err as grpc.ServiceError).details;
      if (details === 'etcdserver: authentication is not enabled') return '';
      throw err;
    }
  }

  async function metadata(): Promise<grpc.Metadata> {
    const md = new grpc.Metadata();
    if (cfg.user === '') return md;
    token ??= await authenticate();
    if (token !== '') md.set('token', token);
    return md;
  }

  return {
    async connect() {
      if (cfg.user === '') return;
      try {
        token = await authenticate(cfg.dialTimeoutMs);
      } catch (err) {
        // etcd prints the server's text (rpctypes), not gRPC's "<code> <NAME>: " prefix.
        throw new Error((err as grpc.ServiceError).details ?? (err as Error).message);
      }
    },
    async get(key, prefix) {
      const k = Buffer.from(key);
      const res = await unary(RANGE, { key: k, rangeEnd: prefix ? prefixEnd(k) : Buffer.alloc(0) }, await metadata());
      return { kvs: res.kvs.map(kvOf), revision: res.header?.revision ?? 0n };
    },
    async put(key, value) {
      await unary(PUT, { key: Buffer.from(key), value: Buffer.from(value) }, await metadata());
    },
    async watchPuts(prefix, fromRev, onPut) {
      const md = await metadata();
      const c = current();
      await new Promise<void>((resolve, reject) => {
        const call = c.makeBidiStreamRequest(WATCH.path, WATCH.serialize, WATCH.deserialize, md, {});
        let done = false;
        const finish = (err?: Error): void => {
          if (done) return;
          done = true;
          call.cancel();
          if (err) reject(err);
          else resolve();
        };
        call.on('data', (res: WatchResponse) => {
          if (res.canceled) {
            finish(new Error(`watch canceled: ${res.cancelReason || `compacted at revision ${res.compactRevision}`}`));
            return;
          }
          for (const ev of res.events) {
            // PUT is 0; a deleted registration does not unregister (etcd ignores deletes too).
            if (ev.type === 0 && ev.kv && onPut(kvOf(ev.kv))) {
              finish();
              return;
            }
          }
        });
        call.on('error', (err: grpc.ServiceError) => {
          if (UNREACHABLE.has(err.code)) moveOn();
          finish(err);
        });
        call.on('end', () => finish(new Error('watch stream ended')));
        const k = Buffer.from(prefix);
        call.write({ createRequest: { key: k, rangeEnd: prefixEnd(k), startRevision: fromRev } });
      });
    },
    close() {
      client?.close();
      client = undefined;
    },
  };
}
