// The gRPC side of the peer port: admit() checks every gRPC call (sender id,
// cluster id, addressee, not a removed member: admission.ts) before anything is
// read; SendSnapshot calls are reassembled, checked (size and CRC-32C) and handed
// over as one MsgSnap. (Ordinary Raft messages arrive on the message stream,
// stream-inbound.ts.)

import * as grpc from '@grpc/grpc-js';
import { decodeMessage, decodeSnapshot } from '../../raft/codec.js';
import { type Message, MessageType } from '../../raft/types.js';
import { crc32c } from '../../util/crc32c.js';
import { type AdmitContext, checkAdmission, type Refusal } from './admission.js';
import { type Ack, hex, idMetadata, MD_CLUSTER_ID, MD_FROM, MD_TO, readId } from './service.js';
import { deliver } from './stream-inbound.js';
import type { TransportLogger } from './types.js';
import type { SnapshotChunk } from './wire.js';

export interface ReceiverContext extends AdmitContext {
  logger: TransportLogger;
  maxSnapshotBytes: number;
  onMessage(m: Message): void;
}

type AnyCall = grpc.ServerReadableStream<unknown, Ack>;
type AdmitCall = Pick<AnyCall, 'metadata' | 'getPeer'>;

/** Ends with an error status carrying our ids, so the sender can say what was wrong. */
function refuse<R>(ctx: AdmitContext, callback: grpc.sendUnaryData<R>, code: grpc.status, details: string): void {
  callback({ code, details, metadata: idMetadata(ctx.localId, ctx.clusterId) }, null);
}

const REFUSAL_CODES: Record<Refusal, grpc.status> = {
  invalid: grpc.status.INVALID_ARGUMENT,
  precondition: grpc.status.FAILED_PRECONDITION,
  removed: grpc.status.FAILED_PRECONDITION,
};

/**
 * The sender's id if the call may proceed (our cluster, addressed to us, not a
 * removed member); otherwise refuses it and returns undefined. Every gRPC call on
 * the peer port goes through here.
 */
export function admit<R>(ctx: AdmitContext, call: AdmitCall, callback: grpc.sendUnaryData<R>, what: string): bigint | undefined {
  const ids = { from: readId(call.metadata, MD_FROM), cluster: readId(call.metadata, MD_CLUSTER_ID), to: readId(call.metadata, MD_TO) };
  const admission = checkAdmission(ctx, ids, call.getPeer(), what);
  if ('from' in admission) return admission.from;
  refuse(ctx, callback, REFUSAL_CODES[admission.refusal], admission.details);
  return undefined;
}

export function raftServiceHandlers(
  ctx: ReceiverContext,
  track: (call: AnyCall) => void,
): grpc.UntypedServiceImplementation {
  return {
    SendSnapshot(call: grpc.ServerReadableStream<SnapshotChunk, Ack>, callback: grpc.sendUnaryData<Ack>): void {
      const from = admit(ctx, call, callback, 'snapshot');
      if (from === undefined) return;
      track(call);
      call.sendMetadata(idMetadata(ctx.localId, ctx.clusterId)); // lets the sender's dial timer stop
      const started = performance.now();
      let header: Message | undefined;
      let expected = 0;
      let received = 0;
      let crc = 0;
      let chunks: Uint8Array[] = [];
      let finished = false;
      const fail = (code: grpc.status, details: string): void => {
        finished = true;
        chunks = [];
        ctx.logger.error({ peer: hex(from), received, expected }, `snapshot from peer refused: ${details}`);
        refuse(ctx, callback, code, details);
      };
      call.on('data', (c: SnapshotChunk) => {
        if (finished) return;
        if (header === undefined) {
          if (!c.message) return fail(grpc.status.INVALID_ARGUMENT, 'first snapshot chunk carries no message');
          try {
            header = decodeMessage(c.message);
          } catch (err) {
            return fail(grpc.status.INVALID_ARGUMENT, `undecodable snapshot message: ${(err as Error).message}`);
          }
          if (header.type !== MessageType.MsgSnap) {
            return fail(grpc.status.INVALID_ARGUMENT, `snapshot stream carries message type ${header.type}`);
          }
          expected = c.payloadSize;
          if (expected > ctx.maxSnapshotBytes) {
            return fail(
              grpc.status.RESOURCE_EXHAUSTED,
              `snapshot of ${expected} bytes is larger than the limit of ${ctx.maxSnapshotBytes}`,
            );
          }
        }
        received += c.data.length;
        if (received > expected) return fail(grpc.status.INVALID_ARGUMENT, 'snapshot larger than announced');
        crc = crc32c(c.data, crc);
        if (c.data.length > 0) chunks.push(c.data);
        if (!c.last) return;
        if (received !== expected) {
          return fail(grpc.status.INVALID_ARGUMENT, `snapshot truncated: ${received} of ${expected} bytes`);
        }
        if (crc !== c.crc32c) {
          return fail(grpc.status.DATA_LOSS, `snapshot checksum mismatch: got ${crc}, sender says ${c.crc32c}`);
        }
        let m: Message;
        try {
          m = { ...header, snapshot: decodeSnapshot(Buffer.concat(chunks)) };
        } catch (err) {
          return fail(grpc.status.INVALID_ARGUMENT, `undecodable snapshot: ${(err as Error).message}`);
        }
        finished = true;
        chunks = [];
        ctx.logger.info(
          { peer: hex(from), index: m.snapshot!.metadata.index, bytes: expected, ms: Math.round(performance.now() - started) },
          'received snapshot from peer',
        );
        deliver(ctx, m);
        callback(null, {});
      });
      call.on('end', () => {
        if (!finished) fail(grpc.status.INVALID_ARGUMENT, 'snapshot stream ended before its last chunk');
      });
      call.on('error', () => {
        finished = true;
        chunks = [];
      });
    },
  };
}
