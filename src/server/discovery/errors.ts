// The errors of etcd 3.4's v2 discovery (etcdserver/api/v2discovery) and of the
// v2 client it talks through (go.etcd.io/etcd/client), with etcd's texts: the
// member prints them when it gives up, and operators search for them.

/** A failure of the discovery protocol itself (etcd's v2discovery Err* values). */
export class DiscoveryProtocolError extends Error {
  private constructor(message: string) {
    super(message);
    this.name = 'DiscoveryProtocolError';
  }
  static readonly invalidUrl = new DiscoveryProtocolError('discovery: invalid URL');
  static readonly badSizeKey = new DiscoveryProtocolError('discovery: size key is bad');
  static readonly duplicateId = new DiscoveryProtocolError('discovery: found duplicate id');
  static readonly duplicateName = new DiscoveryProtocolError('discovery: found duplicate name');
  static readonly fullCluster = new DiscoveryProtocolError('discovery: cluster is full');
  static readonly badDiscoveryEndpoint = new DiscoveryProtocolError('discovery: bad discovery endpoint');
}

/**
 * etcd's DiscoveryError: a failed join, as the server's bootstrap reports it
 * ("failed to join discovery cluster (discovery: cluster is full)").
 */
export class DiscoveryJoinError extends Error {
  constructor(override readonly cause: Error) {
    super(`failed to join discovery cluster (${cause.message})`);
    this.name = 'DiscoveryJoinError';
  }
}

/**
 * The v2 client's "cluster unavailable": the discovery URL could not be reached
 * or answered 5xx. The only failure discovery retries.
 */
export class DiscoveryUnavailableError extends Error {
  constructor(readonly details: string[]) {
    super('client: etcd cluster is unavailable or misconfigured' + details.map((d, i) => `; error #${i}: ${d}\n`).join(''));
    this.name = 'DiscoveryUnavailableError';
  }
  /** etcd logs this beside the message as err-detail. */
  get detail(): string {
    return this.details.map((d, i) => `error #${i}: ${d}\n`).join('');
  }
}

/** A v2 keys API error answer ({"errorCode":100,"message":"Key not found",...}), printed as etcd's client prints it. */
export class V2KeysError extends Error {
  constructor(
    readonly errorCode: number,
    readonly errorMessage: string,
    readonly errorCause: string,
    readonly index: number,
  ) {
    super(`${errorCode}: ${errorMessage} (${errorCause}) [${index}]`);
    this.name = 'V2KeysError';
  }
}

export const V2_KEY_NOT_FOUND = 100;
export const V2_NODE_EXIST = 105;

/** The v2 client's answer-shape errors. */
export class V2ResponseError extends Error {
  private constructor(message: string) {
    super(message);
    this.name = 'V2ResponseError';
  }
  static readonly invalidJson = new V2ResponseError('client: response is invalid json. The endpoint is probably not valid etcd cluster endpoint');
  static readonly emptyBody = new V2ResponseError('client: response body is empty');
}

/** A request that took longer than the client's 5 s (Go's context deadline). */
export class DeadlineExceededError extends Error {
  constructor() {
    super('context deadline exceeded');
    this.name = 'DeadlineExceededError';
  }
}
