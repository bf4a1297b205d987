// Lock service (etcd's v3lock): thin adapter over recipes/mutex.ts. Lock waits
// while the lock is held by an older key; the wait ends with the call (client
// cancel, deadline, connection gone), and the waiting key is deleted then.
// lockHandlers is the one implementation per RPC, for the gRPC service here and
// the /v3 JSON gateway.

import type { Logger } from 'pino';
import type { AuthInfo } from '../../auth/index.js';
import type * as pb from '../../pb/types.js';
import type { ServiceImplementation } from '../grpc/types.js';
import { OPEN_GATE } from './caller.js';
import { whileCallLives } from './call-signal.js';
import type { AuthGate } from './ports.js';
import { lock, unlock, type RecipePorts } from './recipes/index.js';
import { identify, recipeError, recipeUnary } from './recipe-errors.js';

export interface LockHandlers {
  /** `signal`: the call's lifetime; aborting it ends the wait. */
  Lock(req: pb.LockRequest, who: AuthInfo | undefined, signal: AbortSignal): Promise<pb.LockResponse>;
  Unlock(req: pb.UnlockRequest, who?: AuthInfo): Promise<pb.UnlockResponse>;
}

export function lockHandlers(ports: RecipePorts): LockHandlers {
  return {
    Lock: async (req, who, signal) => {
      try {
        const held = await lock({ ...ports, who, signal }, req.name, req.lease);
        return { header: held.header, key: held.key };
      } catch (err) {
        throw recipeError(err, signal);
      }
    },
    Unlock: async (req, who) => {
      try {
        return { header: await unlock({ kv: ports.kv, who }, req.key) };
      } catch (err) {
        throw recipeError(err);
      }
    },
  };
}

export function lockService(ports: RecipePorts, logger: Logger, gate: AuthGate = OPEN_GATE): ServiceImplementation {
  const h = lockHandlers(ports);
  return {
    Lock: recipeUnary<pb.LockRequest, pb.LockResponse>(logger, async (req, call) =>
      whileCallLives(call, async (signal) => h.Lock(req, await identify(gate, call), signal))),
    Unlock: recipeUnary<pb.UnlockRequest, pb.UnlockResponse>(logger, async (req, call) => h.Unlock(req, await identify(gate, call))),
  };
}
