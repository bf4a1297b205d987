// The receiver's side of a Raft message stream (stream-protocol.ts): an HTTP/1.1
// upgrade request on the peer port is admitted (admission.ts) or refused with an
// HTTP status; once accepted, the socket's bytes are cut into frames and each
// Raft message is decoded from its frame in place and handed to onMessage. Pings
// are answered. A sender removed from the cluster meanwhile, a message over the
// bound or one that does not decode ends the stream with a CLOSE frame saying why.

import type * as http from 'node:http';
import type * as net from 'node:net';
import { decodeMessage } from '../../raft/codec.js';
import type { Message } from '../../raft/types.js';
import { type AdmitContext, checkAdmission } from './admission.js';
import { FrameDecoder, FrameTooLargeError } from './frames.js';
import { hex, MD_CLUSTER_ID, MD_FROM, MD_TO, parseHexId, removedDetails } from './service.js';
import {
  acceptResponse,
  closeFrame,
  isRaftStreamRequest,
  KEEPALIVE_FRAME,
  refusalResponse,
  refusalStatus,
  StreamStatus,
} from './stream-protocol.js';
import { stage, TRACE_ON } from '../../util/stage-trace.js';
import { traceName } from './trace-name.js';

/** How long a refused caller may keep the connection open after our answer. */
const REFUSED_LINGER_MS = 5_000;

export interface InboundStreamContext extends AdmitContext {
  /** Largest encoded Raft message accepted; a larger one closes the stream (413). */
  maxMessageBytes: number;
  /** A stream that brings nothing, not even a ping, for this long is closed. */
  idleTimeoutMs: number;
  onMessage(m: Message): void;
}

/**
 * The peer port's HTTP 'upgrade' handler. `track` hears of every accepted
 * stream's socket (the transport closes them on stop).
 */
export function raftStreamUpgradeHandler(
  ctx: InboundStreamContext,
  track: (socket: net.Socket) => void,
): (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => void {
  return (req, socket, head) => {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, details: string): void => {
      socket.end(refusalResponse(status, details, ctx.localId, ctx.clusterId));
      // The answer says Connection: close; a caller that does not close is closed.
      socket.setTimeout(REFUSED_LINGER_MS, () => socket.destroy());
    };
    if (!isRaftStreamRequest(req.url, req.headers.upgrade)) return refuse(StreamStatus.NotFound, '404 page not found');
    const ids = {
      from: parseHexId(req.headers[MD_FROM]),
      cluster: parseHexId(req.headers[MD_CLUSTER_ID]),
      to: parseHexId(req.headers[MD_TO]),
    };
    const admission = checkAdmission(ctx, ids, remote, 'message stream');
    if ('refusal' in admission) return refuse(refusalStatus(admission.refusal), admission.details);
    track(socket);
    socket.write(acceptResponse(ctx.localId, ctx.clusterId));
    ctx.logger.info({ peer: hex(admission.from), remote }, 'accepted message stream from peer');
    receive(ctx, admission.from, socket, head);
  };
}

function receive(ctx: InboundStreamContext, from: bigint, socket: net.Socket, head: Buffer): void {
  const peer = hex(from);
  let finished = false;
  const close = (status: number, details: string): false => {
    finished = true;
    socket.end(closeFrame(status, details));
    return false;
  };
  const decoder = new FrameDecoder(ctx.maxMessageBytes, (payload) => {
    if (payload.length === 0) {
      socket.write(KEEPALIVE_FRAME);
      return true;
    }
    let m: Message;
    try {
      m = decodeMessage(payload);
    } catch (err) {
      const details = `undecodable raft message: ${(err as Error).message}`;
      ctx.logger.error({ peer, err: (err as Error).message }, 'undecodable raft message from peer');
      return close(StreamStatus.BadRequest, details);
    }
    deliver(ctx, m);
    return true;
  });
  const read = (chunk: Buffer): void => {
    if (finished) return;
    if (ctx.isRemoved?.(from)) {
      // Removed while its stream was open: it learns so from the refusal and stops.
      ctx.logger.warn({ peer }, 'closing message stream from removed member');
      close(StreamStatus.Gone, removedDetails(from));
      return;
    }
    try {
      decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof FrameTooLargeError)) throw err;
      const details = `raft message of ${err.size} bytes is larger than the limit of ${err.limit}`;
      ctx.logger.warn({ peer, bytes: err.size, limit: err.limit }, `closing message stream from peer: ${details}`);
      close(StreamStatus.PayloadTooLarge, details);
    }
  };
  socket.setTimeout(ctx.idleTimeoutMs, () => {
    if (!finished) ctx.logger.warn({ peer, err: `nothing received for ${ctx.idleTimeoutMs} ms` }, 'message stream from peer failed');
    finished = true;
    socket.destroy();
  });
  socket.on('data', read);
  socket.on('end', () => {
    finished = true;
    socket.end();
  });
  socket.on('error', (err: Error) => {
    if (!finished) ctx.logger.warn({ peer, err: err.message }, 'message stream from peer failed');
    finished = true;
  });
  if (head.length > 0) read(head);
}

/** Hands a message to the driver; a throwing onMessage costs that message, not the stream. */
export function deliver(ctx: Pick<InboundStreamContext, 'logger' | 'onMessage'>, m: Message): void {
  if (TRACE_ON) stage(traceName('rx', m));
  try {
    ctx.onMessage(m);
  } catch (err) {
    ctx.logger.error({ err: (err as Error).message, type: m.type, from: hex(m.from) }, 'onMessage failed');
  }
}
