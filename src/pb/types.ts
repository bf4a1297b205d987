// TypeScript shapes of the decoded etcd messages the server uses, written by
// hand to match proto/. Field names are lowerCamelCase of the proto names
// (range_end -> rangeEnd, remaining_TTL -> remainingTTL, member_ID -> memberID;
// ID, TTL, peerURLs, dbSize stay as written in the proto).
//
// Decoded objects: every non-oneof field is present with its default when it
// was absent on the wire (0n / 0 / false / '' / empty Buffer / [] /
// undefined for sub-messages); of a oneof only the member that was set is
// present. To encode, pass Encodable<T>: any field may be omitted, 64-bit
// fields may be number or bigint, bytes any Uint8Array.

/** Input shape for encoding a message whose decoded shape is T. */
export type Encodable<T> =
  T extends bigint ? bigint | number
  : T extends Uint8Array ? Uint8Array
  : T extends readonly (infer U)[] ? Encodable<U>[]
  : T extends object ? { [K in keyof T]?: Encodable<T[K]> | null }
  : T;

// ------------------------------------------------------------------ enums

export const SortOrder = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const;
export type SortOrder = (typeof SortOrder)[keyof typeof SortOrder];
export const SortTarget = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const;
export type SortTarget = (typeof SortTarget)[keyof typeof SortTarget];
export const CompareResult = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;
export type CompareResult = (typeof CompareResult)[keyof typeof CompareResult];
export const CompareTarget = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;
export type CompareTarget = (typeof CompareTarget)[keyof typeof CompareTarget];
export const EventType = { PUT: 0, DELETE: 1 } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];
export const FilterType = { NOPUT: 0, NODELETE: 1 } as const;
export type FilterType = (typeof FilterType)[keyof typeof FilterType];
export const AlarmType = { NONE: 0, NOSPACE: 1, CORRUPT: 2 } as const;
export type AlarmType = (typeof AlarmType)[keyof typeof AlarmType];
export const AlarmAction = { GET: 0, ACTIVATE: 1, DEACTIVATE: 2 } as const;
export type AlarmAction = (typeof AlarmAction)[keyof typeof AlarmAction];
export const PermissionType = { READ: 0, WRITE: 1, READWRITE: 2 } as const;
export type PermissionType = (typeof PermissionType)[keyof typeof PermissionType];
export const DowngradeAction = { VALIDATE: 0, ENABLE: 1, CANCEL: 2 } as const;
export type DowngradeAction = (typeof DowngradeAction)[keyof typeof DowngradeAction];

// Enum fields decode to whatever number is on the wire (proto3 enums are
// open), so they are typed as number, not as the unions above.

// ------------------------------------------------------------------ common

export interface ResponseHeader {
  clusterId: bigint;
  memberId: bigint;
  revision: bigint;
  raftTerm: bigint;
}

/** mvccpb.KeyValue */
export interface KeyValue {
  key: Buffer;
  createRevision: bigint;
  modRevision: bigint;
  version: bigint;
  value: Buffer;
  lease: bigint;
}

/** mvccpb.Event */
export interface Event {
  type: number; // EventType
  kv: KeyValue | undefined;
  prevKv: KeyValue | undefined;
}

// ------------------------------------------------------------------ KV

export interface RangeRequest {
  key: Buffer;
  rangeEnd: Buffer;
  limit: bigint;
  revision: bigint;
  sortOrder: number; // SortOrder
  sortTarget: number; // SortTarget
  serializable: boolean;
  keysOnly: boolean;
  countOnly: boolean;
  minModRevision: bigint;
  maxModRevision: bigint;
  minCreateRevision: bigint;
  maxCreateRevision: bigint;
}

export interface RangeResponse {
  header: ResponseHeader | undefined;
  kvs: KeyValue[];
  more: boolean;
  count: bigint;
}

export interface PutRequest {
  key: Buffer;
  value: Buffer;
  lease: bigint;
  prevKv: boolean;
  ignoreValue: boolean;
  ignoreLease: boolean;
}

export interface PutResponse {
  header: ResponseHeader | undefined;
  prevKv: KeyValue | undefined;
}

export interface DeleteRangeRequest {
  key: Buffer;
  rangeEnd: Buffer;
  prevKv: boolean;
}

export interface DeleteRangeResponse {
  header: ResponseHeader | undefined;
  deleted: bigint;
  prevKvs: KeyValue[];
}

/** oneof request: exactly one member is present (none if the client sent an empty op). */
export interface RequestOp {
  requestRange?: RangeRequest;
  requestPut?: PutRequest;
  requestDeleteRange?: DeleteRangeRequest;
  requestTxn?: TxnRequest;
}

/** oneof response. */
export interface ResponseOp {
  responseRange?: RangeResponse;
  responsePut?: PutResponse;
  responseDeleteRange?: DeleteRangeResponse;
  responseTxn?: TxnResponse;
}

