// The WAL logs through whatever the server hands it (pino in production); the
// shape is the subset of pino's API it needs, so tests can pass nothing.

export interface Logger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
}

export const silentLogger: Logger = {
  info() {},
  warn() {},
};
