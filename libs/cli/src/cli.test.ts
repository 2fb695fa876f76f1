// Usage errors: parseArgs' complaints become UsageErrors, parseCommandLine prints them with the
// usage and answers exit code 2, and other errors pass through untouched.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseCommandLine, parseOptions, USAGE_EXIT, UsageError } from './index.js';

afterEach(() => vi.restoreAllMocks());

describe('parseOptions', () => {
  it('parses like node:util parseArgs', () => {
    const r = parseOptions({ args: ['--out', 'x', 'pos'], options: { out: { type: 'string' } }, allowPositionals: true });
    expect(r.values.out).toBe('x');
    expect(r.positionals).toEqual(['pos']);
  });

  it('turns an unknown option or a missing value into a UsageError', () => {
    expect(() => parseOptions({ args: ['--nope'], options: {} })).toThrow(UsageError);
    expect(() => parseOptions({ args: ['--out'], options: { out: { type: 'string' } } })).toThrow(/--out/);
  });
});

describe('parseCommandLine', () => {
  it('returns the arguments when parsing succeeds', () => {
    expect(parseCommandLine('rapo-x', 'Usage: rapo-x', () => ({ a: 1 }))).toEqual({ a: 1 });
  });

  it('prints a usage error with the usage and answers exit code 2', () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    const got = parseCommandLine('rapo-x', 'Usage: rapo-x <dir>', () => {
      throw new UsageError('give a folder');
    });
    expect(got).toBe(USAGE_EXIT);
    expect(USAGE_EXIT).toBe(2);
    expect(err).toHaveBeenCalledWith('rapo-x: give a folder\n\nUsage: rapo-x <dir>');
  });

  it('lets any other error through', () => {
    expect(() =>
      parseCommandLine('rapo-x', '', () => {
        throw new RangeError('boom');
      }),
    ).toThrow(RangeError);
  });
});
