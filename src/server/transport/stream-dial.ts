// The sender's side of a Raft message stream (stream-protocol.ts): one HTTP/1.1
// upgrade request to the peer's URL, then the bare socket. Node's HTTP client
// parses the answer once; after the 101, writes go straight to the socket and
// what comes back (pongs, a CLOSE) is read as frames.

import * as http from 'node:http';
import type * as net from 'node:net';
import { FrameDecoder } from './frames.js';
import type { StreamEnd, StreamEvents, StreamLink } from './message-stream.js';
import { MD_CLUSTER_ID, parseHexId } from './service.js';
import {
  decodeControlFrame,
  handshakeHeaders,
  MAX_CONTROL_FRAME_BYTES,
  RAFT_STREAM_PATH,
  RAFT_STREAM_PROTOCOL,
} from './stream-protocol.js';

/** A refusal's reason is short text; more than this is not read. */
const MAX_REFUSAL_BODY_BYTES = 4096;

export interface StreamIds {
  from: bigint;
  to: bigint;
  clusterId: bigint;
}

/**
 * Dials `url` for a stream from ids.from to ids.to; events never fire before this
 * returns. `connect` opens the socket (the peer dialer: TLS for https:// peer URLs);
 * without it, a plain TCP connection to the URL's host and port.
 */
export function dialRaftStream(url: string, ids: StreamIds, events: StreamEvents, connect?: () => net.Socket): StreamLink {
  const target = new URL(url);
  let socket: net.Socket | undefined;
  let over = false;
  const req = http.request({
    host: target.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(target.port || 80),
    method: 'GET',
    path: RAFT_STREAM_PATH,
    headers: handshakeHeaders(ids.from, ids.clusterId, ids.to),
    // No agent: one connection per stream, never pooled. Node ignores
    // createConnection when `agent: false` is given, so that is only set without it.
    ...(connect ? { createConnection: () => connect() } : { agent: false }),
  });
  const close = (): void => {
    over = true;
    req.destroy();
    socket?.destroy();
  };
  const end = (e: StreamEnd): void => {
    if (over) return;
    close();
    events.ended(e);
  };

  req.on('socket', (s: net.Socket) => s.setNoDelay(true));
  req.on('error', (err) => end({ kind: 'error', message: err.message }));
  req.on('response', (res) => {
    // Anything but 101: a refusal, its reason in the body.
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      if (body.length < MAX_REFUSAL_BODY_BYTES) body += c;
    });
    res.on('end', () =>
      end({
        kind: 'refused',
        status: res.statusCode ?? 0,
        details: body.slice(0, MAX_REFUSAL_BODY_BYTES).trim() || `HTTP ${res.statusCode}`,
        remoteCluster: parseHexId(res.headers[MD_CLUSTER_ID]),
      }),
    );
    res.on('error', (err) => end({ kind: 'error', message: err.message }));
  });
  req.on('upgrade', (res: http.IncomingMessage, s: net.Socket, head: Buffer) => {
    socket = s;
    if (over) return void s.destroy();
    if (String(res.headers.upgrade).toLowerCase() !== RAFT_STREAM_PROTOCOL) {
      return end({ kind: 'error', message: `peer answered the stream handshake with upgrade "${res.headers.upgrade}"` });
    }
    const decoder = new FrameDecoder(MAX_CONTROL_FRAME_BYTES, (payload) => {
      const f = decodeControlFrame(payload);
      if (f.kind === 'pong') return events.pong();
      end({ kind: 'refused', status: f.status, details: f.details });
      return false;
    });
    const read = (chunk: Buffer): void => {
      try {
        decoder.push(chunk);
      } catch (err) {
        end({ kind: 'error', message: `bad frame from peer: ${(err as Error).message}` });
      }
    };
    s.on('data', read);
    s.on('drain', () => {
      if (!over) events.drain();
    });
    s.on('end', () => end({ kind: 'closed' }));
    s.on('close', () => end({ kind: 'closed' }));
    s.on('error', (err) => end({ kind: 'error', message: err.message }));
    events.accepted(parseHexId(res.headers[MD_CLUSTER_ID]));
    if (head.length > 0 && !over) read(head);
  });
  req.end();
  return {
    write: (bytes) => socket!.write(bytes),
    close,
  };
}
