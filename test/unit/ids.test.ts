import { describe, expect, it } from 'vitest';
import { clusterIdFor, memberIdFor } from '../../src/server/ids.js';

describe('member and cluster ids', () => {
  it('match the ids etcd derives for its default single member', () => {
    // etcd 3.4 started with no flags reports member 8e9e05c52164694d in cluster cdf818194e3a8c32.
    const id = memberIdFor(['http://localhost:2380'], 'etcd-cluster');
    expect(id.toString(16)).toBe('8e9e05c52164694d');
    expect(clusterIdFor([id]).toString(16)).toBe('cdf818194e3a8c32');
  });

  it('do not depend on the order of peer URLs or member ids', () => {
    const a = memberIdFor(['http://127.0.0.1:2380', 'http://127.0.0.2:2380'], 't');
    const b = memberIdFor(['http://127.0.0.2:2380', 'http://127.0.0.1:2380'], 't');
    expect(a).toBe(b);
    expect(clusterIdFor([1n, 2n, 3n])).toBe(clusterIdFor([3n, 1n, 2n]));
    expect(memberIdFor(['http://127.0.0.1:2380'], 'other')).not.toBe(memberIdFor(['http://127.0.0.1:2380'], 't'));
  });
});
