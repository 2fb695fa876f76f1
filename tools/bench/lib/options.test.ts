import { afterEach, describe, expect, it, vi } from 'vitest';
import { benchOptions } from './options.js';

describe('benchOptions', () => {
  afterEach(() => vi.restoreAllMocks());

  it("gives the shared options with their defaults and the benchmark's own", () => {
    expect(benchOptions('usage', { reps: { type: 'string' } }, ['--reps', '3'])).toEqual({ quick: false, out: 'bench/results', help: false, reps: '3' });
    expect(benchOptions('usage', {}, ['--quick', '--out', '/tmp/x'])).toMatchObject({ quick: true, out: '/tmp/x' });
  });

  it('prints the usage and exits 0 on --help, 2 with the mistake on a bad option', () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation((code) => {
      throw new Error(`exit ${code}`);
    });
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(() => benchOptions('Usage: bench', {}, ['--help'])).toThrow('exit 0');
    expect(log).toHaveBeenCalledWith('Usage: bench');
    expect(() => benchOptions('Usage: bench', {}, ['--reps', '3'])).toThrow('exit 2');
    expect(error.mock.calls[0]![0]).toMatch(/Unknown option '--reps'[\s\S]*Usage: bench/);
    expect(exit).toHaveBeenCalledTimes(2);
  });
});
