// The errors of runtime membership changes, with etcd's texts and gRPC codes
// (api/v3rpc/rpctypes/error.go): clients match on both.

import { Code, EtcdError } from './errors.js';

const e = (code: number, msg: string) => () => new EtcdError(code, msg);

export const ErrMemberExist = e(Code.FAILED_PRECONDITION, 'etcdserver: member ID already exist');
export const ErrPeerURLExist = e(Code.FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists');
export const ErrMemberNotFound = e(Code.NOT_FOUND, 'etcdserver: member not found');
export const ErrMemberNotLearner = e(Code.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member');
export const ErrLearnerNotReady = e(
  Code.FAILED_PRECONDITION,
  'etcdserver: can only promote a learner member which is in sync with leader',
);
export const ErrTooManyLearners = e(Code.FAILED_PRECONDITION, 'etcdserver: too many learner members in cluster');
export const ErrNotEnoughStartedMembers = e(
  Code.FAILED_PRECONDITION,
  'etcdserver: re-configuration failed due to not enough started members',
);
export const ErrUnhealthy = e(Code.UNAVAILABLE, 'etcdserver: unhealthy cluster');
// etcd 3.4 answers it Unavailable (3.5+ FailedPrecondition); etcdctl 3.4 then retries reads.
export const ErrNotSupportedForLearner = e(Code.UNAVAILABLE, 'etcdserver: rpc not supported for learner');
export const ErrMemberBadURLs = e(Code.INVALID_ARGUMENT, 'etcdserver: given member URLs are invalid');
export const ErrNotLeader = e(Code.FAILED_PRECONDITION, 'etcdserver: not leader');
