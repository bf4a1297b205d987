// What a client saw, recorded the same way by the deterministic simulation
// (test/sim) and by the real-process fault suite (test/e2e), so that one set of
// checkers (linearizability, durability, watch validators) judges both.
//
// Keys and values are strings (the tests write UTF-8 text). Lease ids are decimal
// strings because they are 64-bit. Times are in one monotonic unit per history
// (simulated ms in the simulation, real ms in e2e); only their order matters.

/** A key's state as a Range or a watch event returns it ("" lease = none). */
export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  /** Decimal lease id, "0" when the key has no lease. */
  lease: string;
}

/** One comparison of a Txn (only the forms the tests issue). */
export interface Compare {
  key: string;
  target: 'value' | 'version' | 'create' | 'mod';
  op: '=' | '!=' | '<' | '>';
  /** A string for 'value', a number for the others. */
  operand: string | number;
}

/** A write or read inside a Txn branch. */
export type TxnOp =
  | { kind: 'put'; key: string; value: string; lease?: string }
  | { kind: 'delete'; key: string; end?: string }
  | { kind: 'range'; key: string; end?: string };

export type Request =
  /** end: omitted = the single key; '\0' = every key >= key; else [key, end). revision 0/omitted = latest. */
  | { kind: 'range'; key: string; end?: string; revision?: number; serializable?: boolean; limit?: number }
  | { kind: 'put'; key: string; value: string; lease?: string }
  | { kind: 'delete'; key: string; end?: string }
  | { kind: 'txn'; compare: Compare[]; success: TxnOp[]; failure: TxnOp[] }
  | { kind: 'compact'; revision: number }
  | { kind: 'leaseGrant'; ttl: number; /** chosen by the client, as etcdctl lets you */ id: string }
  | { kind: 'leaseRevoke'; id: string }
  | { kind: 'leaseKeepAlive'; id: string };

/** The answer of a TxnOp inside a Txn response. */
export type TxnOpResult =
  | { kind: 'put' }
  | { kind: 'delete'; deleted: number }
  | { kind: 'range'; kvs: KeyValue[] };

export type Response =
  | { kind: 'range'; revision: number; kvs: KeyValue[]; count: number }
  | { kind: 'put'; revision: number }
  | { kind: 'delete'; revision: number; deleted: number }
  | { kind: 'txn'; revision: number; succeeded: boolean; results: TxnOpResult[] }
  | { kind: 'compact'; revision: number }
  | { kind: 'leaseGrant'; revision: number; id: string; ttl: number }
  | { kind: 'leaseRevoke'; revision: number }
  /** ttl <= 0: the lease was not found (it expired or was revoked). */
  | { kind: 'leaseKeepAlive'; ttl: number }
  /**
   * The request failed. `definite`: it surely had no effect (etcd refused it:
   * compacted revision, lease not found, bad request). Otherwise (timeout, the
   * member crashed, connection lost) it may or may not have taken effect, and
   * the operation's `return` must be Infinity.
   */
  | { kind: 'error'; message: string; definite: boolean };

/** One client call: invoked at `call`, answered at `return` (Infinity: never answered / outcome unknown). */
export interface Operation {
  /** Unique within the history. */
  id: number;
  /** The client (one outstanding call at a time per client). */
  client: number;
  /** The member the client talked to, when known (for serializable reads). */
  member?: string;
  call: number;
  return: number;
  request: Request;
  response: Response;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  /** For a delete: the key and its tombstone revision (modRevision), other fields 0/"". */
  kv: KeyValue;
  prevKv?: KeyValue;
}

/** What a watcher asked for. */
export interface WatchRequest {
  key: string;
  /** As in Request range: omitted = one key, '\0' = every key >= key. */
  end?: string;
  /** 0/omitted = from now. */
  startRevision?: number;
  prevKv?: boolean;
  noPut?: boolean;
  noDelete?: boolean;
}

/** One WatchResponse as received. */
export interface WatchResponse {
  time: number;
  /** The header revision. */
  revision: number;
  events: WatchEvent[];
  /** Set when the watch was cancelled because startRevision was compacted. */
  compactRevision?: number;
  canceled?: boolean;
}

/** One watch stream from creation to its end (cancel, crash, end of test). */
export interface WatchRecord {
  id: number;
  client: number;
  member?: string;
  request: WatchRequest;
  responses: WatchResponse[];
}

export interface History {
  operations: Operation[];
  watches: WatchRecord[];
}

/** Every event the cluster committed at one revision, in order (the reference the watch and durability checks compare against). */
export interface RevisionEvents {
  revision: number;
  events: WatchEvent[];
}

/** A checker's verdict: ok, or the problems found, each a sentence a human can act on. */
export interface CheckResult {
  ok: boolean;
  problems: string[];
}
