// Errors that mean "refuse to start": the log on disk cannot be trusted as is, and
// silently dropping or guessing would risk losing acknowledged writes.

/** A record failed its CRC or could not be decoded somewhere other than a torn tail. */
export class WalCorruptError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly offset?: number,
  ) {
    super(message);
    this.name = 'WalCorruptError';
  }
}

/**
 * The WAL holds no snapshot marker matching the snapshot the caller loaded (or no
 * segment reaches back to it): the snapshot and the log do not belong together.
 */
export class WalSnapshotNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WalSnapshotNotFoundError';
  }
}

export const hex32 = (n: number): string => '0x' + (n >>> 0).toString(16).padStart(8, '0');
