// What the per-peer pieces (message stream, snapshot sender) share with the
// transport that owns them.

import type { PeerDialer } from '../tls/peer-dialer.js';
import type { TransportLimits, TransportLogger } from './types.js';

export interface PeerContext {
  readonly localId: bigint;
  readonly clusterId: bigint;
  readonly limits: TransportLimits;
  readonly logger: TransportLogger;
  /** How peer URLs are dialed (http:// or https:// with the peer TLS material). */
  readonly dialer: PeerDialer;
  /** Deferred: the transport calls onUnreachable outside of send(). */
  reportUnreachable(id: bigint): void;
  /** Deferred, like reportUnreachable. */
  reportSnapshot(id: bigint, ok: boolean): void;
  /** A peer refused us as removed from the cluster. */
  reportRemoved?(): void;
}
