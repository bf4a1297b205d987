// Who may talk to us on the peer port. Every inbound call or stream, gRPC
// (receiver.ts) and the Raft message stream (stream-inbound.ts) alike, names its
// sender, its cluster and the member it is addressed to; this decides, and logs,
// whether it may proceed. The caller turns a refusal into its protocol's answer
// (a gRPC status, an HTTP status).

import { clusterMismatch, hex, removedDetails } from './service.js';
import type { TransportLogger } from './types.js';

export interface AdmitContext {
  localId: bigint;
  clusterId: bigint;
  logger: TransportLogger;
  isRemoved?(id: bigint): boolean;
}

/** The ids a caller presented (undefined: absent or malformed). */
export interface CallerIds {
  from: bigint | undefined;
  cluster: bigint | undefined;
  to: bigint | undefined;
}

/**
 * Why a caller was refused: `invalid` (no sender or cluster id), `precondition`
 * (another cluster, or addressed to another member), `removed` (the sender was
 * removed from the cluster; etcd answers 410 Gone).
 */
export type Refusal = 'invalid' | 'precondition' | 'removed';

export type Admission = { readonly from: bigint } | { readonly refusal: Refusal; readonly details: string };

/** Decides, and logs a refusal; `remote` (the address) and `what` are for the log. */
export function checkAdmission(ctx: AdmitContext, ids: CallerIds, remote: string, what: string): Admission {
  const { from, cluster, to } = ids;
  if (from === undefined || cluster === undefined) {
    ctx.logger.warn({ remote, what }, 'refused peer call without sender or cluster id');
    return { refusal: 'invalid', details: 'missing sender member id or cluster id' };
  }
  if (cluster !== ctx.clusterId) {
    const details = clusterMismatch(ctx.clusterId, cluster);
    ctx.logger.error({ remote, peer: hex(from), what }, details);
    return { refusal: 'precondition', details };
  }
  if (to !== undefined && to !== ctx.localId) {
    const details = `member ID mismatch: local ${hex(ctx.localId)}, addressed to ${hex(to)}`;
    ctx.logger.error({ remote, peer: hex(from), what }, details);
    return { refusal: 'precondition', details };
  }
  if (ctx.isRemoved?.(from)) {
    ctx.logger.warn({ remote, peer: hex(from), what }, `refused ${what} from removed member`);
    return { refusal: 'removed', details: removedDetails(from) };
  }
  return { from };
}
