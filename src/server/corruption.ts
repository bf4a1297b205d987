// Corruption checks (etcd 3.4 etcdserver/corrupt.go), over the peer port: each
// member serves HashKV to its peers (etcdts.peer.Corruption/HashKV; etcd asks the
// peers' client URLs, which a member only learns from the log).
// - Initial (--experimental-initial-corrupt-check): before serving clients, hash
//   the local keyspace at its current revision and ask every peer for its hash at
//   that revision; a peer at the same compact revision with another hash means
//   this member's data differs: start-up fails ("<id> found data inconsistency
//   with peers"). Peers that cannot answer are only warned about.
// - Periodic (--experimental-corrupt-check-time): the leader does the same every
//   interval; a follower whose hash differs at the same compact revision, whose
//   revision or compact revision is ahead of the leader's, gets a CORRUPT alarm
//   through Raft (and then writes fail with "etcdserver: corrupt cluster").

import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { HashKVResult } from '../mvcc/index.js';
import { messageCodec } from '../pb/index.js';
import type * as pb from '../pb/types.js';
import { AlarmAction, AlarmType } from '../pb/types.js';
import { Code } from './errors.js';

export const HASH_KV_PATH = '/etcdts.peer.Corruption/HashKV';
const hashReq = () => messageCodec<pb.HashKVRequest>('etcdserverpb.HashKVRequest');
const hashRes = () => messageCodec<pb.HashKVResponse>('etcdserverpb.HashKVResponse');

type Admit = (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>, what: string) => bigint | undefined;

/** The peer-port service answering HashKV from this member's store. */
export function corruptionPeerService(
  hashKV: (rev: number) => Promise<HashKVResult>,
  header: (revision: number) => pb.ResponseHeader,
  admit: Admit,
): [grpc.ServiceDefinition, grpc.UntypedServiceImplementation] {
  const rq = hashReq();
  const rs = hashRes();
  const def: grpc.ServiceDefinition = {
    HashKV: {
      path: HASH_KV_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: (r: pb.HashKVRequest) => rq.encode(r),
      requestDeserialize: (b: Buffer) => rq.decode(b),
      responseSerialize: (r: pb.HashKVResponse) => rs.encode(r),
      responseDeserialize: (b: Buffer) => rs.decode(b),
    },
  };
  const impl: grpc.UntypedServiceImplementation = {
    HashKV: (call: grpc.ServerUnaryCall<pb.HashKVRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      if (admit(call as grpc.ServerUnaryCall<unknown, unknown>, cb, 'hash kv') === undefined) return;
      hashKV(Number(call.request.revision)).then(
        (r) => cb(null, { header: header(r.revision), hash: r.hash, compactRevision: BigInt(r.compactRevision) }),
        (err: Error) => cb({ code: Code.UNAVAILABLE, details: err.message } as grpc.ServiceError, null),
      );
    },
  };
  return [def, impl];
}

export interface CorruptionHost {
  memberId: bigint;
  logger: Logger;
  /** Every other voting or learner member. */
  peers(): bigint[];
  hashKV(rev: number): Promise<HashKVResult>;
  callPeer<Req, Res>(id: bigint, path: string, ser: (r: Req) => Buffer, de: (b: Buffer) => Res, req: Req, timeoutMs: number): Promise<Res>;
  isLeader(): boolean;
  propose(body: { alarm: pb.AlarmRequest }): Promise<unknown>;
}

interface PeerHash {
  id: bigint;
  resp?: pb.HashKVResponse;
  err?: Error;
}

const hex = (id: bigint): string => id.toString(16);

