// Permission matching (keys, ranges, prefixes, from-key, merged across roles) and
// which permissions each request needs (etcd's authApplierV3), nested txns too.
import { describe, expect, it } from 'vitest';
import { AuthError, AuthStore, checkDeleteRange, checkPut, checkTxn, type Permission, PermType, RangePermissions } from '../../src/auth/index.js';
import type { RequestOp, TxnRequest } from '../../src/pb/types.js';

const b = (s: string): Buffer => Buffer.from(s);
const p = (permType: PermType, key: string, rangeEnd = ''): Permission => ({ permType, key: b(key), rangeEnd: b(rangeEnd) });
const R = PermType.READ;
const W = PermType.WRITE;

describe('RangePermissions', () => {
  const perms = new RangePermissions([
    p(R, 'foo'), // one key
    p(PermType.READWRITE, 'a', 'c'), // [a, c)
    p(R, 'pre/', 'pre0'), // prefix pre/
    p(W, 'z', '\0'), // from z on
    p(R, 'm', 'n'),
    p(R, 'n', 'o'), // touches [m, n): [m, o) is covered
  ]);
  const can = (t: typeof R | typeof W, key: string, end = '') => perms.permits(t, b(key), b(end));

  it('a single key: exactly that key', () => {
    expect(can(R, 'foo')).toBe(true);
    expect(can(R, 'foo1')).toBe(false);
    expect(can(R, 'fo')).toBe(false);
    expect(can(W, 'foo')).toBe(false);
    // a range of just that key: [foo, foo\0)
    expect(can(R, 'foo', 'foo\0')).toBe(true);
    expect(can(R, 'foo', 'foo0')).toBe(false);
  });

  it('a range: keys and sub-ranges inside, nothing reaching out', () => {
    expect(can(R, 'a')).toBe(true);
    expect(can(W, 'bzzz')).toBe(true);
    expect(can(R, 'c')).toBe(false);
    expect(can(R, 'a', 'c')).toBe(true);
    expect(can(R, 'b', 'c')).toBe(true);
    expect(can(R, 'a', 'c\0')).toBe(false);
    expect(can(R, '0', 'b')).toBe(false);
  });

  it('a prefix', () => {
    expect(can(R, 'pre/x')).toBe(true);
    expect(can(R, 'pre/', 'pre0')).toBe(true);
    expect(can(R, 'pre', 'pre0')).toBe(false);
    expect(can(R, 'pre0')).toBe(false);
  });

  it('from-key: everything from the key on, and from-key requests', () => {
    expect(can(W, 'z')).toBe(true);
    expect(can(W, '\xff\xff')).toBe(true);
    expect(can(W, 'z', '\0')).toBe(true);
    expect(can(W, 'zz', '\0')).toBe(true);
    expect(can(W, 'y', '\0')).toBe(false);
    expect(can(R, 'z')).toBe(false);
    // a from-key read is never covered by a bounded range
    expect(can(R, 'a', '\0')).toBe(false);
  });

  it('touching intervals (from one role or several) merge', () => {
    expect(can(R, 'm', 'o')).toBe(true);
    expect(can(R, 'mzz', 'nb')).toBe(true);
    expect(can(R, 'm', 'o\0')).toBe(false);
    const gap = new RangePermissions([p(R, 'a', 'b'), p(R, 'b\0', 'c')]);
    expect(gap.permits(R, b('a'), b('c'))).toBe(false);
    expect(gap.permits(R, b('b'), b(''))).toBe(false);
  });

  it('an inverted request range is judged by its key, as etcd\'s interval tree does', () => {
    expect(can(R, 'b', 'a')).toBe(true);
    expect(can(R, 'd', 'b')).toBe(false);
  });
});