export interface Compare {
  result: number; // CompareResult
  target: number; // CompareTarget
  key: Buffer;
  rangeEnd: Buffer;
  // oneof targetUnion: only the member that was sent is present.
  version?: bigint;
  createRevision?: bigint;
  modRevision?: bigint;
  value?: Buffer;
  lease?: bigint;
}

export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

export interface TxnResponse {
  header: ResponseHeader | undefined;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactionRequest {
  revision: bigint;
  physical: boolean;
}

export interface CompactionResponse {
  header: ResponseHeader | undefined;
}

// ------------------------------------------------------------------ Watch

export interface WatchCreateRequest {
  key: Buffer;
  rangeEnd: Buffer;
  startRevision: bigint;
  progressNotify: boolean;
  filters: number[]; // FilterType
  prevKv: boolean;
  watchId: bigint;
  fragment: boolean;
}

export interface WatchCancelRequest {
  watchId: bigint;
}

export type WatchProgressRequest = Record<string, never>;

/** oneof requestUnion. */
export interface WatchRequest {
  createRequest?: WatchCreateRequest;
  cancelRequest?: WatchCancelRequest;
  progressRequest?: WatchProgressRequest;
}

export interface WatchResponse {
  header: ResponseHeader | undefined;
  watchId: bigint;
  created: boolean;
  canceled: boolean;
  compactRevision: bigint;
  cancelReason: string;
  fragment: boolean;
  events: Event[];
}

// ------------------------------------------------------------------ Lease

export interface LeaseGrantRequest {
  TTL: bigint;
  ID: bigint;
}

export interface LeaseGrantResponse {
  header: ResponseHeader | undefined;
  ID: bigint;
  TTL: bigint;
  error: string;
}

export interface LeaseRevokeRequest {
  ID: bigint;
}

export interface LeaseRevokeResponse {
  header: ResponseHeader | undefined;
}

export interface LeaseCheckpoint {
  ID: bigint;
  remainingTTL: bigint;
}

export interface LeaseCheckpointRequest {
  checkpoints: LeaseCheckpoint[];
}

export interface LeaseKeepAliveRequest {
  ID: bigint;
}

export interface LeaseKeepAliveResponse {
  header: ResponseHeader | undefined;
  ID: bigint;
  TTL: bigint;
}

export interface LeaseTimeToLiveRequest {
  ID: bigint;
  keys: boolean;
}

export interface LeaseTimeToLiveResponse {
  header: ResponseHeader | undefined;
  ID: bigint;
  TTL: bigint;
  grantedTTL: bigint;
  keys: Buffer[];
}

export type LeaseLeasesRequest = Record<string, never>;

export interface LeaseStatus {
  ID: bigint;
}

export interface LeaseLeasesResponse {
  header: ResponseHeader | undefined;
  leases: LeaseStatus[];
}

// ------------------------------------------------------------------ Cluster

export interface Member {
  ID: bigint;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export interface MemberListRequest {
  linearizable: boolean;
}

export interface MemberListResponse {
  header: ResponseHeader | undefined;
  members: Member[];
}

export interface MemberAddRequest {
  peerURLs: string[];
  isLearner: boolean;
}

export interface MemberAddResponse {
  header: ResponseHeader | undefined;
  member: Member | undefined;
  members: Member[];
}

export interface MemberRemoveRequest {
  ID: bigint;
}

export interface MemberUpdateRequest {
  ID: bigint;
  peerURLs: string[];
}

export interface MemberPromoteRequest {
  ID: bigint;
}

/** Response of MemberRemove / MemberUpdate / MemberPromote. */
export interface MembersResponse {
  header: ResponseHeader | undefined;
  members: Member[];
}

// ------------------------------------------------------------------ Maintenance

export type StatusRequest = Record<string, never>;

export interface DowngradeInfo {
  enabled: boolean;
  targetVersion: string;
}

export interface StatusResponse {
  header: ResponseHeader | undefined;
  version: string;
  dbSize: bigint;
  leader: bigint;
  raftIndex: bigint;
  raftTerm: bigint;
  raftAppliedIndex: bigint;
  errors: string[];
  dbSizeInUse: bigint;
  isLearner: boolean;
  storageVersion: string;
  dbSizeQuota: bigint;
  downgradeInfo: DowngradeInfo | undefined;
}

export type HashRequest = Record<string, never>;

export interface HashResponse {
  header: ResponseHeader | undefined;
  hash: number; // uint32
}

export interface HashKVRequest {
  revision: bigint;
}

export interface HashKVResponse {
  header: ResponseHeader | undefined;
  hash: number; // uint32
  compactRevision: bigint;
  hashRevision: bigint;
}

export interface AlarmRequest {
  action: number; // AlarmAction
  memberID: bigint;
  alarm: number; // AlarmType
}

export interface AlarmMember {
  memberID: bigint;
  alarm: number; // AlarmType
}

export interface AlarmResponse {
  header: ResponseHeader | undefined;
  alarms: AlarmMember[];
}

export interface SnapshotResponse {
  header: ResponseHeader | undefined;
  remainingBytes: bigint;
  blob: Buffer;
  version: string;
}

export interface MoveLeaderRequest {
  targetID: bigint;
}

export interface DefragmentResponse {
  header: ResponseHeader | undefined;
}

// ------------------------------------------------------------------ Auth (the parts carried in Raft)

export interface UserAddOptions {
  noPassword: boolean;
}

export interface Permission {
  permType: number; // PermissionType
  key: Buffer;
  rangeEnd: Buffer;
}

export interface AuthUserAddRequest {
  name: string;
  password: string;
  options: UserAddOptions | undefined;
  hashedPassword: string;
}

export interface AuthUserChangePasswordRequest {
  name: string;
  password: string;
  hashedPassword: string;
}

export interface AuthUserGrantRoleRequest {
  user: string;
  role: string;
}

export interface AuthUserRevokeRoleRequest {
  name: string;
  role: string;
}

export interface AuthRoleGrantPermissionRequest {
  name: string;
  perm: Permission | undefined;
}

export interface AuthRoleRevokePermissionRequest {
  role: string;
  key: Buffer;
  rangeEnd: Buffer;
}

export interface InternalAuthenticateRequest {
  name: string;
  password: string;
  simpleToken: string;
}

// ------------------------------------------------------------------ membershippb (Raft only)

export interface MembershipAttributes {
  name: string;
  clientUrls: string[];
}

export interface ClusterVersionSetRequest {
  ver: string;
}

export interface ClusterMemberAttrSetRequest {
  memberID: bigint;
  memberAttributes: MembershipAttributes | undefined;
}

export interface DowngradeInfoSetRequest {
  enabled: boolean;
  ver: string;
}

// ------------------------------------------------------------------ Raft envelope

export interface RequestHeader {
  ID: bigint;
  username: string;
  authRevision: bigint;
  requesterMemberId: bigint;
}

type Empty = Record<string, never>;

/**
 * What is proposed to Raft: one request field set (not a proto oneof, so the
 * other request fields are present as undefined after decoding).
 */
export interface InternalRaftRequest {
  header: RequestHeader | undefined;
  ID: bigint;
  range: RangeRequest | undefined;
  put: PutRequest | undefined;
  deleteRange: DeleteRangeRequest | undefined;
  txn: TxnRequest | undefined;
  compaction: CompactionRequest | undefined;
  leaseGrant: LeaseGrantRequest | undefined;
  leaseRevoke: LeaseRevokeRequest | undefined;
  alarm: AlarmRequest | undefined;
  leaseCheckpoint: LeaseCheckpointRequest | undefined;
  authEnable: Empty | undefined;
  authDisable: Empty | undefined;
  authStatus: Empty | undefined;
  authenticate: InternalAuthenticateRequest | undefined;
  authUserAdd: AuthUserAddRequest | undefined;
  authUserDelete: { name: string } | undefined;
  authUserGet: { name: string } | undefined;
  authUserChangePassword: AuthUserChangePasswordRequest | undefined;
  authUserGrantRole: AuthUserGrantRoleRequest | undefined;
  authUserRevokeRole: AuthUserRevokeRoleRequest | undefined;
  authUserList: Empty | undefined;
  authRoleList: Empty | undefined;
  authRoleAdd: { name: string } | undefined;
  authRoleDelete: { role: string } | undefined;
  authRoleGet: { role: string } | undefined;
  authRoleGrantPermission: AuthRoleGrantPermissionRequest | undefined;
  authRoleRevokePermission: AuthRoleRevokePermissionRequest | undefined;
  clusterVersionSet: ClusterVersionSetRequest | undefined;
  clusterMemberAttrSet: ClusterMemberAttrSetRequest | undefined;
  downgradeInfoSet: DowngradeInfoSetRequest | undefined;
  downgradeVersionTest: { ver: string } | undefined;
}

// ------------------------------------------------------------------ v3lock, v3election

export interface LockRequest {
  name: Buffer;
  lease: bigint;
}

export interface LockResponse {
  header: ResponseHeader | undefined;
  key: Buffer;
}

export interface UnlockRequest {
  key: Buffer;
}

export interface UnlockResponse {
  header: ResponseHeader | undefined;
}

/** v3electionpb.LeaderKey: what a campaign won, and what Proclaim/Resign name. */
export interface LeaderKey {
  name: Buffer;
  key: Buffer;
  rev: bigint;
  lease: bigint;
}

export interface CampaignRequest {
  name: Buffer;
  lease: bigint;
  value: Buffer;
}

export interface CampaignResponse {
  header: ResponseHeader | undefined;
  leader: LeaderKey | undefined;
}

export interface ProclaimRequest {
  leader: LeaderKey | undefined;
  value: Buffer;
}

export interface ProclaimResponse {
  header: ResponseHeader | undefined;
}

/** Leader and Observe. */
export interface LeaderRequest {
  name: Buffer;
}

export interface LeaderResponse {
  header: ResponseHeader | undefined;
  kv: KeyValue | undefined;
}

export interface ResignRequest {
  leader: LeaderKey | undefined;
}

export interface ResignResponse {
  header: ResponseHeader | undefined;
}
