// Where a Watch stream's encoded responses go. A revision watched by a thousand
// watchers is a thousand responses, so the send queue hands over whole batches
// of already framed gRPC messages (5-byte length prefix each, in order), and
// they go to the HTTP/2 stream in one write: one copy and one stream callback
// per batch, not per response. HTTP/2 flow control still applies through the
// stream's buffer and 'drain'.

import type { ResponseStream } from '../grpc/types.js';

export interface WatchOutput {
  /** Writes framed messages (each with its 5-byte gRPC prefix). False: stop until onceDrain. */
  write(framed: Buffer[]): boolean;
  onceDrain(fn: () => void): void;
}

type Call = Pick<ResponseStream<unknown>, 'writeFramed'> & { once(event: 'drain', fn: () => void): unknown };

export function watchOutput(call: Call): WatchOutput {
  return {
    write: (framed) => call.writeFramed(framed.length === 1 ? framed[0]! : Buffer.concat(framed)),
    onceDrain: (fn) => void call.once('drain', fn),
  };
}
