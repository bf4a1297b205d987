// --experimental-warning-apply-duration: a request whose apply takes longer than
// the threshold is logged as etcd logs it ("apply request took too long", with
// took and expected-duration as Go durations); faster ones are not.

import { afterEach, describe, expect, it } from 'vitest';
import { goDuration } from '../../src/server/apply/index.js';
import { apply, put, rig } from './apply-helpers.js';
import { TmpStores } from './mvcc-helpers.js';

const stores = new TmpStores();
afterEach(() => stores.cleanup());

describe('slow apply warning', () => {
  it('warns once per request slower than the threshold, with etcd’s message and fields', async () => {
    const warnings: { fields: Record<string, unknown>; msg: string }[] = [];
    // A fake clock: every reading advances 60 ms, so one apply "takes" 60 ms.
    let t = 0;
    const now = () => (t += 60);
    const logger = { warn: (fields: Record<string, unknown>, msg: string) => warnings.push({ fields, msg }) };
    const fast = await rig(stores, {}, { warningApplyDurationMs: 100, logger, now });
    await apply(fast, put(1, 'a'), put(2, 'b'));
    expect(warnings).toEqual([]);

    let counted = 0;
    const slow = await rig(stores, {}, { warningApplyDurationMs: 50, logger, now, onSlowApply: () => counted++ });
    await apply(slow, put(1, 'a'));
    expect(warnings).toHaveLength(1);
    expect(counted).toBe(1);
    expect(warnings[0]!.msg).toBe('apply request took too long');
    expect(warnings[0]!.fields).toMatchObject({ took: '60ms', 'expected-duration': '50ms', response: 'ok' });
    expect(String(warnings[0]!.fields.request)).toContain('put');
    expect(slow.delivered.get(1n)?.ok).toBe(true);
  });

  it('measures real time by default and stays quiet under the default 100 ms', async () => {
    const warnings: unknown[] = [];
    const r = await rig(stores, {}, { logger: { warn: (f) => warnings.push(f) } });
    await apply(r, put(1, 'a'));
    expect(warnings).toEqual([]);
  });

  it('prints durations as Go does', () => {
    expect(goDuration(100)).toBe('100ms');
    expect(goDuration(1500)).toBe('1.5s');
    expect(goDuration(123.4567891)).toBe('123.456789ms');
    expect(goDuration(0.25)).toBe('250µs');
  });
});
