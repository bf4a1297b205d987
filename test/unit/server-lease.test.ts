// The server's lease plumbing around the lessor: the LeaseKeepAlive stream
// (src/server/api/lease.ts) over our loopback gRPC server with a fake LeaseApi
// port behind it, and the LeaseCoordinator and its peer service (src/server/lease/) with a fake host.

import * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Lessor, toLeaseId } from '../../src/lease/index.js';
import { apiServices } from '../../src/server/api/services.js';
import type * as pb from '../../src/pb/types.js';
import { messageCodec } from '../../src/pb/index.js';
import { leaseService } from '../../src/server/api/lease.js';
import { ErrNoLeader } from '../../src/server/errors.js';
import type { HeaderSource, LeaseApi } from '../../src/server/api/ports.js';
import { LeaseCoordinator, LeaseExpiryLoop, type LeaseHost, leasePeerService, type RenewResult } from '../../src/server/lease/index.js';
import type { PeerStream } from '../../src/server/lease/host.js';
import {
  decodeInt64s, encodeInt64s, peerLeaseServiceDefinition, RENEW_PATH, RENEW_STREAM_PATH,
} from '../../src/server/lease/peer-protocol.js';
import type { InternalRequestBody } from '../../src/server/proposal.js';
import { serveGrpc } from '../e2e/helpers/grpc-server.js';
import { FakeClock, fakeLeaseHost, newLessor } from './lease-helpers.js';

const logger = pino({ level: 'silent' });
const keepAliveResponse = messageCodec<pb.LeaseKeepAliveResponse>('etcdserverpb.LeaseKeepAliveResponse');
const info: HeaderSource = { header: () => ({ clusterId: 1n, memberId: 2n, revision: 3n, raftTerm: 4n }) };

