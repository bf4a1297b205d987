export { decodeRecord, decodeSegment, EtcdRecordType, EtcdWalCorruptError, MAX_RECORD_BYTES, type EtcdRecord } from './records.js';
export { readEtcdWal, EtcdWalError, walFileNames, decodeWalSnapshot, type EtcdWal, type WalSnapshotRef } from './read-wal.js';
export { decodeSnapFile, etcdSnapFilesNewestFirst, type EtcdSnapFile } from './snap-files.js';
export { classifyPayload, decodeV2Request, type EtcdPayload, type V2Request } from './payload.js';
export { membersFromV2Store, type V2Member } from './v2-members.js';
