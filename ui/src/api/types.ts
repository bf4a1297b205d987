// The gateway's JSON shapes the dashboard reads (etcd 3.4's rpc.proto through
// grpc-gateway: snake_case names except where the proto spells otherwise, int64
// as strings, defaults left out).

export interface Header {
  cluster_id?: string;
  member_id?: string;
  revision?: string;
  raft_term?: string;
}

export interface KeyValue {
  key: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  value?: string;
  lease?: string;
}

export interface RangeResponse {
  header: Header;
  kvs?: KeyValue[];
  more?: boolean;
  count?: string;
}

export interface Member {
  ID: string;
  name?: string;
  peerURLs?: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}

export interface MemberListResponse {
  header: Header;
  members?: Member[];
}

export interface StatusResponse {
  header: Header;
  version?: string;
  dbSize?: string;
  leader?: string;
  raftIndex?: string;
  raftTerm?: string;
  raftAppliedIndex?: string;
  errors?: string[];
  dbSizeInUse?: string;
  isLearner?: boolean;
}

export interface AlarmMember {
  memberID: string;
  alarm?: 'NONE' | 'NOSPACE' | 'CORRUPT';
}

export interface AlarmResponse {
  header: Header;
  alarms?: AlarmMember[];
}

export interface LeaseLeasesResponse {
  header: Header;
  leases?: { ID: string }[];
}

export interface LeaseTimeToLiveResponse {
  header: Header;
  ID: string;
  TTL?: string;
  grantedTTL?: string;
  keys?: string[];
}

export interface WatchEvent {
  type?: 'PUT' | 'DELETE';
  kv: KeyValue;
  prev_kv?: KeyValue;
}

export interface WatchResponse {
  header: Header;
  watch_id?: string;
  created?: boolean;
  canceled?: boolean;
  compact_revision?: string;
  cancel_reason?: string;
  events?: WatchEvent[];
}
