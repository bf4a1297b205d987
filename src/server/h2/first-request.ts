// Holds a new HTTP/2 connection until its first request has arrived, so that
// request's :authority can be repaired (authority-repair.ts), then hands the
// connection to the gRPC server with the bytes read so far put back.
//
// A gRPC client sends its first request only after the server's SETTINGS, so we
// send an empty SETTINGS frame ourselves (it changes nothing) and drop the
// client's acknowledgement of it: Node's HTTP/2 session, which sends its own
// SETTINGS once it takes over, must never see an ACK it did not ask for.

import type * as net from 'node:net';
import { repairHeadersFrame } from './authority-repair.js';
import { Flag, FRAME_HEADER_BYTES as FRAME_HEADER, FrameType } from './frame.js';

const PREFACE_LENGTH = 24; // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
const EMPTY_SETTINGS = Buffer.from([0, 0, 0, FrameType.SETTINGS, 0, 0, 0, 0, 0]);
/** An idle client (connected, no request yet) is handed over after this long. */
const WAIT_FOR_REQUEST_MS = 100;
/**
 * A client that never acknowledges our SETTINGS is handed over anyway after this
 * long, if it sent the whole connection preface; one that did not is closed.
 */
const WAIT_FOR_ACK_MS = 2000;
/** More than this held back (frames before the ACK) is handed over as it is. */
const MAX_HELD_BYTES = 256 * 1024;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export interface HoldOptions {
  /** See WAIT_FOR_ACK_MS. */
  timeoutMs?: number;
}

export function holdForFirstRequest(socket: net.Socket, initial: Buffer, handoff: () => void, opts: HoldOptions = {}): void {
  let buf = initial;
  let scanned = PREFACE_LENGTH;
  let acked = false;
  let sawRequest = false;
  let done = false;
  let idleTimer: NodeJS.Timeout | undefined;

  const finish = (): void => {
    if (done) return;
    done = true;
    clearTimeout(idleTimer);
    clearTimeout(ackTimer);
    socket.off('data', onData);
    socket.pause();
    socket.unshift(buf);
    handoff();
  };
  const ackTimer = setTimeout(() => {
    if (buf.length >= PREFACE_LENGTH && buf.subarray(0, PREFACE_LENGTH).equals(PREFACE)) return finish();
    // Not even a whole preface: nothing for the HTTP/2 server to take over.
    done = true;
    clearTimeout(idleTimer);
    socket.off('data', onData);
    socket.destroy();
  }, opts.timeoutMs ?? WAIT_FOR_ACK_MS);
  ackTimer.unref();
  socket.once('close', () => {
    if (done) return;
    done = true;
    clearTimeout(idleTimer);
    clearTimeout(ackTimer);
    socket.off('data', onData);
  });

  const scan = (): void => {
    while (!done && buf.length - scanned >= FRAME_HEADER) {
      const length = buf.readUIntBE(scanned, 3);
      const type = buf[scanned + 3]!;
      const flags = buf[scanned + 4]!;
      const end = scanned + FRAME_HEADER + length;
      if (buf.length < end) return;
      if (type === FrameType.SETTINGS && flags & Flag.ACK && !acked) {
        acked = true;
        buf = Buffer.concat([buf.subarray(0, scanned), buf.subarray(end)]);
        if (sawRequest) return finish();
        idleTimer = setTimeout(finish, WAIT_FOR_REQUEST_MS);
        continue;
      }
      if (type === FrameType.HEADERS) {
        const repaired = repairHeadersFrame(buf.subarray(scanned, end));
        if (repaired) buf = Buffer.concat([buf.subarray(0, scanned), repaired, buf.subarray(end)]);
        sawRequest = true;
        if (acked) return finish();
        // Keep reading until the ACK is in, so it can still be dropped.
        scanned += repaired ? repaired.length : end - scanned;
        continue;
      }
      scanned = end;
    }
  };

  const onData = (chunk: Buffer): void => {
    buf = Buffer.concat([buf, chunk]);
    scan();
    if (!done && buf.length > MAX_HELD_BYTES) finish();
  };

  socket.on('data', onData);
  socket.write(EMPTY_SETTINGS);
  scan();
}