describe('request checks', () => {
  function storeWith(...perms: Permission[]) {
    const s = new AuthStore();
    const stage = () => {};
    s.userAdd({ name: 'root', hashedPassword: 'h', noPassword: false }, stage);
    s.userGrantRole('root', 'root', stage);
    s.roleAdd('r', stage);
    for (const x of perms) s.roleGrantPermission('r', x, stage);
    s.userAdd({ name: 'u', hashedPassword: 'h', noPassword: false }, stage);
    s.userGrantRole('u', 'r', stage);
    s.authEnable(stage);
    return { s, ai: { username: 'u', revision: s.revision } };
  }
  const noLeases = () => [];
  const denied = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      return (err as AuthError).message;
    }
    return 'ok';
  };
  const put = (key: string, extra: Partial<RequestOp['requestPut']> = {}): RequestOp => ({
    requestPut: { key: b(key), value: b('v'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false, ...extra },
  });
  const range = (key: string, rangeEnd = ''): RequestOp => ({ requestRange: { key: b(key), rangeEnd: b(rangeEnd) } as never });
  const del = (key: string, prevKv = false): RequestOp => ({ requestDeleteRange: { key: b(key), rangeEnd: b(''), prevKv } });
  const txn = (t: Partial<TxnRequest>): TxnRequest => ({ compare: [], success: [], failure: [], ...t });
  const cmp = (key: string) => ({ result: 0, target: 0, key: b(key), rangeEnd: b(''), version: 0n });

  it('put needs WRITE; prev_kv needs READ too; a lease with a key the user cannot write is refused', () => {
    const { s, ai } = storeWith(p(W, 'w'), p(PermType.READWRITE, 'rw'), p(R, 'r'));
    expect(denied(() => checkPut(s, ai, put('w').requestPut!, noLeases))).toBe('ok');
    expect(denied(() => checkPut(s, ai, put('r').requestPut!, noLeases))).toBe('etcdserver: permission denied');
    expect(denied(() => checkPut(s, ai, put('w', { prevKv: true }).requestPut!, noLeases))).toBe('etcdserver: permission denied');
    expect(denied(() => checkPut(s, ai, put('rw', { prevKv: true }).requestPut!, noLeases))).toBe('ok');
    const leaseKeys = (id: bigint) => (id === 7n ? [b('w'), b('r')] : []);
    expect(denied(() => checkPut(s, ai, put('w', { lease: 7n }).requestPut!, leaseKeys))).toBe('etcdserver: permission denied');
    expect(denied(() => checkPut(s, ai, put('w', { lease: 8n }).requestPut!, leaseKeys))).toBe('ok');
  });

  it('delete needs WRITE on the range, and READ with prev_kv', () => {
    const { s, ai } = storeWith(p(W, 'w'), p(PermType.READWRITE, 'rw'));
    expect(denied(() => checkDeleteRange(s, ai, del('w').requestDeleteRange!))).toBe('ok');
    expect(denied(() => checkDeleteRange(s, ai, del('w', true).requestDeleteRange!))).toBe('etcdserver: permission denied');
    expect(denied(() => checkDeleteRange(s, ai, del('rw', true).requestDeleteRange!))).toBe('ok');
  });

  it('txn: every compare, both branches, and nested txns at any depth', () => {
    const { s, ai } = storeWith(p(PermType.READWRITE, 'ok'), p(R, 'ro'));
    const check = (t: TxnRequest) => denied(() => checkTxn(s, ai, t, noLeases));
    expect(check(txn({ compare: [cmp('ok')], success: [put('ok'), range('ro')], failure: [del('ok')] }))).toBe('ok');
    expect(check(txn({ compare: [cmp('secret')] }))).toBe('etcdserver: permission denied');
    expect(check(txn({ failure: [put('ro')] }))).toBe('etcdserver: permission denied');
    expect(check(txn({ success: [range('secret')] }))).toBe('etcdserver: permission denied');
    const nested = (depth: number, inner: RequestOp): RequestOp => (depth === 0 ? inner : { requestTxn: txn({ failure: [nested(depth - 1, inner)] }) });
    expect(check(txn({ success: [nested(3, put('ok'))] }))).toBe('ok');
    // etcd 3.4 does not look into nested txns: here a put to a key the user cannot write is refused.
    expect(check(txn({ success: [nested(1, put('ro'))] }))).toBe('etcdserver: permission denied');
    expect(check(txn({ success: [nested(3, range('secret'))] }))).toBe('etcdserver: permission denied');
    expect(check(txn({ success: [{ requestTxn: txn({ compare: [cmp('secret')] }) }] }))).toBe('etcdserver: permission denied');
  });
});
