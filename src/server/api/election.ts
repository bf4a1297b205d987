// Election service (etcd's v3election): thin adapter over recipes/election.ts.
// Campaign waits until the candidate leads (the wait ends with the call, which
// then resigns); Observe streams the leader and its changes until the client
// goes. electionHandlers is the one implementation per RPC, for the gRPC
// service here and the /v3 JSON gateway.

import type { Logger } from 'pino';
import type { AuthInfo } from '../../auth/index.js';
import type * as pb from '../../pb/types.js';
import { Code } from '../errors.js';
import type { ServiceImplementation, StreamCall } from '../grpc/types.js';
import { OPEN_GATE } from './caller.js';
import { whileCallLives } from './call-signal.js';
import type { AuthGate, HeaderSource } from './ports.js';
import {
  campaign, ErrMissingLeaderKey, leader, observe, proclaim, resign, type Leadership, type RecipePorts,
} from './recipes/index.js';
import { identify, recipeError, recipeUnary } from './recipe-errors.js';
import { sessionLease } from './recipes/session.js';

export interface ElectionHandlers {
  /** `signal`: the call's lifetime; aborting it ends the wait (and resigns). */
  Campaign(req: pb.CampaignRequest, who: AuthInfo | undefined, signal: AbortSignal): Promise<pb.CampaignResponse>;
  Proclaim(req: pb.ProclaimRequest, who?: AuthInfo): Promise<pb.ProclaimResponse>;
  Leader(req: pb.LeaderRequest, who?: AuthInfo): Promise<pb.LeaderResponse>;
  Resign(req: pb.ResignRequest, who?: AuthInfo): Promise<pb.ResignResponse>;
  /**
   * Sends the leader and each change, in order, until `signal` aborts or a read
   * fails; resolves then (etcd ends the stream with OK). `send` resolves when
   * the next response may follow (the transport's backpressure).
   */
  Observe(req: pb.LeaderRequest, who: AuthInfo | undefined, signal: AbortSignal, send: (res: pb.LeaderResponse) => Promise<void>): Promise<void>;
}

const NEVER = new AbortController().signal;

export function electionHandlers(ports: RecipePorts, info: HeaderSource): ElectionHandlers {
  /** A LeaderKey from a request, bound to its session's lease (0: a fresh one, as etcd's session does). */
  const leadership = async (who: AuthInfo | undefined, key: pb.LeaderKey | undefined): Promise<Leadership> => {
    if (key === undefined) throw ErrMissingLeaderKey();
    const lease = await sessionLease({ ...ports, who, signal: NEVER }, key.lease);
    return { key: key.key, rev: Number(key.rev), lease };
  };
  return {
    Campaign: async (req, who, signal) => {
      try {
        const r = await campaign({ ...ports, who, signal }, req.name, req.lease, req.value);
        return {
          header: r.header,
          leader: { name: req.name, key: Buffer.from(r.leader.key), rev: BigInt(r.leader.rev), lease: r.leader.lease },
        };
      } catch (err) {
        throw recipeError(err, signal);
      }
    },
    Proclaim: async (req, who) => {
      try {
        return { header: await proclaim({ kv: ports.kv, who }, await leadership(who, req.leader), req.value) };
      } catch (err) {
        throw recipeError(err);
      }
    },
    Leader: async (req, who) => {
      try {
        return await leader({ kv: ports.kv, who }, req.name);
      } catch (err) {
        throw recipeError(err);
      }
    },
    Resign: async (req, who) => {
      try {
        return { header: await resign({ kv: ports.kv, who }, await leadership(who, req.leader)) };
      } catch (err) {
        throw recipeError(err);
      }
    },
    Observe: (req, who, signal, send) => observe({ ...ports, who, signal }, info, req.name, send),
  };
}

export function electionService(ports: RecipePorts, info: HeaderSource, logger: Logger, gate: AuthGate = OPEN_GATE): ServiceImplementation {
  const h = electionHandlers(ports, info);
  return {
    Campaign: recipeUnary<pb.CampaignRequest, pb.CampaignResponse>(logger, async (req, call) =>
      whileCallLives(call, async (signal) => h.Campaign(req, await identify(gate, call), signal))),
    Proclaim: recipeUnary<pb.ProclaimRequest, pb.ProclaimResponse>(logger, async (req, call) => h.Proclaim(req, await identify(gate, call))),
    Leader: recipeUnary<pb.LeaderRequest, pb.LeaderResponse>(logger, async (req, call) => h.Leader(req, await identify(gate, call))),
    Resign: recipeUnary<pb.ResignRequest, pb.ResignResponse>(logger, async (req, call) => h.Resign(req, await identify(gate, call))),
    Observe: (call: StreamCall<pb.LeaderRequest, pb.LeaderResponse>) =>
      void serveObserve(h, gate, call).catch((err: unknown) => {
        logger.error({ err }, 'election: observe failed');
        call.fail({ code: Code.UNKNOWN, details: String(err) });
      }),
  };
}

async function serveObserve(h: ElectionHandlers, gate: AuthGate, call: StreamCall<pb.LeaderRequest, pb.LeaderResponse>): Promise<void> {
  await whileCallLives(call, async (signal) => {
    // etcd's Observe meets a bad token in its first read, which just ends the stream.
    const who = await identify(gate, call).then((w) => ({ w }), () => undefined);
    if (who) await h.Observe(call.request, who.w, signal, (res) => written(call, res));
  });
  if (!call.cancelled) call.end();
}

/** Writes one response; resolves once the stream has room for the next (or is gone). */
function written(call: StreamCall<unknown, pb.LeaderResponse>, res: pb.LeaderResponse): Promise<void> {
  if (call.write(res)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('close', done);
      resolve();
    };
    call.once('drain', done);
    call.once('close', done);
  });
}
