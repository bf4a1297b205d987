// What the API adapters (gRPC services, HTTP endpoints, later the /v3 JSON
// gateway) need from a member, as small interfaces: the adapters depend on these,
// never on the concrete EtcdServer (test/unit/layering.test.ts enforces it).
// EtcdServer satisfies them structurally; src/main.ts hands them over as one
// ClientApi, which is where the compiler checks that it does. (etcd's shape:
// RaftKV, Lessor, the ClusterServer's and Maintenance server's getters in
// server/etcdserver/v3_server.go and api/v3rpc.)
//
// The split of work: an adapter decodes, validates the request as etcd's v3rpc
// layer does, calls a port and encodes the answer. What a request does (Raft
// proposals, the ReadIndex barrier, the raw-bytes fast path, headers) is behind
// the port, so every transport reaches the same code path.

import type { AuthInfo, CallCredentials, Permission } from '../../auth/index.js';
import type { WatchHub } from '../../mvcc/index.js';
import type * as pb from '../../pb/types.js';

/** Response headers: cluster id, member id, Raft term, and a revision (the store's current one by default). */
export interface HeaderSource {
  header(revision?: number): pb.ResponseHeader;
}

/** Who this member is and what Raft says now (etcd's RaftStatusGetter, plus the ids headers carry). */
export interface ServerInfo extends HeaderSource {
  readonly memberId: bigint;
  readonly clusterId: bigint;
  /** The known leader; 0n when there is none. */
  readonly leader: bigint;
  /** The current Raft term. */
  readonly term: number;
}

/**
 * The KV requests (etcd's RaftKV): writes go through Raft, reads wait for a
 * ReadIndex barrier unless serializable. Requests arrive validated; answers
 * carry their header. A request decoded from the wire keeps its bytes (see
 * pb/raw.ts), which then go into the log entry unchanged; a request built in
 * process (the JSON gateway) is encoded.
 */
export interface RaftKV {
  /** `who`: the caller (AuthGate.identify); with auth on, a read is checked here and writes when applied. */
  range(req: pb.RangeRequest, who?: AuthInfo): Promise<pb.RangeResponse>;
  put(req: pb.PutRequest, who?: AuthInfo): Promise<pb.PutResponse>;
  deleteRange(req: pb.DeleteRangeRequest, who?: AuthInfo): Promise<pb.DeleteRangeResponse>;
  txn(req: pb.TxnRequest, who?: AuthInfo): Promise<pb.TxnResponse>;
  /** Resolves once the compaction is applied; with `physical`, once its keys are gone from the backend too. */
  compact(req: pb.CompactionRequest, who?: AuthInfo): Promise<pb.CompactionResponse>;
}

export type { CallCredentials };

/**
 * Who is calling, and the checks the adapters make before serving (etcd's
 * AuthInfoFromCtx / AuthInfoFromTLS and the auth store's checks). Every method
 * passes when auth is off. Writes are checked when applied, not here.
 */
export interface AuthGate {
  /** Whether auth is on now (adapters skip the work otherwise). */
  readonly enabled: boolean;
  /**
   * The caller: undefined when auth is off or nothing is presented; throws (or
   * rejects) "etcdserver: invalid auth token". A promise only when a simple
   * token's Authenticate entry is not applied on this member yet.
   */
  identify(creds: CallCredentials): AuthInfo | undefined | Promise<AuthInfo | undefined>;
  /** READ on [key, rangeEnd) (rangeEnd empty: the key; "\0": from the key on). Watch creation. */
  checkRange(who: AuthInfo | undefined, key: Uint8Array, rangeEnd: Uint8Array): void;
  /** The root role (Maintenance Defragment/Hash/HashKV/Snapshot, Cluster member changes). */
  checkAdmin(who: AuthInfo | undefined): void;
  /** WRITE on every key attached to the lease (LeaseTimeToLive). */
  checkLeaseKeys(who: AuthInfo | undefined, leaseId: bigint): void;
}

/** The Auth service's requests (through Raft, as etcd 3.4), answered once applied. */
export interface AuthApi {
  authEnable(who?: AuthInfo): Promise<void>;
  authDisable(who?: AuthInfo): Promise<void>;
  authStatus(who?: AuthInfo): Promise<{ enabled: boolean; revision: number }>;
  /** A token for name/password (the password is checked before proposing, never logged or replicated). */
  authenticate(name: string, password: string): Promise<string>;
  userAdd(name: string, password: string, noPassword: boolean, who?: AuthInfo): Promise<void>;
  /** The user's roles. */
  userGet(name: string, who?: AuthInfo): Promise<string[]>;
  userList(who?: AuthInfo): Promise<string[]>;
  userDelete(name: string, who?: AuthInfo): Promise<void>;
  userChangePassword(name: string, password: string, who?: AuthInfo): Promise<void>;
  userGrantRole(user: string, role: string, who?: AuthInfo): Promise<void>;
  userRevokeRole(user: string, role: string, who?: AuthInfo): Promise<void>;
  roleAdd(name: string, who?: AuthInfo): Promise<void>;
  roleGet(name: string, who?: AuthInfo): Promise<Permission[]>;
  roleList(who?: AuthInfo): Promise<string[]>;
  roleDelete(name: string, who?: AuthInfo): Promise<void>;
  roleGrantPermission(name: string, perm: Permission, who?: AuthInfo): Promise<void>;
  roleRevokePermission(name: string, key: Uint8Array, rangeEnd: Uint8Array, who?: AuthInfo): Promise<void>;
}

/** Waits until this member has applied everything committed before the call (ReadIndex). */
export interface ReadBarrier {
  linearizableReadBarrier(): Promise<void>;
}

