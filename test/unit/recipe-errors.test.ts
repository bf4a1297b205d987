// Lock and Election answer every failure as etcd's in-process client makes
// grpc-go answer it: status Unknown with the server's text; a cancelled call
// is Cancelled. Only errors no layer recognised are worth a log line.

import { describe, expect, it } from 'vitest';
import { MvccError } from '../../src/mvcc/errors.js';
import { recipeError } from '../../src/server/api/recipe-errors.js';
import { Code, ErrLeaseNotFound } from '../../src/server/errors.js';

describe('recipeError', () => {
  it('keeps the text of a known error and answers Unknown', () => {
    const e = recipeError(ErrLeaseNotFound());
    expect([e.code, e.message, e.unexpected]).toEqual([Code.UNKNOWN, 'etcdserver: requested lease not found', false]);
    const m = recipeError(new MvccError('compacted', 'mvcc: required revision has been compacted'));
    expect([m.code, m.message, m.unexpected]).toEqual([Code.UNKNOWN, 'etcdserver: mvcc: required revision has been compacted', false]);
  });

  it('marks an error nobody recognised as unexpected', () => {
    const e = recipeError(new TypeError('x is undefined'));
    expect([e.code, e.message, e.unexpected]).toEqual([Code.UNKNOWN, 'x is undefined', true]);
  });

  it('a call that went away is Cancelled, whatever failed meanwhile', () => {
    const ctl = new AbortController();
    ctl.abort();
    const e = recipeError(new Error('etcdserver: request timed out'), ctl.signal);
    expect([e.code, e.message]).toEqual([Code.CANCELLED, 'context canceled']);
  });
});
