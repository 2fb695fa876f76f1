import { describe, expect, it } from 'vitest';
import { parseServeArgs } from './cli.js';

describe('rapo-serve arguments', () => {
  it('takes a checkpoint, a port and a host, loopback by default', () => {
    expect(parseServeArgs(['runs/a/ckpt'])).toEqual({ checkpoint: 'runs/a/ckpt', port: 8000, host: '127.0.0.1' });
    expect(parseServeArgs(['ckpt', '--port', '0', '--host', '0.0.0.0', '--name', 'mara'])).toEqual({
      checkpoint: 'ckpt',
      port: 0,
      host: '0.0.0.0',
      name: 'mara',
    });
    expect(parseServeArgs(['--help'])).toBe('help');
  });

  it('names what is wrong', () => {
    expect(() => parseServeArgs([])).toThrow('Expected one checkpoint directory but received none');
    expect(() => parseServeArgs(['a', 'b'])).toThrow('Expected one checkpoint directory but received a, b');
    expect(() => parseServeArgs(['a', '--port', 'http'])).toThrow('Expected a port in [0, 65535] for --port but received "http"');
    expect(() => parseServeArgs(['a', '--verbose'])).toThrow(/Unknown option '--verbose'/);
  });
});
