// Sends one MsgSnap to a peer on its own gRPC call (and its own connection, see
// peer.ts), so a large snapshot never queues behind, or in front of, heartbeats.
// The payload is cut into chunks; the CRC-32C of the whole payload rides on the
// last chunk, so the sender never needs the payload twice (it can later be read
// from a file as it streams). Success and failure go back to Raft through
// reportSnapshot; failure also reports the peer unreachable, as etcd does.

import type * as grpc from '@grpc/grpc-js';
import { encodeMessage, encodeSnapshot } from '../../raft/codec.js';
import type { Message } from '../../raft/types.js';
import { crc32c } from '../../util/crc32c.js';
import type { PeerContext } from './context.js';
import { type Ack, deserializeAck, hex, idMetadata, serializeChunk, SNAPSHOT_PATH } from './service.js';
import type { SnapshotChunk } from './wire.js';

/** The bytes of a snapshot transfer: the MsgSnap without its snapshot, then the payload. */
export interface SnapshotPayload {
  header: Uint8Array;
  payload: Uint8Array;
}

/** Today's payload: the raft Snapshot, encoded (its data will later be the MVCC state). */
export function snapshotPayload(m: Message): SnapshotPayload {
  if (!m.snapshot) throw new Error('MsgSnap without a snapshot');
  return { header: encodeMessage({ ...m, snapshot: undefined }), payload: encodeSnapshot(m.snapshot) };
}

export class SnapshotSender {
  private inflight: grpc.ClientWritableStream<SnapshotChunk> | undefined;
  private stopped = false;

  constructor(
    private readonly peerId: bigint,
    private readonly ctx: PeerContext,
    private readonly client: () => grpc.Client,
  ) {}

  get busy(): boolean {
    return this.inflight !== undefined;
  }

  send(m: Message): void {
    if (this.stopped) return;
    if (this.inflight) {
      // Raft sends one snapshot at a time per follower; a second one is a retry
      // after a failure we have not seen yet. Refuse it; Raft will ask again.
      this.ctx.logger.warn({ peer: hex(this.peerId) }, 'snapshot already being sent to peer; dropping the new one');
      this.ctx.reportSnapshot(this.peerId, false);
      return;
    }
    void this.run(m);
  }

  stop(): void {
    this.stopped = true;
    const call = this.inflight;
    this.inflight = undefined;
    call?.cancel();
  }

  private async run(m: Message): Promise<void> {
    const started = performance.now();
    const { localId, clusterId, limits, logger } = this.ctx;
    let err: Error | null = null;
    let size = 0;
    let call: grpc.ClientWritableStream<SnapshotChunk> | undefined;
    try {
      const { header, payload } = snapshotPayload(m);
      size = payload.length;
      let settle!: (e: grpc.ServiceError | null) => void;
      const done = new Promise<grpc.ServiceError | null>((resolve) => (settle = resolve));
      call = this.client().makeClientStreamRequest<SnapshotChunk, Ack>(
        SNAPSHOT_PATH,
        serializeChunk,
        deserializeAck,
        idMetadata(localId, clusterId, this.peerId),
        {},
        (e) => settle(e),
      );
      this.inflight = call;
      call.on('error', () => {});
      let ended = false;
      void done.then(() => (ended = true));
      // The receiver answers with headers once it has admitted the call; a peer that
      // does not within the dial timeout is treated as down.
      const accepted = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), limits.dialTimeoutMs);
        const settled = (ok: boolean): void => {
          clearTimeout(timer);
          resolve(ok);
        };
        call!.once('metadata', () => settled(true));
        void done.then(() => settled(false));
      });
      if (!(await accepted) && !ended) {
        call.cancel();
        throw new Error(`peer did not accept the snapshot within ${limits.dialTimeoutMs} ms`);
      }
      const step = limits.snapshotChunkBytes;
      let crc = 0;
      for (let off = 0; !ended && this.inflight === call; off += step) {
        const data = payload.subarray(off, off + step);
        crc = crc32c(data, crc);
        const last = off + step >= payload.length;
        const chunk: SnapshotChunk = {
          message: off === 0 ? header : undefined,
          payloadSize: off === 0 ? payload.length : 0,
          data,
          last,
          crc32c: last ? crc : 0,
        };
        if (!call.write(chunk)) await waitDrain(call, done);
        if (last) break;
      }
      if (this.inflight === call && !ended) call.end();
      err = await done;
    } catch (e) {
      err = e as Error;
    }
    if (this.inflight !== call || this.stopped) return; // cancelled by stop()
    this.inflight = undefined;
    const fields = { peer: hex(this.peerId), index: m.snapshot?.metadata.index, bytes: size };
    if (err === null) {
      logger.info({ ...fields, ms: Math.round(performance.now() - started) }, 'sent snapshot to peer');
      this.ctx.reportSnapshot(this.peerId, true);
    } else {
      logger.warn({ ...fields, err: (err as grpc.ServiceError).details ?? err.message }, 'failed to send snapshot to peer');
      this.ctx.reportUnreachable(this.peerId);
      this.ctx.reportSnapshot(this.peerId, false);
    }
  }
}

function waitDrain(call: grpc.ClientWritableStream<SnapshotChunk>, done: Promise<unknown>): Promise<void> {
  return new Promise<void>((resolve) => {
    const onDrain = (): void => {
      call.off('drain', onDrain);
      resolve();
    };
    call.on('drain', onDrain);
    void done.then(onDrain);
  });
}
