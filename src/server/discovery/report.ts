// What etcdmain prints when bootstrapping through discovery fails, line for line
// (recorded from etcd 3.4.23 with --logger zap), and its exit code: 1 for every
// case.

import type { Logger } from 'pino';
import { DiscoveryJoinError, DiscoveryProtocolError } from './errors.js';

export interface FailureContext {
  name: string;
  discovery: string;
  dataDir: string;
}

/** Logs etcd's lines for a failed start through discovery; returns the exit code. */
export function reportDiscoveryFailure(err: Error, ctx: FailureContext, logger: Logger): 1 {
  // A full cluster is not "failed to start" for etcd: it may fall back to a proxy.
  const full = err instanceof DiscoveryJoinError && err.cause === DiscoveryProtocolError.fullCluster;
  if (!full) logger.warn({ error: err.message }, 'failed to start etcd');
  if (!(err instanceof DiscoveryJoinError)) {
    logger.fatal({ error: err.message }, 'discovery failed');
    return 1;
  }
  const token = ctx.discovery;
  if (err.cause === DiscoveryProtocolError.duplicateId) {
    logger.warn({ name: ctx.name, 'discovery-token': token, error: err.cause.message }, 'member has been registered with discovery service');
    logger.warn({ 'data-dir': ctx.dataDir }, 'but could not find valid cluster configuration');
    logger.warn('check data dir if previous bootstrap succeeded');
    logger.warn('or use a new discovery token if previous bootstrap failed');
  } else if (err.cause === DiscoveryProtocolError.duplicateName) {
    logger.warn({ 'discovery-token': token, error: err.cause.message }, 'member with duplicated name has already been registered');
    logger.warn('cURL the discovery token URL for details');
    logger.warn('do not reuse discovery token; generate a new one to bootstrap a cluster');
  } else {
    logger.warn({ 'discovery-token': token, error: err.message }, 'failed to bootstrap; discovery token was already used');
    logger.warn('do not reuse discovery token; generate a new one to bootstrap a cluster');
  }
  return 1;
}
