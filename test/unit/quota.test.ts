// BackendQuota measures the backend (readdir + stat of the LevelDB files) only as
// often as the distance to the quota needs, and answers a request that fits
// without a promise (issue #12).
import { describe, expect, it, vi } from 'vitest';
import { BackendQuota } from '../../src/server/quota.js';

function rig(quotaBytes: number, start: number) {
  let now = 0;
  let size = start;
  const sizeFn = vi.fn(async () => size);
  const raise = vi.fn(async () => {});
  const q = new BackendQuota({ quotaBytes, size: sizeFn, raiseNoSpace: raise, now: () => now });
  return {
    q,
    sizeFn,
    raise,
    advance: (ms: number) => (now += ms),
    setSize: (s: number) => (size = s),
  };
}

describe('BackendQuota', () => {
  it('far from the quota: measured at most once a second, and a request that fits gets no promise', async () => {
    const r = rig(1_000_000, 1000);
    await r.q.check(300); // first: measured
    expect(r.sizeFn).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 9; i++) {
      r.advance(100);
      expect(r.q.check(300)).toBeUndefined();
    }
    expect(r.sizeFn).toHaveBeenCalledTimes(1);
    r.advance(100); // 1 s since the measurement
    await r.q.check(300);
    expect(r.sizeFn).toHaveBeenCalledTimes(2);
  });

  it('near the quota: measured every 100 ms, as before', async () => {
    const r = rig(10_000, 8_000);
    await r.q.check(300);
    expect(r.sizeFn).toHaveBeenCalledTimes(1);
    r.advance(50);
    expect(r.q.check(300)).toBeUndefined();
    expect(r.sizeFn).toHaveBeenCalledTimes(1);
    r.advance(60);
    await r.q.check(300);
    expect(r.sizeFn).toHaveBeenCalledTimes(2);
  });

  it('what was admitted since the last measurement counts towards "near": writes bring the next measurement forward', async () => {
    const r = rig(100_000, 10_000);
    await r.q.check(1000);
    // 10,000 measured + admitted costs: past 75,000 the size is measured again after 100 ms.
    for (let i = 0; i < 64; i++) expect(r.q.check(1000)).toBeUndefined();
    r.advance(150);
    r.setSize(99_500); // the files really grew
    const pending = r.q.check(1000);
    expect(pending).toBeInstanceOf(Promise);
    await expect(pending).rejects.toMatchObject({ code: 8, message: 'etcdserver: mvcc: database space exceeded' });
    expect(r.raise).toHaveBeenCalledTimes(1);
    expect(r.sizeFn).toHaveBeenCalledTimes(2);
  });

  it('a request that does not fit by the known size is refused without measuring again', async () => {
    const r = rig(1000, 900);
    await expect(r.q.check(200)).rejects.toMatchObject({ code: 8 });
    await expect(r.q.check(200)).rejects.toMatchObject({ code: 8 });
    expect(r.sizeFn).toHaveBeenCalledTimes(1);
    expect(r.raise).toHaveBeenCalledTimes(2);
    expect(r.q.check(0)).toBeUndefined(); // costs nothing: always passes
  });

  it('concurrent checks share one measurement', async () => {
    const r = rig(1_000_000, 1000);
    await Promise.all([r.q.check(1), r.q.check(1), r.q.check(1)]);
    expect(r.sizeFn).toHaveBeenCalledTimes(1);
  });
});
