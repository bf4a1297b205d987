// The one way a member stops because it cannot go on safely (a failed WAL write,
// a snapshot it cannot install, a committed entry it cannot apply): one fatal log
// line saying why, an orderly stop, exit non-zero so a supervisor sees it. Only
// the first call acts; later ones (the other loop failing too) are logged.

import type { Logger } from 'pino';

export interface FatalStopPorts {
  logger: Logger;
  /** Stops the member (EtcdServer.stop). */
  stop(): Promise<void>;
  /** process.exit in production. */
  exit(code: number): void;
  /** Exit even if stopping hangs (a broken disk can block a close forever). */
  graceMs?: number;
}

export type FatalStop = (err: Error, fields?: Record<string, unknown>) => void;

export function fatalStopper(ports: FatalStopPorts): FatalStop {
  let stopping = false;
  return (err, fields = {}) => {
    if (stopping) {
      ports.logger.error({ ...fields, err: err.message }, 'another fatal error while stopping');
      return;
    }
    stopping = true;
    // The stack that says most: where the underlying failure was raised.
    const stack = err.cause instanceof Error ? err.cause.stack : err.stack;
    ports.logger.fatal({ ...fields, err: err.message, stack }, `${err.message}; member stopping`);
    ports.logger.flush();
    const timer = setTimeout(() => ports.exit(1), ports.graceMs ?? 15_000);
    void ports
      .stop()
      .catch((e: Error) => ports.logger.error({ err: e.message }, 'error while stopping after a fatal error'))
      .finally(() => {
        clearTimeout(timer);
        ports.exit(1);
      });
  };
}
