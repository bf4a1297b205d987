// What the per-peer pieces (message stream, snapshot sender) share with the
// transport that owns them.

import type { TransportLimits, TransportLogger } from './types.js';

export interface PeerContext {
  readonly localId: bigint;
  readonly clusterId: bigint;
  readonly limits: TransportLimits;
  readonly logger: TransportLogger;
  /** Deferred: the transport calls onUnreachable outside of send(). */
  reportUnreachable(id: bigint): void;
  /** Deferred, like reportUnreachable. */
  reportSnapshot(id: bigint, ok: boolean): void;
  /** A peer refused us as removed from the cluster. */
  reportRemoved?(): void;
}