/** What the Watch service's streams feed from. */
export interface WatchSource {
  /** Every watcher of this member, fed from the store it applies to. */
  readonly watchHub: WatchHub;
  readonly metrics: WatchMetrics;
  /** Runs fn when the member stops (the service clears its timers with it). */
  onStop(fn: () => void): void;
}

/** The gauges the Watch service keeps up to date. */
export interface WatchMetrics {
  readonly watchStreams: { inc(): void; dec(): void };
  readonly watchBufferedBytes: { inc(value: number): void };
}

/**
 * Leases (etcd's Lessor interface): grant and revoke through Raft; renew and
 * time-to-live answered by the leader (forwarded from a follower); the list from
 * this member's applied state.
 */
export interface LeaseApi {
  /** id 0n: the member picks one. */
  /** `revision`: the store's revision when the grant was applied (the answer's header). */
  grant(ttl: bigint, id: bigint): Promise<{ id: bigint; ttl: number; revision: number }>;
  /** With auth on, `who` needs WRITE on every attached key (checked when applied). */
  /** `revision`: the store's revision once the revoke (and its deletes) was applied. */
  revoke(id: bigint, who?: AuthInfo): Promise<{ revision: number }>;
  /** ttl 0 when the lease does not exist (any more). */
  renew(id: bigint): Promise<{ ttl: number }>;
  /** ttl -1 when the lease does not exist. */
  timeToLive(id: bigint, keys: boolean): Promise<{ ttl: number; grantedTtl: number; keys: Uint8Array[] }>;
  leases(): bigint[];
}

export interface ClusterMember {
  id: bigint;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

/** Cluster membership as this member has applied it. Member add/remove/update/promote plug in here. */
export interface ClusterApi extends ReadBarrier {
  members(): ClusterMember[];
  /** Whether this member is a learner now (its client RPCs are mostly refused). */
  isLearner(): boolean;
  memberAdd(peerURLs: string[], isLearner: boolean): Promise<{ member: ClusterMember; members: ClusterMember[] }>;
  memberRemove(id: bigint): Promise<ClusterMember[]>;
  memberUpdate(id: bigint, peerURLs: string[]): Promise<ClusterMember[]>;
  memberPromote(id: bigint): Promise<ClusterMember[]>;
}

export interface MemberStatus {
  leader: bigint;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  dbSize: number;
  /** dbSize minus the space compaction freed that the files still hold (defaults to dbSize). */
  dbSizeInUse?: number;
  isLearner: boolean;
}

export interface KvHash {
  hash: number;
  compactRevision: number;
  /** The revision hashed up to. */
  revision: number;
}

/** The Maintenance service's view of the member. Alarms, defragment, snapshot and leader transfer plug in here. */
export interface MaintenanceApi {
  status(): Promise<MemberStatus>;
  /** Hash of the keyspace up to revision (0: the current one), as etcd's HashKV computes it. */
  hashKV(revision: number): Promise<KvHash>;
  /** Hands leadership to `target` (this member must lead); resolves once it leads, rejects at `deadline` (epoch ms). */
  moveLeader(target: bigint, deadline: number): Promise<void>;
  /** Compacts the backend's files without blocking reads, writes or watches. */
  defragment(): Promise<void>;
  /** Maintenance.Hash: CRC-32C of the whole backend, and the revision it holds. */
  hash(): Promise<{ hash: number; revision: number }>;
  /** Maintenance.Snapshot: the store as etcd's backend file (size first, then the bytes; close() if not read to the end). */
  snapshot(): Promise<{ size: number; chunks: AsyncIterable<Uint8Array>; close(): Promise<void> }>;
  /** Maintenance.Alarm, through Raft: the alarms the request answered (GET: the list; (DE)ACTIVATE: what changed). */
  alarm(req: pb.AlarmRequest): Promise<ActiveAlarm[]>;
  /** The active alarms as this member has applied them. */
  alarms(): ActiveAlarm[];
}

/** An active alarm: which member raised which AlarmType. */
export interface ActiveAlarm {
  memberID: bigint;
  alarm: number;
}

/** The flags the adapters enforce or report. */
export interface ApiLimits {
  /** --max-request-bytes (gRPC messages may exceed it by etcd's framing allowance). */
  readonly maxRequestBytes: number;
  /** --max-txn-ops. */
  readonly maxTxnOps: number;
  /** --quota-backend-bytes (reported by Status). */
  readonly quotaBackendBytes: number;
  /** --election-timeout: how often require-leader watch streams check for a leader. */
  readonly electionMs: number;
  /** Interval of progress notifications to watchers that asked for them. */
  readonly watchProgressNotifyIntervalMs: number;
}

/** The Prometheus text of /metrics. */
export interface MetricsSource {
  scrapeMetrics(): Promise<{ contentType: string; body: string }>;
}

/** /health, /livez, /readyz (api/health.ts): no alarm is active, a leader is known, reads can be served. */
export interface HealthSource {
  readonly leader: bigint;
  range(req: pb.RangeRequest): Promise<unknown>;
  /** Names of the active alarms ("NOSPACE", "CORRUPT", as etcd's AlarmType); absent: none. */
  activeAlarms?(): string[];
  /** True while this member is a learner (/readyz non_learner); absent: never. */
  isLearner?(): boolean;
}

/** Everything the client port serves, port by port (main.ts builds it from the EtcdServer). */
export interface ClientApi {
  info: ServerInfo;
  kv: RaftKV;
  watch: WatchSource;
  lease: LeaseApi;
  cluster: ClusterApi;
  maintenance: MaintenanceApi;
  health: HealthSource;
  metrics: MetricsSource;
  limits: ApiLimits;
  /** Users, roles, tokens (the Auth service) and the checks the other services make. */
  auth: AuthApi & AuthGate;
}
