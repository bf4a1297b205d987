// The dashboard's hash routes and where its page sends API calls.

import { describe, expect, it } from 'vitest';
import { apiBaseOf, pageOf } from '../../../ui/src/lib/route.js';

describe('page routes', () => {
  it('maps hashes to pages, the cluster page by default', () => {
    expect(pageOf('')).toBe('cluster');
    expect(pageOf('#/keys')).toBe('keys');
    expect(pageOf('#watch')).toBe('watch');
    expect(pageOf('#/leases/42')).toBe('leases');
    expect(pageOf('#/ops?x=1')).toBe('ops');
    expect(pageOf('#/nope')).toBe('cluster');
  });

  it('calls its own origin unless the metrics port named a client URL', () => {
    expect(apiBaseOf('')).toBe('');
    expect(apiBaseOf(null)).toBe('');
    expect(apiBaseOf('http://10.0.0.1:2379/')).toBe('http://10.0.0.1:2379');
    expect(apiBaseOf(' , https://a:2379,https://b:2379')).toBe('https://a:2379');
  });
});
