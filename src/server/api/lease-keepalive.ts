// The LeaseKeepAlive stream: a client's keep-alives in, one answer each, in
// request order.
//
// Every renewal runs as a promise (a follower forwards it to the leader; the
// leader first confirms its leadership with a quorum), chained so that answers
// still go out in request order. Answers ready in the same turn (a client sends
// its due keep-alives together) go out in one write: one DATA frame, not one each.

import { type EtcdError, toEtcdError } from '../errors.js';
import type * as pb from '../../pb/types.js';
import type { StreamCall, StreamHandler } from '../grpc/types.js';
import type { HeaderSource, LeaseApi } from './ports.js';
import { apiServices } from './services.js';

/** Renewals of one LeaseKeepAlive stream running at once (see below). */
const MAX_RENEWALS_IN_FLIGHT = 64;

type KeepAliveCall = StreamCall<pb.LeaseKeepAliveRequest, pb.Encodable<pb.LeaseKeepAliveResponse>>;

export function keepAliveHandler(leases: LeaseApi, info: HeaderSource): StreamHandler {
  const encode = apiServices().Lease.LeaseKeepAlive!.encodeResponse as (r: pb.Encodable<pb.LeaseKeepAliveResponse>) => Buffer;
  return (call: KeepAliveCall) => {
    // Renewals that took the promise way and are not answered yet, in request order.
    let chain: Promise<void> = Promise.resolve();
    let inFlight = 0;
    let ended = false;
    // Answers encoded, waiting for the end of this turn to go out together.
    let outbox: Buffer[] = [];
    const flush = (): void => {
      if (outbox.length === 0 || ended) return;
      const framed = outbox.length === 1 ? outbox[0]! : Buffer.concat(outbox);
      outbox = [];
      if (!call.writeFramed(framed)) {
        void waitDrain();
        pauseOrResume();
      }
    };
    const answer = (id: bigint, ttl: number): void => {
      // Flushed after this turn's microtasks: the answers of renewals that end together
      // come one microtask apart along the chain below.
      if (outbox.length === 0) setImmediate(flush);
      outbox.push(encode({ header: info.header(), ID: id, TTL: BigInt(ttl) }));
    };
    const end = (err?: EtcdError): void => {
      if (ended) return;
      flush();
      ended = true;
      if (err) call.fail({ code: err.code, details: err.message });
      else call.end();
    };
    // A client may send a burst (clientv3 renews every due lease in one tick): at
    // most this many requests are being renewed or answered at once per stream,
    // then reading pauses and HTTP/2 flow control holds the rest at the client.
    // Unbounded, a burst of thousands on a follower becomes thousands of
    // concurrent renewals at the leader, which starve both members' Raft heartbeats.
    // (etcd answers one request of a stream at a time.) Answers respect the
    // stream's backpressure too: once a write reports a full buffer (a client
    // that does not read), nothing more is written until 'drain', and no more
    // requests are read, so what a stream holds stays bounded.
    let paused = false;
    let drained: Promise<void> | undefined;
    const pauseOrResume = (): void => {
      const stop = inFlight >= MAX_RENEWALS_IN_FLIGHT || drained !== undefined;
      if (stop && !paused) {
        paused = true;
        call.pause();
      } else if (paused && !drained && inFlight <= MAX_RENEWALS_IN_FLIGHT / 2) {
        paused = false;
        call.resume();
      }
    };
    const answered = (): void => {
      inFlight--;
      pauseOrResume();
    };
    const waitDrain = (): Promise<void> =>
      (drained ??= new Promise<void>((resolve) => {
        const done = (): void => {
          call.off('drain', done);
          call.off('close', done);
          drained = undefined;
          resolve();
          pauseOrResume();
        };
        call.on('drain', done);
        call.on('close', done);
      }));
    call.on('data', (req: pb.LeaseKeepAliveRequest) => {
      if (ended) return;
      const renewed = leases.renew(req.ID);
      renewed.catch(() => {}); // seen (and answered) in request order below
      inFlight++;
      pauseOrResume();
      chain = chain.then(async () => {
        try {
          if (ended) return;
          const r = await renewed;
          if (drained) await drained;
          if (ended) return;
          answer(req.ID, r.ttl);
        } catch (err) {
          end(toEtcdError(err));
        } finally {
          answered();
        }
      });
    });
    call.on('end', () => void chain.then(() => end()));
    call.on('cancelled', () => (ended = true));
  };
}
