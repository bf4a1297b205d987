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