/** A LeaseApi whose keep-alives go to `renew`; the stream uses nothing else. */
function fakeLeases(renew: LeaseApi['renew']): LeaseApi {
  const unused = (): never => {
    throw new Error('not used by LeaseKeepAlive');
  };
  return { renew, grant: unused, revoke: unused, timeToLive: unused, leases: unused };
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Pending { id: bigint; resolve(r: RenewResult): void; reject(e: Error): void }

/** A Lease service whose renewals wait until the test settles them. */
async function keepAliveServer(): Promise<{ port: number; pending: Pending[]; maxInFlight: () => number; close(): void }> {
  const pending: Pending[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const leases = fakeLeases((id) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    return new Promise<RenewResult>((resolve, reject) => pending.push({ id, resolve, reject })).finally(() => inFlight--);
  });
  const served = await serveGrpc([[apiServices().Lease, leaseService(leases, info, logger)]]);
  return { port: served.port, pending, maxInFlight: () => maxInFlight, close: () => void served.close() };
}

type KeepAliveCall = grpc.ClientDuplexStream<pb.Encodable<pb.LeaseKeepAliveRequest>, pb.LeaseKeepAliveResponse>;

function keepAliveCall(port: number): { client: grpc.Client; call: KeepAliveCall } {
  const Ctor = grpc.makeGenericClientConstructor(apiServices().Lease as grpc.ServiceDefinition, 'Lease');
  const client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & { LeaseKeepAlive(): KeepAliveCall };
  const call = client.LeaseKeepAlive();
  call.on('error', () => {}); // CANCELLED when a case ends it; cases that expect an error listen too
  return { client, call };
}

async function until(what: string, cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('LeaseKeepAlive stream (api/lease.ts)', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('answers in request order when renewals finish out of order', async () => {
    const srv = await keepAliveServer();
    const { client, call } = keepAliveCall(srv.port);
    cleanups.push(() => client.close(), srv.close);
    const got: bigint[] = [];
    call.on('data', (r: pb.LeaseKeepAliveResponse) => got.push(r.ID));
    for (const id of [1n, 2n, 3n]) call.write({ ID: id });
    await until('three renewals', () => srv.pending.length === 3);
    srv.pending[2]!.resolve({ id: toLeaseId(3n), ttl: 30 });
    srv.pending[1]!.resolve({ id: toLeaseId(2n), ttl: 20 });
    await sleep(50);
    expect(got).toEqual([]);
    srv.pending[0]!.resolve({ id: toLeaseId(1n), ttl: 10 });
    await until('three answers', () => got.length === 3);
    expect(got).toEqual([1n, 2n, 3n]);
    call.cancel();
  });

  it('a failed renewal ends the stream with its status (the client is not left waiting)', async () => {
    const srv = await keepAliveServer();
    const { client, call } = keepAliveCall(srv.port);
    cleanups.push(() => client.close(), srv.close);
    const status = new Promise<grpc.ServiceError | string>((res) => {
      const timer = setTimeout(() => res('no status within 3 s'), 3_000);
      call.on('error', (e: grpc.ServiceError) => {
        clearTimeout(timer);
        res(e);
      });
      call.on('data', () => {});
    });
    call.write({ ID: 7n });
    await until('the renewal', () => srv.pending.length === 1);
    srv.pending[0]!.reject(ErrNoLeader());
    expect(await status).toMatchObject({ code: grpc.status.UNAVAILABLE, details: 'etcdserver: no leader' });
  });

  it('a burst is renewed at most 64 at a time; every request is still answered', async () => {
    const srv = await keepAliveServer();
    const { client, call } = keepAliveCall(srv.port);
    cleanups.push(() => client.close(), srv.close);
    let answered = 0;
    call.on('data', () => answered++);
    const N = 1_000;
    for (let i = 1; i <= N; i++) call.write({ ID: BigInt(i) });
    let settled = 0;
    while (answered < N) {
      // Either more renewals arrive, or every one has been released and the last
      // answers are still on their way to the client.
      await until('renewals or answers to arrive', () => srv.pending.length > settled || (settled === N && answered === N), 5_000);
      expect(srv.pending.length - settled).toBeLessThanOrEqual(64);
      while (settled < srv.pending.length) {
        const p = srv.pending[settled++]!;
        p.resolve({ id: toLeaseId(p.id), ttl: 5 });
      }
      await sleep(5);
    }
    expect(answered).toBe(N);
    expect(srv.maxInFlight()).toBeLessThanOrEqual(64);
    expect(srv.pending.map((p) => p.id)).toEqual(Array.from({ length: N }, (_, i) => BigInt(i + 1)));
    call.cancel();
  });
});

describe('LeaseCoordinator and peer service (lease/coordinator.ts, lease/peer-service.ts)', () => {
  function coordinator(over: Partial<LeaseHost> = {}): { coord: LeaseCoordinator; lessor: Lessor; host: LeaseHost } {
    const lessor = new Lessor({ minTtl: 1 });
    const host = fakeLeaseHost({ logger, ...over });
    return { coord: new LeaseCoordinator(host, () => lessor), lessor, host };
  }

  /** Calls the peer service's TimeToLive handler directly, as the transport would. */
  function peerTimeToLive(host: LeaseHost, coord: LeaseCoordinator, id: bigint): Promise<{ err: grpc.ServiceError | null; res: unknown }> {
    const [, impl] = leasePeerService(host, coord, () => 1n);
    return new Promise((res) => {
      (impl.TimeToLive as grpc.handleUnaryCall<pb.LeaseTimeToLiveRequest, unknown>)(
        { request: { ID: id, keys: true } } as grpc.ServerUnaryCall<pb.LeaseTimeToLiveRequest, unknown>,
        (err, v) => res({ err: err as grpc.ServiceError | null, res: v }),
      );
    });
  }

  it('a leader not promoted yet answers a forwarded TimeToLive with "not leader" (the follower retries) instead of throwing', async () => {
    const { coord, lessor, host } = coordinator();
    lessor.grant(toLeaseId(5n), 30);
    const before = await peerTimeToLive(host, coord, 5n);
    expect(before.err).toMatchObject({ details: 'etcdserver: not leader' });
    lessor.promote(0);
    const after = await peerTimeToLive(host, coord, 5n);
    expect(after.err).toBeNull();
    expect(after.res).toMatchObject({ ID: 5n, grantedTTL: 30n });
  });

  it('a leader answers a keep-alive only after a quorum confirmed its leadership, and no lease it cannot vouch for is "not found"', async () => {
    // A leader cut off from the others (lease 7 was granted by the leader they
    // elected meanwhile): the ReadIndex round cannot complete, and it steps down.
    let confirm!: (ok: boolean) => void;
    let leading = true;
    const { coord, lessor } = coordinator({
      requestTimeoutMs: 200,
      confirmLeadership: () => new Promise<void>((res, rej) => (confirm = (ok) => (ok ? res() : rej(new Error('etcdserver: request timed out'))))),
      isLeader: () => leading,
      leader: () => (leading ? 1n : 0n),
    });
    lessor.promote(0); // its lessor never heard of lease 7
    let answered: unknown;
    const renewal = coord.renew(7n).then((r) => (answered = r), (err: Error) => (answered = err.message));
    await sleep(20);
    expect(answered).toBeUndefined(); // and not "not found" from the stale lessor
    leading = false;
    confirm(false);
    await renewal;
    expect(answered).toBe('etcdserver: no leader'); // the client tries another member
  });

  it('a leader whose leadership is confirmed renews from its lessor', async () => {
    let confirmations = 0;
    const { coord, lessor } = coordinator({ confirmLeadership: async () => void confirmations++ });
    lessor.promote(0);
    lessor.grant(toLeaseId(5n), 30);
    expect(await coord.renew(5n)).toEqual({ id: toLeaseId(5n), ttl: 30 });
    expect(await coord.renew(6n)).toEqual({ id: toLeaseId(6n), ttl: 0 });
    expect(confirmations).toBe(2);
  });

  it('TimeToLive on a leader waits for its lessor to be promoted', async () => {
    const { coord, lessor } = coordinator();
    lessor.grant(toLeaseId(5n), 30);
    const answer = coord.timeToLive(5n, false);
    await sleep(60);
    lessor.promote(0);
    const r = await answer;
    expect(r.grantedTtl).toBe(30);
    expect(r.ttl).toBeGreaterThan(28);
  });

  /**
   * A client stream wired to `impl`'s RenewStream handler, as grpc-js would carry
   * it (messages through the codec, both ways); `sent` records what went out.
   */
  function renewStreamTo(impl: grpc.UntypedServiceImplementation, sent: bigint[][]): PeerStream<bigint[], bigint[]> {
    const client = new EventEmitter() as EventEmitter & PeerStream<bigint[], bigint[]>;
    const server = new EventEmitter() as EventEmitter & { write(m: bigint[]): boolean; end(): void; metadata: unknown; getPeer(): string };
    server.write = (m) => (setImmediate(() => client.emit('data', decodeInt64s(encodeInt64s(m)))), true);
    server.end = () => void setImmediate(() => client.emit('end'));
    server.getPeer = () => 'test';
    client.write = (m) => {
      sent.push(m);
      setImmediate(() => server.emit('data', decodeInt64s(encodeInt64s(m))));
      return true;
    };
    client.cancel = () => void setImmediate(() => client.emit('error', Object.assign(new Error('cancelled'), { code: 1 })));
    (impl.RenewStream as (c: unknown) => void)(server);
    return client;
  }

  /** A follower whose peer port reaches `leaderCoord`'s peer service directly, as the transport would. */
  function followerOf(leaderHost: LeaseHost, leaderCoord: LeaseCoordinator, over: Partial<LeaseHost> = {}) {
    const [, impl] = leasePeerService(leaderHost, leaderCoord, () => 1n);
    const paths: string[] = [];
    const batches: bigint[][] = [];
    const { coord } = coordinator({
      isLeader: () => false,
      leader: () => 1n,
      openPeerStream: <Req, Res>(_id: bigint, path: string) => {
        paths.push(path);
        return renewStreamTo(impl, batches) as unknown as PeerStream<Req, Res>;
      },
      callPeer: <Req, Res>(_id: bigint, path: string, ser: (r: Req) => Buffer, de: (b: Buffer) => Res, req: Req) =>
        new Promise<Res>((resolve, reject) => {
          paths.push(path);
          const method = path.slice(path.lastIndexOf('/') + 1);
          const codec = peerLeaseServiceDefinition()[method]!;
          (impl[method] as grpc.handleUnaryCall<unknown, unknown>)({ request: codec.requestDeserialize(ser(req)) } as grpc.ServerUnaryCall<unknown, unknown>, (err, v) =>
            err ? reject(err) : resolve(de(codec.responseSerialize(v))),
          );
        }),
      ...over,
    });
    return { coord, paths, batches };
  }

  it('a follower sends the keep-alives that arrive together as one message on a RenewStream; each gets its own answer', async () => {
    const leader = coordinator();
    leader.lessor.promote(0);
    leader.lessor.grant(toLeaseId(5n), 30);
    leader.lessor.grant(toLeaseId(6n), 40);
    const f = followerOf(leader.host, leader.coord);
    const answers = await Promise.all([f.coord.renew(5n), f.coord.renew(6n), f.coord.renew(7n)]);
    expect(answers).toEqual([{ id: 5n, ttl: 30 }, { id: 6n, ttl: 40 }, { id: 7n, ttl: 0 }]);
    expect(f.batches).toEqual([[1n, 5n, 6n, 7n]]); // sequence number, then the ids
    // The next keep-alive goes on the same stream, with the next sequence number.
    expect(await f.coord.renew(6n)).toEqual({ id: 6n, ttl: 40 });
    expect(f.batches).toEqual([[1n, 5n, 6n, 7n], [2n, 6n]]);
    expect(f.paths).toEqual([RENEW_STREAM_PATH]);
  });

  it('a forwarded keep-alive of an expired lease is answered TTL 0 once its revoke applies (the follower asks again meanwhile)', async () => {
    const clock = new FakeClock();
    const lessor = new Lessor({ minTtl: 1, clock });
    const host = fakeLeaseHost({ logger });
    const leaderCoord = new LeaseCoordinator(host, () => lessor);
    lessor.promote(0);
    lessor.grant(toLeaseId(5n), 10);
    clock.advance(11_000); // expired; the expiry loop's revoke has not applied yet
    const f = followerOf(host, leaderCoord);
    const answer = f.coord.renew(5n);
    await sleep(120);
    expect(f.batches.length).toBeGreaterThanOrEqual(2); // asked again while the revoke is pending
    lessor.revoke(toLeaseId(5n));
    expect(await answer).toEqual({ id: 5n, ttl: 0 });
  });

  it('a follower asks again on a new stream when the stream to the leader breaks', async () => {
    const leader = coordinator();
    leader.lessor.promote(0);
    leader.lessor.grant(toLeaseId(5n), 30);
    const [, impl] = leasePeerService(leader.host, leader.coord, () => 1n);
    const sent: bigint[][] = [];
    let opened = 0;
    const { coord } = coordinator({
      isLeader: () => false,
      leader: () => 1n,
      openPeerStream: <Req, Res>() => {
        if (++opened === 1) {
          // The first stream breaks before it answers anything.
          const broken = new EventEmitter() as EventEmitter & PeerStream<bigint[], bigint[]>;
          broken.write = () => (setImmediate(() => broken.emit('error', Object.assign(new Error('connection reset'), { code: 14 }))), true);
          broken.cancel = () => {};
          return broken as unknown as PeerStream<Req, Res>;
        }
        return renewStreamTo(impl, sent) as unknown as PeerStream<Req, Res>;
      },
    });
    expect(await coord.renew(5n)).toEqual({ id: 5n, ttl: 30 });
    expect(opened).toBe(2);
  });

  it('a follower falls back to one Renew call per keep-alive when the leader does not know RenewStream (an older build)', async () => {
    const leader = coordinator();
    leader.lessor.promote(0);
    leader.lessor.grant(toLeaseId(5n), 30);
    const f = followerOf(leader.host, leader.coord, {
      // A server without the method answers the stream with UNIMPLEMENTED.
      openPeerStream: <Req, Res>() => {
        const old = new EventEmitter() as EventEmitter & PeerStream<bigint[], bigint[]>;
        old.write = () => (setImmediate(() => old.emit('error', Object.assign(new Error('unimplemented'), { code: 12 }))), true);
        old.cancel = () => {};
        return old as unknown as PeerStream<Req, Res>;
      },
    });
    expect(await Promise.all([f.coord.renew(5n), f.coord.renew(5n)])).toEqual([{ id: 5n, ttl: 30 }, { id: 5n, ttl: 30 }]);
    expect(f.paths).toEqual([RENEW_PATH, RENEW_PATH]);
  });

  it('a follower with no leader gives up after the request timeout with "no leader"', async () => {
    const { coord } = coordinator({ isLeader: () => false, leader: () => 0n, requestTimeoutMs: 100 });
    await expect(coord.renew(5n)).rejects.toMatchObject({ message: 'etcdserver: no leader' });
  });
});

describe('LeaseExpiryLoop (lease/expiry-loop.ts)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function loop(isLeader = true) {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { lessor, clock } = newLessor({ checkpointIntervalMs: 60_000 });
    const proposed: InternalRequestBody[] = [];
    const expiry = new LeaseExpiryLoop({ logger, isLeader: () => isLeader, propose: async (b) => void proposed.push(b) }, () => lessor);
    expiry.start();
    return { expiry, lessor, clock, proposed };
  }

  it('on the leader, proposes a revoke for each expired lease and one checkpoint entry for long leases', async () => {
    const { expiry, lessor, clock, proposed } = loop();
    lessor.promote(0);
    lessor.grant(toLeaseId(1n), 1);
    lessor.grant(toLeaseId(2n), 600);
    clock.advance(61_000);
    vi.advanceTimersByTime(500);
    expect(proposed).toEqual([
      { leaseRevoke: { ID: 1n } },
      { leaseCheckpoint: { checkpoints: [{ ID: 2n, remainingTTL: 539n }] } },
    ]);
    expiry.stop();
    clock.advance(10_000);
    vi.advanceTimersByTime(5_000);
    expect(proposed).toHaveLength(2);
  });

  it('proposes nothing on a follower, nor on a leader not promoted yet', () => {
    for (const isLeader of [false, true]) {
      const { expiry, lessor, clock, proposed } = loop(isLeader);
      lessor.grant(toLeaseId(1n), 1);
      if (!isLeader) lessor.promote(0);
      clock.advance(5_000);
      vi.advanceTimersByTime(1_000);
      expect(proposed).toEqual([]);
      expiry.stop();
    }
  });
});

