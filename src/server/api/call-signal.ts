// An AbortSignal for the lifetime of a gRPC call, for handlers that wait (Lock,
// Campaign, Observe): it aborts when the client cancels, the deadline passes or
// the connection goes, so the wait stops and leaves no watcher behind.

import type { CallBase } from '../grpc/types.js';

export interface CallSignal {
  readonly signal: AbortSignal;
  /** Detaches from the call once the handler has answered. */
  release(): void;
}

export function callSignal(call: CallBase): CallSignal {
  const ctl = new AbortController();
  const abort = (): void => ctl.abort(new Error('context canceled'));
  if (call.cancelled) abort();
  call.once('cancelled', abort);
  return {
    signal: ctl.signal,
    release: () => void call.off('cancelled', abort),
  };
}

/** Runs fn with the call's signal, detaching from the call once fn settles. */
export async function whileCallLives<C extends CallBase, T>(call: C, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const life = callSignal(call);
  try {
    return await fn(life.signal);
  } finally {
    life.release();
  }
}
