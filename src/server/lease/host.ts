// What the server's lease parts (coordinator, peer service, expiry loop) need
// from the server: leadership, proposals, the applied index and the peer port.
// compose.ts builds one from the server, the Raft driver and the transport.

import type { Logger } from 'pino';
import type { RequestCaller } from '../../pb/index.js';
import type { InternalRequestBody } from '../proposal.js';

export interface LeaseHost {
  readonly logger: Logger;
  readonly requestTimeoutMs: number;
  isLeader(): boolean;
  leader(): bigint;
  /** `caller`: whom the apply-time auth check is for (absent: nobody; see SERVER_AS_ROOT). */
  propose(body: InternalRequestBody, caller?: RequestCaller): Promise<unknown>;
  /** Resolves once this member has applied everything committed when called. */
  waitAppliedCommitted(): Promise<void>;
  /** Whether everything committed is applied here now (waitAppliedCommitted would resolve at once). */
  appliedCommitted(): boolean;
  nextRequestId(): bigint;
  /** A unary call to a member's peer port. */
  callPeer<Req, Res>(id: bigint, path: string, ser: (r: Req) => Buffer, de: (b: Buffer) => Res, req: Req, timeoutMs: number): Promise<Res>;
  /** Waits (bounded) until a leader is known or the leader changes. */
  leaderChange(timeoutMs: number): Promise<void>;
}
