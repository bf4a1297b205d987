// What the server's lease parts (coordinator, peer service, expiry loop) need
// from the server: leadership, proposals, the applied index and the peer port.
// compose.ts builds one from the server, the Raft driver and the transport.

import type { Logger } from 'pino';
import type { RequestCaller } from '../../pb/index.js';
import type { InternalRequestBody } from '../proposal.js';

/** A bidi stream to a member's peer port (grpc-js's ClientDuplexStream, as much as the lease parts use). */
export interface PeerStream<Req, Res> {
  write(msg: Req): boolean;
  /** Ends the stream from our side; it then emits 'error' (CANCELLED), which is ignored. */
  cancel(): void;
  on(event: 'data', fn: (msg: Res) => void): this;
  on(event: 'error', fn: (err: Error & { code?: number }) => void): this;
  on(event: 'end', fn: () => void): this;
}

export interface LeaseHost {
  readonly logger: Logger;
  readonly requestTimeoutMs: number;
  isLeader(): boolean;
  leader(): bigint;
  /** `caller`: whom the apply-time auth check is for (absent: nobody; see SERVER_AS_ROOT). */
  propose(body: InternalRequestBody, caller?: RequestCaller): Promise<unknown>;
  /** Resolves once this member has applied everything committed when called. */
  waitAppliedCommitted(): Promise<void>;
  /**
   * Resolves once a quorum has confirmed the leader's commit index after the call
   * and this member applied up to it; rejects when that cannot happen within the
   * read timeout (no quorum). On a leader it proves the leadership was real after
   * the call (etcd's ensureLeadership): by a ReadIndex round (shared with
   * linearizable reads), or at once while the leader lease holds
   * (src/server/leader-lease.ts).
   */
  confirmLeadership(): Promise<void>;
  nextRequestId(): bigint;
  /** A unary call to a member's peer port. */
  callPeer<Req, Res>(id: bigint, path: string, ser: (r: Req) => Buffer, de: (b: Buffer) => Res, req: Req, timeoutMs: number): Promise<Res>;
  /** A bidi stream to a member's peer port; throws when the member is not known. */
  openPeerStream<Req, Res>(id: bigint, path: string, ser: (r: Req) => Buffer, de: (b: Buffer) => Res): PeerStream<Req, Res>;
  /** Waits (bounded) until a leader is known or the leader changes. */
  leaderChange(timeoutMs: number): Promise<void>;
}
