// The receiving side of the peer service: every call is checked (sender id,
// cluster id, addressee, not a removed member) before anything is read; accepted
// message streams hand each decoded Raft message to onMessage; snapshot calls are
// reassembled, checked (size and CRC-32C) and handed over as one MsgSnap.

import * as grpc from '@grpc/grpc-js';
import { decodeMessage, decodeSnapshot } from '../../raft/codec.js';
import { type Message, MessageType } from '../../raft/types.js';
import { crc32c } from '../../util/crc32c.js';
import { type Ack, clusterMismatch, hex, idMetadata, MD_CLUSTER_ID, MD_FROM, MD_TO, readId, removedDetails } from './service.js';
import type { TransportLogger } from './types.js';
import type { SnapshotChunk } from './wire.js';

export interface ReceiverContext {
  localId: bigint;
  clusterId: bigint;
  logger: TransportLogger;
  maxSnapshotBytes: number;
  /** Largest encoded Raft message accepted on a message stream (TransportLimits). */
  maxMessageBytes?: number;
  onMessage(m: Message): void;
  isRemoved?(id: bigint): boolean;
}

type AnyCall = grpc.ServerReadableStream<unknown, Ack>;
type AdmitCall = Pick<AnyCall, 'metadata' | 'getPeer'>;

/** What admit() needs to know. */
export type AdmitContext = Pick<ReceiverContext, 'localId' | 'clusterId' | 'logger' | 'isRemoved'>;

/** Ends with an error status carrying our ids, so the sender can say what was wrong. */
function refuse<R>(ctx: AdmitContext, callback: grpc.sendUnaryData<R>, code: grpc.status, details: string): void {
  callback({ code, details, metadata: idMetadata(ctx.localId, ctx.clusterId) }, null);
}

/**
 * The sender's id if the call may proceed (our cluster, addressed to us, not a
 * removed member); otherwise refuses it and returns undefined. Every call on the
 * peer port goes through here, the message stream and other services alike.
 */
export function admit<R>(ctx: AdmitContext, call: AdmitCall, callback: grpc.sendUnaryData<R>, what: string): bigint | undefined {
  const from = readId(call.metadata, MD_FROM);
  const cluster = readId(call.metadata, MD_CLUSTER_ID);
  const to = readId(call.metadata, MD_TO);
  const remote = call.getPeer();
  if (from === undefined || cluster === undefined) {
    ctx.logger.warn({ remote, what }, 'refused peer call without sender or cluster id');
    refuse(ctx, callback, grpc.status.INVALID_ARGUMENT, 'missing sender member id or cluster id');
    return undefined;
  }
  if (cluster !== ctx.clusterId) {
    const details = clusterMismatch(ctx.clusterId, cluster);
    ctx.logger.error({ remote, peer: hex(from), what }, details);
    refuse(ctx, callback, grpc.status.FAILED_PRECONDITION, details);
    return undefined;
  }
  if (to !== undefined && to !== ctx.localId) {
    const details = `member ID mismatch: local ${hex(ctx.localId)}, addressed to ${hex(to)}`;
    ctx.logger.error({ remote, peer: hex(from), what }, details);
    refuse(ctx, callback, grpc.status.FAILED_PRECONDITION, details);
    return undefined;
  }
  if (ctx.isRemoved?.(from)) {
    const details = removedDetails(from);
    ctx.logger.warn({ remote, peer: hex(from), what }, `refused ${what} from removed member`);
    refuse(ctx, callback, grpc.status.FAILED_PRECONDITION, details);
    return undefined;
  }
  return from;
}

function deliver(ctx: ReceiverContext, m: Message): void {
  try {
    ctx.onMessage(m);
  } catch (err) {
    ctx.logger.error({ err: (err as Error).message, type: m.type, from: hex(m.from) }, 'onMessage failed');
  }
}

export function raftServiceHandlers(
  ctx: ReceiverContext,
  track: (call: AnyCall) => void,
): grpc.UntypedServiceImplementation {
  return {
    Stream(call: grpc.ServerReadableStream<Uint8Array[], Ack>, callback: grpc.sendUnaryData<Ack>): void {
      const from = admit(ctx, call, callback, 'message stream');
      if (from === undefined) return;
      track(call);
      call.sendMetadata(idMetadata(ctx.localId, ctx.clusterId));
      ctx.logger.info({ peer: hex(from), remote: call.getPeer() }, 'accepted message stream from peer');
      let finished = false;
      const maxBytes = ctx.maxMessageBytes ?? Number.POSITIVE_INFINITY;
      call.on('data', (batch: Uint8Array[]) => {
        if (finished) return;
        if (ctx.isRemoved?.(from)) {
          // Removed while its stream was open: it learns so from the refusal and stops.
          finished = true;
          ctx.logger.warn({ peer: hex(from) }, 'closing message stream from removed member');
          refuse(ctx, callback, grpc.status.FAILED_PRECONDITION, removedDetails(from));
          return;
        }
        for (const bytes of batch) {
          if (bytes.length > maxBytes) {
            finished = true;
            const details = `raft message of ${bytes.length} bytes is larger than the limit of ${maxBytes}`;
            ctx.logger.warn({ peer: hex(from), bytes: bytes.length, limit: maxBytes }, `closing message stream from peer: ${details}`);
            refuse(ctx, callback, grpc.status.RESOURCE_EXHAUSTED, details);
            return;
          }
          let m: Message;
          try {
            m = decodeMessage(bytes);
          } catch (err) {
            finished = true;
            ctx.logger.error({ peer: hex(from), err: (err as Error).message }, 'undecodable raft message from peer');
            refuse(ctx, callback, grpc.status.INVALID_ARGUMENT, `undecodable raft message: ${(err as Error).message}`);
            return;
          }
          deliver(ctx, m);
        }
      });
      call.on('end', () => {
        if (finished) return;
        finished = true;
        callback(null, {});
      });
      call.on('error', (err: Error) => {
        // Among others, grpc-js's own refusal of a frame over max_receive_message_length.
        if (!finished) ctx.logger.warn({ peer: hex(from), err: err.message }, 'message stream from peer failed');
        finished = true;
      });
    },

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
