// A committed entry the member cannot apply (here: a request in a field this build
// does not know, as a newer version might write, appended to its WAL while it was down) stops the member at start-up: one
// fatal log line naming the entry, exit code 1, and it never serves clients.

import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EntryType } from '../../src/raft/types.js';
import { encodeInternalRequest } from '../../src/pb/index.js';
import { WAL } from '../../src/wal/index.js';
import { Member } from './helpers/member.js';

describe('a committed entry that cannot be applied', () => {
  let member: Member | undefined;
  afterAll(async () => {
    await member?.cleanup();
  });

  it('stops the member with a fatal log line and exit code 1', async () => {
    member = await Member.create();
    await member.start();
    expect(await member.stop()).toBe(0);

    // Append a committed entry whose only request sits in field 9999 (length-delimited:
    // tag 9999 << 3 | 2 = 79994 = varint fa f0 04), which no InternalRaftRequest field is.
    const { wal, hardState, entries } = await WAL.open(join(member.dataDir, 'member', 'wal'), undefined);
    const index = entries.at(-1)!.index + 1;
    const known = encodeInternalRequest({ header: { ID: 12345n } });
    const data = new Uint8Array([...known, 0xfa, 0xf0, 0x04, 1, 0]);
    await wal.save({ ...hardState, commit: index }, [{ term: hardState.term, index, type: EntryType.Normal, data, encoded: undefined }]);
    await wal.close();

    await expect(member.start()).rejects.toThrow(/member exited \(code 1/);
    const fatal = member
      .log()
      .split('\n')
      .filter((l) => l.includes('"level":"fatal"'));
    expect(fatal[0]).toContain(`cannot apply committed entry ${index}: unknown request in entry (fields: none)`);
    expect(fatal[0]).toContain(`"index":${index}`);
    expect(member.log()).not.toContain('ready to serve client requests');
  });
});
