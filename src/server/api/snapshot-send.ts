// Maintenance.Snapshot's response stream, as etcd 3.4's v3rpc sends it
// (etcdserver/api/v3rpc/maintenance.go): the backend file in 32 KiB blobs,
// each with the bytes still to come after it in remaining_bytes, then one more
// message whose blob is the SHA-256 of everything sent (remaining_bytes 0).
// `etcdctl snapshot save` stores all of it; restore checks the digest.
//
// Memory: one 32 KiB buffer plus what the source holds; when the client reads
// slowly, the stream's 'drain' holds the source back.

import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type * as pb from '../../pb/types.js';
import { Code, toEtcdError } from '../errors.js';
import type { StreamCall } from '../grpc/types.js';

export const SNAPSHOT_SEND_BUFFER = 32 * 1024;

export interface SnapshotSource {
  size: number;
  chunks: AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}

type Call = StreamCall<Record<string, never>, pb.Encodable<pb.SnapshotResponse>>;

/** Resolves when the call can take more (or is gone): false when it is gone. */
function writable(call: Call, wrote: boolean): Promise<boolean> | boolean {
  if (call.cancelled) return false;
  if (wrote) return true;
  return new Promise((res) => {
    const done = (ok: boolean) => () => {
      call.off('drain', onDrain);
      call.off('cancelled', onGone);
      call.off('close', onGone);
      res(ok);
    };
    const onDrain = done(true);
    const onGone = done(false);
    call.once('drain', onDrain);
    call.once('cancelled', onGone);
    call.once('close', onGone);
  });
}

/** Sends `snap` on `call` and ends it; a failure ends the call with etcd's status. */
export async function sendSnapshot(call: Call, snap: SnapshotSource, logger: Logger): Promise<void> {
  const total = snap.size;
  const started = Date.now();
  logger.info({ 'total-bytes': total }, 'sending database snapshot to client');
  const hash = createHash('sha256');
  let buf = Buffer.allocUnsafe(SNAPSHOT_SEND_BUFFER);
  let len = 0;
  let sent = 0;
  const send = async (blob: Buffer, remaining: number): Promise<boolean> => {
    const ok = call.write({ header: undefined, remainingBytes: BigInt(remaining), blob, version: '' });
    return writable(call, ok);
  };
  try {
    for await (const piece of snap.chunks) {
      let o = 0;
      while (o < piece.length) {
        const n = Math.min(SNAPSHOT_SEND_BUFFER - len, piece.length - o);
        buf.set(piece.subarray(o, o + n), len);
        len += n;
        o += n;
        if (len === SNAPSHOT_SEND_BUFFER) {
          sent += len;
          if (sent > total) throw new Error(`snapshot: the source yields more than its ${total} bytes`);
          hash.update(buf);
          // The message keeps its buffer until written: hand it over, take a new one.
          if (!(await send(buf, total - sent))) return;
          buf = Buffer.allocUnsafe(SNAPSHOT_SEND_BUFFER);
          len = 0;
        }
      }
    }
    if (len > 0) {
      sent += len;
      const last = buf.subarray(0, len);
      hash.update(last);
      if (!(await send(last, total - sent))) return;
    }
    if (sent !== total) throw new Error(`snapshot: sent ${sent} bytes of ${total}`);
    const digest = hash.digest();
    logger.info({ 'total-bytes': total, 'checksum-size': digest.length }, 'sending database sha256 checksum to client');
    if (!(await send(digest, 0))) return;
    call.end();
    logger.info({ 'total-bytes': total, took: `${Date.now() - started}ms` }, 'successfully sent database snapshot to client');
  } catch (err) {
    const e = toEtcdError(err);
    if (e.code === Code.UNKNOWN) logger.error({ err }, 'snapshot failed');
    call.fail({ code: e.code, details: e.message });
  } finally {
    await snap.close();
  }
}
