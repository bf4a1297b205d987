// What the server's lease parts (coordinator, peer service, expiry loop) need
// from the server: leadership, proposals, the applied index and the peer port.
// compose.ts builds one from the server, the Raft driver and the transport.

import type { Logger } from 'pino';
import type { InternalRequestBody } from '../proposal.js';

export interface LeaseHost {
  readonly logger: Logger;
  readonly requestTimeoutMs: number;
  isLeader(): boolean;
  leader(): bigint;
  propose(body: InternalRequestBody): Promise<unknown>;
  /** Resolves once this member has applied everything committed when called. */
  waitAppliedCommitted(): Promise<void>;
  nextRequestId(): bigint;
  /** A unary call to a member's peer port. */
  callPeer<Req, Res>(id: bigint, path: string, ser: (r: Req) => Buffer, de: (b: Buffer) => Res, req: Req, timeoutMs: number): Promise<Res>;
  /** Waits (bounded) until a leader is known or the leader changes. */
  leaderChange(timeoutMs: number): Promise<void>;
}
