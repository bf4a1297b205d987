// Decoded requests keep the bytes they were decoded from, so a request that goes
// into the Raft log unchanged (Put, DeleteRange, Txn) is copied into the log entry
// as it arrived instead of being encoded a second time.

const RAW_BYTES = Symbol('etcd-ts.rawBytes');

export function withRawBytes<T>(decoded: T, bytes: Uint8Array): T {
  // Not enumerable: the decoded request stays a plain object to everything else.
  if (decoded !== null && typeof decoded === 'object') {
    Object.defineProperty(decoded, RAW_BYTES, { value: bytes, enumerable: false });
  }
  return decoded;
}

/** The wire bytes `msg` was decoded from, if it came from the network. */
export function rawBytes(msg: object): Uint8Array | undefined {
  return (msg as Record<symbol, Uint8Array | undefined>)[RAW_BYTES];
}