describe('LeaseKeepAlive stream backpressure (api/lease.ts)', () => {
  /** A stream whose write() reports a full buffer until 'drain' is emitted. */
  class FakeCall extends EventEmitter {
    written: bigint[] = [];
    writes = 0;
    full = false;
    paused = false;
    /** The handler writes framed answers, several per write when they are ready together. */
    writeFramed(framed: Buffer): boolean {
      for (let o = 0; o < framed.length; ) {
        const len = framed.readUInt32BE(o + 1);
        this.written.push(keepAliveResponse.decode(framed.subarray(o + 5, o + 5 + len)).ID);
        o += 5 + len;
      }
      this.writes++;
      return !this.full;
    }
    pause(): this {
      this.paused = true;
      return this;
    }
    resume(): this {
      this.paused = false;
      return this;
    }
    end(): void {}
    isPaused(): boolean {
      return this.paused;
    }
  }


  it('answers the keep-alives read together in one write when their renewals end together', async () => {
    const call = new FakeCall();
    const leases = fakeLeases(async (id) => ({ ttl: Number(id) * 10 }));
    const handler = leaseService(leases, info, logger).LeaseKeepAlive as (c: unknown) => void;
    handler(call);
    for (const i of [1n, 2n, 3n]) call.emit('data', { ID: i });
    await sleep(5);
    expect(call.written).toEqual([1n, 2n, 3n]);
    expect(call.writes).toBe(1);
  });

  it('keeps request order when a renewal that must wait comes before ones answered sooner', async () => {
    const call = new FakeCall();
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    // Lease 1 waits (say, a checkpoint to clear first); the others are renewed at once.
    const leases = fakeLeases(async (id) => (id === 1n && (await slow), { ttl: Number(id) }));
    const handler = leaseService(leases, info, logger).LeaseKeepAlive as (c: unknown) => void;
    handler(call);
    for (const i of [1n, 2n, 3n]) call.emit('data', { ID: i });
    await sleep(5);
    expect(call.written).toEqual([]);
    release();
    await sleep(5);
    expect(call.written).toEqual([1n, 2n, 3n]);
    call.emit('data', { ID: 4n });
    await sleep(5);
    expect(call.written).toEqual([1n, 2n, 3n, 4n]);
  });

  it('stops reading and writing while the stream does not drain, and goes on after drain', async () => {
    const call = new FakeCall();
    const handler = leaseService(fakeLeases(async () => ({ ttl: 5 })), info, logger).LeaseKeepAlive as (c: unknown) => void;
    handler(call);
    call.full = true;
    call.emit('data', { ID: 1n });
    await sleep(10);
    expect(call.written).toEqual([1n]);
    expect(call.paused).toBe(true); // no more requests read while the answers cannot go out
    // Requests already in flight (read before the pause took effect) are renewed,
    // but their answers wait for 'drain' instead of piling up in the stream.
    for (let i = 2n; i <= 100n; i++) call.emit('data', { ID: i });
    await sleep(20);
    expect(call.written).toEqual([1n]);
    call.full = false;
    call.emit('drain');
    await sleep(20);
    expect(call.written).toEqual(Array.from({ length: 100 }, (_, i) => BigInt(i + 1)));
    expect(call.paused).toBe(false);
  });
});
