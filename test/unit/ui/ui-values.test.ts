// The Keys page's value views (diff of two values, JSON/YAML pretty printing),
// the Cluster table (leader choice, unreachable members), the Watch log and
// the Leases countdown.

import { describe, expect, it } from 'vitest';
import { diffLines } from '../../../ui/src/lib/diff.js';
import { looksLikeYaml, prettyJson, prettyValue } from '../../../ui/src/lib/pretty.js';
import { formatBytes, leaderOf, memberRows, type MemberProbe } from '../../../ui/src/lib/cluster-view.js';
import { eventsOf, prepend } from '../../../ui/src/lib/watch-log.js';
import { leaseInfo, remainingAt } from '../../../ui/src/lib/lease-view.js';

describe('diffLines', () => {
  it('keeps common lines and marks removed and added ones', () => {
    expect(diffLines('a\nb\nc', 'a\nx\nc')).toEqual([
      { op: 'same', text: 'a' },
      { op: 'del', text: 'b' },
      { op: 'add', text: 'x' },
      { op: 'same', text: 'c' },
    ]);
    expect(diffLines('', 'new')).toEqual([{ op: 'add', text: 'new' }]);
    expect(diffLines('old', '')).toEqual([{ op: 'del', text: 'old' }]);
    expect(diffLines('same', 'same')).toEqual([{ op: 'same', text: 'same' }]);
  });

  it('finds the longest common subsequence in the middle', () => {
    const d = diffLines('1\n2\n3\n4\n5', '1\n3\n4\n6\n5');
    expect(d.filter((l) => l.op === 'same').map((l) => l.text)).toEqual(['1', '3', '4', '5']);
    expect(d.filter((l) => l.op === 'del').map((l) => l.text)).toEqual(['2']);
    expect(d.filter((l) => l.op === 'add').map((l) => l.text)).toEqual(['6']);
  });

  it('replaces whole when the values are too large to compare line by line', () => {
    const a = Array.from({ length: 3000 }, (_, i) => `a${i}`).join('\n');
    const b = Array.from({ length: 3000 }, (_, i) => `b${i}`).join('\n');
    const d = diffLines(a, b);
    expect(d).toHaveLength(6000);
    expect(d[0]).toEqual({ op: 'del', text: 'a0' });
    expect(d[3000]).toEqual({ op: 'add', text: 'b0' });
  });
});

describe('pretty values', () => {
  it('re-indents JSON objects and arrays only', () => {
    expect(prettyJson('{"a":1,"b":[1,2]}')).toEqual({ format: 'json', text: '{\n  "a": 1,\n  "b": [\n    1,\n    2\n  ]\n}' });
    expect(prettyJson('42')).toBeUndefined();
    expect(prettyJson('{not json')).toBeUndefined();
  });

  it('re-prints YAML mappings, leaves plain text alone', async () => {
    expect(await prettyValue('a:   1\nb:\n- x\n- y')).toEqual({ format: 'yaml', text: 'a: 1\nb:\n  - x\n  - y' });
    expect(await prettyValue('hello world')).toEqual({ format: 'text', text: 'hello world' });
    expect(await prettyValue('time: 12:00')).toEqual({ format: 'text', text: 'time: 12:00' });
    expect(looksLikeYaml('just: one line')).toBe(false);
    expect(await prettyValue('a: [unclosed\nb: 1')).toEqual({ format: 'text', text: 'a: [unclosed\nb: 1' });
  });
});

describe('cluster table', () => {
  const status = (leader: string, term: string) => ({ header: {}, leader, raftTerm: term, raftIndex: '9', raftAppliedIndex: '9', dbSize: '2048', dbSizeInUse: '1024', version: '3.4.0' });

  it('takes the leader named at the highest term', () => {
    const probes: MemberProbe[] = [
      { status: status('1', '2'), healthy: true, error: undefined },
      { status: status('3', '3'), healthy: true, error: undefined },
      { status: undefined, healthy: false, error: 'down' },
    ];
    expect(leaderOf(probes)).toBe('3');
    expect(leaderOf([{ status: status('0', '5'), healthy: true, error: undefined }])).toBeUndefined();
  });

  it('shows unreachable and unstarted members with what the list knows', () => {
    const rows = memberRows(
      [
        { ID: '2592331608853586603', name: 'm2', peerURLs: ['http://p2'], clientURLs: ['http://c2'] },
        { ID: '8250469628524149172', name: 'm1', peerURLs: ['http://p1'], clientURLs: ['http://c1'] },
        { ID: '7', peerURLs: ['http://p3'], isLearner: true },
      ],
      new Map<string, MemberProbe>([
        ['2592331608853586603', { status: status('2592331608853586603', '4'), healthy: true, error: undefined }],
        ['8250469628524149172', { status: undefined, healthy: false, error: 'cannot reach http://c1' }],
      ]),
      [{ memberID: '2592331608853586603', alarm: 'NOSPACE' }],
    );
    expect(rows.map((r) => [r.name, r.idHex, r.leader, r.healthy, r.raftIndex, r.alarms])).toEqual([
      ['m2', '23f9cfdd0dbc22ab', true, true, 9, ['NOSPACE']],
      ['m1', '727f8e6a0e54b9b4', false, false, undefined, []],
      ['', '0000000000000007', false, false, undefined, []],
    ]);
    expect(rows[2]!.learner).toBe(true);
    expect(formatBytes(2048)).toBe('2.0 KiB');
    expect(formatBytes(undefined)).toBe('–');
  });
});

describe('watch log and lease countdown', () => {
  it('turns a watch response into events, newest first, bounded', () => {
    const evs = eventsOf({
      header: {},
      events: [
        { kv: { key: Buffer.from('/a').toString('base64'), mod_revision: '5', value: Buffer.from('v').toString('base64') } },
        { type: 'DELETE', kv: { key: Buffer.from('/b').toString('base64'), mod_revision: '5' } },
      ],
    });
    expect(evs.map((e) => [e.type, e.key, e.revision, e.value])).toEqual([
      ['PUT', '/a', 5, 'v'],
      ['DELETE', '/b', 5, ''],
    ]);
    const shown = prepend([], evs, 3);
    expect(shown.map((e) => e.key)).toEqual(['/b', '/a']);
    expect(prepend(shown, evs, 3).map((e) => e.key)).toEqual(['/b', '/a', '/b']);
  });

  it('counts a lease down from when it was asked, and drops gone leases', () => {
    const l = leaseInfo({ header: {}, ID: '42', TTL: '10', grantedTTL: '30', keys: [Buffer.from('/k').toString('base64')] }, 1_000)!;
    expect(l).toEqual({ id: '42', grantedTtl: 30, ttl: 10, askedAt: 1_000, keys: ['/k'] });
    expect(remainingAt(l, 1_999)).toBe(10);
    expect(remainingAt(l, 4_000)).toBe(7);
    expect(remainingAt(l, 60_000)).toBe(0);
    expect(leaseInfo({ header: {}, ID: '42', TTL: '-1' }, 0)).toBeUndefined();
  });
});
