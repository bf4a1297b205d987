// `etcd-ts snapshot status`: etcdctl 3.4.23's output, exit codes and error texts
// (the expected strings were printed by etcdctl 3.4.23 for the same files), and
// the printing helpers (go-humanize sizes, tablewriter tables).

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshotCli } from '../../src/snapshot-cli/index.js';
import { parseCtlFlags } from '../../src/snapshot-cli/ctl-args.js';
import { formatStatus, humanizeBytes, renderTable } from '../../src/snapshot-cli/status-format.js';
import { writeEtcdSnapshotFile, type EtcdImageSource } from '../../src/snapshot/etcd-writer.js';

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '', stderr = '';
  const code = await snapshotCli(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

describe('status printing', () => {
  it('sizes as go-humanize prints them (half-even rounding of %.0f included)', () => {
    expect(humanizeBytes(9)).toBe('9 B');
    expect(humanizeBytes(999)).toBe('999 B');
    expect(humanizeBytes(1000)).toBe('1.0 kB');
    expect(humanizeBytes(1536)).toBe('1.5 kB');
    expect(humanizeBytes(20480)).toBe('20 kB'); // 20.5 → "20" in Go
    expect(humanizeBytes(21504)).toBe('22 kB'); // 21.5 → "22"
    expect(humanizeBytes(102400)).toBe('102 kB');
    expect(humanizeBytes(61628416)).toBe('62 MB');
    expect(humanizeBytes(1073741824)).toBe('1.1 GB');
  });

  it('prints the four formats as etcdctl did for a 20 KiB snapshot at revision 24', () => {
    const st = { hash: 0xb5556f18, revision: 24, totalKey: 32, totalSize: 20480 };
    expect(formatStatus(st, 'simple')).toBe('b5556f18, 24, 32, 20 kB\n');
    expect(formatStatus(st, 'json')).toBe('{"hash":3042275096,"revision":24,"totalKey":32,"totalSize":20480}\n');
    expect(formatStatus(st, 'fields')).toBe('"Hash" : 3042275096\n"Revision" : 24\n"Keys" : 32\n"Size" : 20480\n');
    expect(formatStatus(st, 'table')).toBe(
      [
        '+----------+----------+------------+------------+',
        '|   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE |',
        '+----------+----------+------------+------------+',
        '| b5556f18 |       24 |         32 |      20 kB |',
        '+----------+----------+------------+------------+',
        '',
      ].join('\n'),
    );
  });

  it('centres a header narrower than its column with the extra space on the right (tablewriter Pad)', () => {
    expect(renderTable(['ab'], [['12345']]).split('\n')[1]).toBe('|  AB   |');
  });

  it('parses flags as pflag does', () => {
    const known = { 'write-out': 'w', hex: null };
    expect(parseCtlFlags(['f', '-w', 'json'], known).flags.get('write-out')).toBe('json');
    expect(parseCtlFlags(['-w=table', 'f'], known).flags.get('write-out')).toBe('table');
    expect(parseCtlFlags(['--write-out=json', '--hex', 'f'], known)).toEqual({ positional: ['f'], flags: new Map([['write-out', 'json'], ['hex', 'true']]) });
    expect(() => parseCtlFlags(['--nope'], known)).toThrow('unknown flag: --nope');
  });
});

describe('etcd-ts snapshot status', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-ts-snapcli-'));
    const src: EtcdImageSource = {
      consistentIndex: 5, scheduledCompactRev: 0, finishedCompactRev: 0,
      async *revisions() {}, async *leases() {},
      members: [], membersRemoved: [], clusterVersion: '3.4.0', alarms: [],
      auth: { enabled: undefined, revision: 1, users: [], roles: [] },
    };
    await writeEtcdSnapshotFile(join(dir, 'ok.db'), src);
    await writeFile(join(dir, 'text.db'), 'not a db\n'.repeat(3000));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the status of a valid file', async () => {
    const r = await cli(['status', join(dir, 'ok.db'), '-w', 'json']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(r.stdout)).toMatchObject({ revision: 0, totalKey: 3, totalSize: 4 * 4096 }); // metas, freelist, one root leaf holding every bucket inline
  });

  it.each([
    [['status'], 128, 'Error: snapshot status requires exactly one argument\n'],
    [['status', 'a', 'b'], 128, 'Error: snapshot status requires exactly one argument\n'],
    [['status', 'OK', '-w', 'bogus'], 4, 'Error: unsupported output format\n'],
    [['status', 'OK', '-w', 'protobuf'], 4, 'Error: protobuf not supported as output format\n'],
    [['status', 'missing.db'], 1, 'Error: stat missing.db: no such file or directory\n'],
    [['status', 'DIR'], 1, 'Error: open DIR: is a directory\n'],
    [['status', 'TEXT'], 1, 'Error: invalid database\n'],
  ])('%j: exit %i and etcdctl\'s error', async (args, code, stderr) => {
    const fill = (a: string) => (a === 'OK' ? join(dir, 'ok.db') : a === 'DIR' ? dir : a === 'TEXT' ? join(dir, 'text.db') : a);
    const r = await cli(args.map(fill));
    expect(r).toEqual({ code, stdout: '', stderr: stderr.replace('DIR', dir) });
  });
});
