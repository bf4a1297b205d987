// Public surface of the WAL package; the server imports only from here.
export { WAL, DEFAULT_SEGMENT_BYTES, type WalOptions } from './wal.js';
export { WalCorruptError, WalSnapshotNotFoundError } from './errors.js';
export { Snapshotter } from './snapshotter.js';
export type { Logger } from './logger.js';
export { encodeWalMetadata, decodeWalMetadata } from './metadata.js';
export { nodeWalFs, type WalFs, type WalFile, type OpenMode } from './wal-fs.js';
export { mkdirDurable, syncCreatedDirs } from './fsutil.js';
