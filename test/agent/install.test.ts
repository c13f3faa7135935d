import { describe, expect, it } from 'vitest';
import { installedPackage, parsePackageList } from '../../src/agent/rpc.js';

describe('install confirmation', () => {
  it('parses pm list packages', () => {
    expect([...parsePackageList('package:com.a\r\npackage:com.b\r\n\r\n')]).toEqual(['com.a', 'com.b']);
  });

  it('requires the expected package afterwards, or exactly one new one', () => {
    const before = new Set(['com.a']);
    expect(installedPackage(before, new Set(['com.a', 'com.b']), 'com.b')).toBe('com.b');
    expect(installedPackage(before, new Set(['com.a']), 'com.a')).toBe('com.a'); // an update
    expect(() => installedPackage(before, new Set(['com.a']), 'com.b')).toThrow(/not installed/);
    expect(installedPackage(before, new Set(['com.a', 'com.c']), undefined)).toBe('com.c');
    expect(() => installedPackage(before, new Set(['com.a']), undefined)).toThrow(/no new package/);
  });
});
