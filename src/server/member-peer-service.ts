// The membership service on the peer port (etcd serves /members and
// /members/promote on its peer HTTP port):
// - Members: the cluster id and member list, unauthenticated, for a member that
//   joins with --initial-cluster-state=existing and knows no ids yet;
// - Promote: a follower forwards MemberPromote to the leader, the one member
//   that knows whether the learner is in sync.
// Both carry JSON (ids as hex strings).

import * as grpc from '@grpc/grpc-js';
import { ErrNoLeader, EtcdError } from './errors.js';
import type { Member } from './membership.js';
import { peerDialer, type PeerDialer } from './tls/peer-dialer.js';

export const MEMBERS_PATH = '/etcdts.peer.Membership/Members';
export const PROMOTE_PATH = '/etcdts.peer.Membership/Promote';

interface WireMember {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export interface ClusterInfo {
  clusterId: bigint;
  members: Member[];
}

const json = {
  encode: (v: unknown): Buffer => Buffer.from(JSON.stringify(v)),
  decode: (b: Buffer): unknown => JSON.parse(b.toString('utf8')),
};

const toWire = (m: Member): WireMember => ({ ...m, id: m.id.toString(16) });
const fromWire = (m: WireMember): Member => ({ ...m, id: BigInt('0x' + m.id) });

export function encodeMembers(ms: Member[]): WireMember[] {
  return ms.map(toWire);
}

export function decodeMembers(ms: WireMember[]): Member[] {
  return ms.map(fromWire);
}

function def(path: string): grpc.MethodDefinition<unknown, unknown> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: json.encode,
    requestDeserialize: json.decode,
    responseSerialize: json.encode,
    responseDeserialize: json.decode,
  };
}

export function membershipPeerServiceDefinition(): grpc.ServiceDefinition {
  return { Members: def(MEMBERS_PATH), Promote: def(PROMOTE_PATH) };
}

type Admit = (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>, what: string) => bigint | undefined;

export function membershipPeerService(
  info: () => ClusterInfo,
  promoteAsLeader: (id: bigint) => Promise<Member[]>,
  admit: Admit,
): [grpc.ServiceDefinition, grpc.UntypedServiceImplementation] {
  const impl: grpc.UntypedServiceImplementation = {
    Members: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const { clusterId, members } = info();
      cb(null, { clusterId: clusterId.toString(16), members: encodeMembers(members) });
    },
    Promote: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      if (admit(call, cb, 'member promote') === undefined) return;
      const id = BigInt('0x' + (call.request as { id: string }).id);
      promoteAsLeader(id).then(
        (ms) => cb(null, { members: encodeMembers(ms) }),
        (err: Error) =>
          cb({ code: err instanceof EtcdError ? err.code : grpc.status.UNKNOWN, details: err.message } as grpc.ServiceError, null),
      );
    },
  };
  return [membershipPeerServiceDefinition(), impl];
}

/** A peer's error answer as the EtcdError it was on the leader. */
export function fromPeerError(err: grpc.ServiceError): EtcdError {
  return new EtcdError(err.code, err.details || err.message);
}

/**
 * Asks the members at `urls` (peer URLs, in turn) for the cluster id and member
 * list; the first that answers wins. Throws when none does within timeoutMs each.
 */
export async function fetchClusterInfo(urls: string[], timeoutMs: number, dialer: PeerDialer = peerDialer()): Promise<ClusterInfo> {
  const errors: string[] = [];
  for (const raw of urls) {
    const client = new grpc.Client(dialer.target(raw), dialer.grpcCredentials(raw));
    try {
      const res = await new Promise<{ clusterId: string; members: WireMember[] }>((resolve, reject) =>
        client.makeUnaryRequest(
          MEMBERS_PATH,
          json.encode,
          json.decode as (b: Buffer) => { clusterId: string; members: WireMember[] },
          {},
          new grpc.Metadata(),
          { deadline: Date.now() + timeoutMs },
          (err, r) => (err ? reject(err) : resolve(r!)),
        ),
      );
      return { clusterId: BigInt('0x' + res.clusterId), members: decodeMembers(res.members) };
    } catch (err) {
      errors.push(`${raw}: ${(err as Error).message}`);
    } finally {
      client.close();
    }
  }
  throw new Error(`could not retrieve cluster information from the given URLs (${errors.join('; ')})`);
}

export function promoteRequest(id: bigint): { id: string } {
  return { id: id.toString(16) };
}

export const jsonCodec = json;

/** What forwarding a promote needs: the leader, and a unary call on the peer port. */
export interface PromoteForwarding {
  memberId: bigint;
  leader(): bigint;
  unary(to: bigint, path: string, ser: (r: unknown) => Buffer, de: (b: Buffer) => unknown, req: unknown, timeoutMs: number): Promise<unknown>;
  timeoutMs: number;
}

/** MemberPromote on a follower: the leader decides (it alone knows the learner's progress). */
export async function forwardPromote(f: PromoteForwarding, id: bigint): Promise<Member[]> {
  const leader = f.leader();
  if (leader === 0n || leader === f.memberId) throw ErrNoLeader();
  try {
    const res = await f.unary(leader, PROMOTE_PATH, json.encode, json.decode, promoteRequest(id), f.timeoutMs);
    return decodeMembers((res as { members: WireMember[] }).members);
  } catch (err) {
    throw fromPeerError(err as grpc.ServiceError);
  }
}
