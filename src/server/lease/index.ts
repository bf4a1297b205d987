// The server's side of leases, around the lessor (src/lease), one part a file:
//
// - coordinator.ts   the request side: grant/revoke proposals; renew and
//                    time-to-live answered by the leader, forwarded from a follower
// - peer-protocol.ts the peer-port methods those forwards travel on
// - peer-service.ts  the leader's side of them
// - expiry-loop.ts   the leader's loop: revokes of expired leases, checkpoints
// - bind.ts          lessor ↔ store wiring and the lessor's recovery
// - host.ts          what they need from the server
//
// This file only re-exports.

export { bindLessor } from './bind.js';
export { ErrLeaseTtlTooLarge, LeaseCoordinator, type RenewResult, type TimeToLiveResult } from './coordinator.js';
export { LeaseExpiryLoop } from './expiry-loop.js';
export type { LeaseHost } from './host.js';
export { RENEW_PATH, TIME_TO_LIVE_PATH } from './peer-protocol.js';
export { type AdmitPeerCall, leasePeerService } from './peer-service.js';
