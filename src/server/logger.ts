// pino JSON on stderr, as etcd's zap logger writes to stderr.

import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name?: string): Logger {
  return pino(
    {
      level,
      base: name ? { name } : undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}

/**
 * Resolves once no asynchronous write to stderr is in flight (bounded: 2 s).
 * pino's flush() returns at once for this destination, and the synchronous
 * flush at process exit would write the buffered lines before one still in
 * flight (reordering or losing the last lines): call this before exiting on
 * purpose.
 */
export async function logWritten(logger: Logger): Promise<void> {
  const stream = (logger as unknown as Record<symbol, { _writing?: boolean; _bufs?: unknown[] } | undefined>)[pino.symbols.streamSym];
  const busy = (): boolean => stream?._writing === true || (stream?._bufs?.length ?? 0) > 0;
  for (let waited = 0; busy() && waited < 2_000; waited += 5) await new Promise((r) => setTimeout(r, 5));
}
