import { describe, expect, it } from 'vitest';
import { compareVersions } from '../src/manifest';

describe('compareVersions', () => {
  it.each([
    ['1.0.0', '1.1.0'],
    ['1.9.2', '1.10.0'],
    ['2024.2', '2024.11'],
    ['1.0', '1.0.1'],
    ['1.0.0-rc1', '1.0.0-rc2'],
    ['0.9', '1'],
  ])('%s is older than %s', (older, newer) => {
    expect(compareVersions(older, newer)).toBeLessThan(0);
    expect(compareVersions(newer, older)).toBeGreaterThan(0);
  });

  it('a version equals itself', () => {
    expect(compareVersions('1.2.3', '1.2.3')).toBe(0);
  });
});