export class CorruptionChecker {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly h: CorruptionHost, private readonly timeoutMs = 5_000) {}

  private async peerHashes(rev: number): Promise<PeerHash[]> {
    const rq = hashReq();
    const rs = hashRes();
    return Promise.all(
      this.h.peers().map(async (id) => {
        try {
          const resp = await this.h.callPeer(id, HASH_KV_PATH, (r: pb.HashKVRequest) => rq.encode(r), (b) => rs.decode(b), { revision: BigInt(rev) }, this.timeoutMs);
          return { id, resp };
        } catch (err) {
          return { id, err: err as Error };
        }
      }),
    );
  }

  /** etcd's CheckInitialHashKV: throws when a peer at the same compact revision holds another hash. */
  async initialCheck(): Promise<void> {
    const log = this.h.logger;
    const local = this.h.hashKV.bind(this.h);
    const mine = await local(0);
    const rev = mine.hashRevision ?? mine.revision;
    log.info({ 'local-member-id': hex(this.h.memberId) }, 'starting initial corruption check');
    let mismatch = 0;
    for (const p of await this.peerHashes(rev)) {
      if (p.resp) {
        const peerId = p.resp.header?.memberId ?? p.id;
        const fields = {
          'local-member-id': hex(this.h.memberId), 'local-member-revision': rev, 'local-member-compact-revision': mine.compactRevision,
          'local-member-hash': mine.hash, 'remote-peer-id': hex(peerId), 'remote-peer-hash': p.resp.hash,
          'remote-peer-compact-revision': Number(p.resp.compactRevision),
        };
        if (p.resp.hash !== mine.hash) {
          if (Number(p.resp.compactRevision) === mine.compactRevision) {
            log.warn(fields, 'found different hash values from remote peer');
            mismatch++;
          } else {
            log.warn(fields, 'found different compact revision values');
          }
        }
      } else {
        log.warn({ 'local-member-id': hex(this.h.memberId), 'remote-peer-id': hex(p.id), error: p.err?.message }, 'cannot fetch hash from remote peer');
      }
    }
    if (mismatch > 0) throw new Error(`${hex(this.h.memberId)} found data inconsistency with peers`);
    log.info({ 'local-member-id': hex(this.h.memberId) }, 'initial corruption checking passed; no corruption');
  }

  /** etcd's checkHashKV, on the leader: raises CORRUPT for every member found inconsistent. */
  async periodicCheck(): Promise<bigint[]> {
    if (!this.h.isLeader()) return [];
    const a = await this.h.hashKV(0);
    const rev = a.hashRevision ?? a.revision;
    const peers = await this.peerHashes(rev);
    const b = await this.h.hashKV(0);
    const rev2 = b.hashRevision ?? b.revision;
    const bad = new Set<bigint>();
    if (b.hash !== a.hash && rev2 === rev && b.compactRevision === a.compactRevision) bad.add(this.h.memberId);
    for (const p of peers) {
      if (!p.resp) continue;
      const id = p.resp.header?.memberId ?? p.id;
      if (Number(p.resp.header?.revision ?? 0) > rev2) bad.add(id);
      if (Number(p.resp.compactRevision) > b.compactRevision) bad.add(id);
      if (Number(p.resp.compactRevision) === a.compactRevision && p.resp.hash !== a.hash) bad.add(id);
    }
    for (const id of bad) {
      this.h.logger.error({ 'member-id': hex(id), revision: rev, 'compact-revision': a.compactRevision }, 'found data inconsistency; raising CORRUPT alarm');
      await this.h.propose({ alarm: { action: AlarmAction.ACTIVATE, memberID: id, alarm: AlarmType.CORRUPT } }).catch((err: Error) =>
        this.h.logger.warn({ error: err.message }, 'failed to raise the CORRUPT alarm'),
      );
    }
    return [...bad];
  }

  /** Every intervalMs (when > 0), the leader checks its peers. */
  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.h.logger.info({ 'local-member-id': hex(this.h.memberId), interval: `${intervalMs}ms` }, 'enabled corruption checking');
    const tick = (): void => {
      this.timer = setTimeout(() => {
        if (this.running) return tick();
        this.running = true;
        this.periodicCheck()
          .catch((err: Error) => this.h.logger.warn({ error: err.message }, 'corruption check failed'))
          .finally(() => {
            this.running = false;
            if (this.timer !== undefined) tick();
          });
      }, intervalMs);
      this.timer.unref?.();
    };
    tick();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
