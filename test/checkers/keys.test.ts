import { describe, expect, it } from 'vitest';
import { compareKeys, inKeyRange, keysInRange } from './keys.js';

describe('keys: etcd byte order on UTF-8 keys', () => {
  it('orders by UTF-8 bytes: U+E000 sorts before a character above U+FFFF (JavaScript < says otherwise)', () => {
    const keys = ['u\u{1D11E}', 'u\uE000', 'u\u00e9', 'u', 'ua'];
    expect([...keys].sort(compareKeys)).toEqual(['u', 'ua', 'u\u00e9', 'u\uE000', 'u\u{1D11E}']);
    expect('u\u{1D11E}' < 'u\uE000').toBe(true);
    expect(compareKeys('u\u{1D11E}', 'u\uE000')).toBeGreaterThan(0);
    // The same as comparing the encoded bytes.
    expect(Math.sign(compareKeys('u\u{1D11E}', 'u\uE000'))).toBe(Buffer.compare(Buffer.from('u\u{1D11E}'), Buffer.from('u\uE000')));
  });

  it('ranges: one key, [key, end), every key from key on', () => {
    expect(inKeyRange('a', 'a', undefined)).toBe(true);
    expect(inKeyRange('ab', 'a', undefined)).toBe(false);
    expect(inKeyRange('b', 'a', 'c')).toBe(true);
    expect(inKeyRange('c', 'a', 'c')).toBe(false);
    expect(inKeyRange('zzz', 'b', '\0')).toBe(true);
    expect(inKeyRange('a', 'b', '\0')).toBe(false);
    expect(keysInRange(['c', 'a', 'b', 'd'], 'b', '\0')).toEqual(['b', 'c', 'd']);
    expect(keysInRange(['c', 'a'], 'b', 'a')).toEqual([]);
  });
});
