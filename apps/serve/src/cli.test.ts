import { describe, expect, it } from 'vitest';
import { API_KEY_ENV, parseServeArgs, USAGE } from './cli.js';

const KEY = 'sk-rapo-cli-secret-4711';

describe('rapo-serve arguments', () => {
  it('takes a checkpoint, a port and a host, loopback by default', () => {
    expect(parseServeArgs(['runs/a/ckpt'], {})).toEqual({
      checkpoint: 'runs/a/ckpt',
      port: 8000,
      host: '127.0.0.1',
      insecure: false,
      maxPending: 16,
      templateArgs: {},
    });
    expect(parseServeArgs(['ckpt', '--port', '0', '--host', '::1', '--name', 'mara', '--max-pending', '3'], {})).toEqual({
      checkpoint: 'ckpt',
      port: 0,
      host: '::1',
      name: 'mara',
      insecure: false,
      maxPending: 3,
      templateArgs: {},
    });
    expect(parseServeArgs(['--help'], {})).toBe('help');
  });

  it('passes --template-arg variables to the chat template, JSON when they parse', () => {
    const a = parseServeArgs(['ckpt', '--template-arg', 'enable_thinking=false', '--template-arg', 'persona=Mara', '--template-arg', 'n=3'], {});
    expect(a).toMatchObject({ templateArgs: { enable_thinking: false, persona: 'Mara', n: 3 } });
    expect(() => parseServeArgs(['ckpt', '--template-arg', 'no-equals'], {})).toThrow('Expected --template-arg key=value');
    expect(() => parseServeArgs(['ckpt', '--template-arg', 'messages=[]'], {})).toThrow('--template-arg messages: rapo-serve sets that variable itself');
  });

  it('names what is wrong', () => {
    expect(() => parseServeArgs([], {})).toThrow('Expected one checkpoint directory but received none');
    expect(() => parseServeArgs(['a', 'b'], {})).toThrow('Expected one checkpoint directory but received a, b');
    expect(() => parseServeArgs(['a', '--port', 'http'], {})).toThrow('Expected a port in [0, 65535] for --port but received "http"');
    expect(() => parseServeArgs(['a', '--max-pending', '0'], {})).toThrow('Expected an integer >= 1 for --max-pending but received "0"');
    expect(() => parseServeArgs(['a', '--verbose'], {})).toThrow(/Unknown option '--verbose'/);
  });

  it('takes the API key from RAPO_SERVE_API_KEY or --api-key, the flag winning', () => {
    expect(API_KEY_ENV).toBe('RAPO_SERVE_API_KEY');
    expect(parseServeArgs(['ckpt'], { RAPO_SERVE_API_KEY: KEY })).toMatchObject({ apiKey: KEY });
    expect(parseServeArgs(['ckpt', '--api-key', KEY], {})).toMatchObject({ apiKey: KEY });
    expect(parseServeArgs(['ckpt', `--api-key=${KEY}`], { RAPO_SERVE_API_KEY: 'from-env' })).toMatchObject({ apiKey: KEY });
    expect(parseServeArgs(['ckpt'], {})).not.toHaveProperty('apiKey');
  });

  it('refuses an empty or unsendable key without repeating it', () => {
    expect(() => parseServeArgs(['ckpt'], { RAPO_SERVE_API_KEY: '' })).toThrow(
      'Expected a non-empty API key for RAPO_SERVE_API_KEY but received an empty string',
    );
    expect(() => parseServeArgs(['ckpt', '--api-key', ''], {})).toThrow('Expected a non-empty API key for --api-key');
    let message = '';
    try {
      parseServeArgs(['ckpt', '--api-key', 'sk secret with spaces'], {});
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('printable ASCII characters without spaces for --api-key');
    expect(message).not.toContain('secret');
  });

  it('refuses a non-loopback host without a key unless --insecure', () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.20', 'example.org']) {
      expect(() => parseServeArgs(['ckpt', '--host', host], {})).toThrow(
        `Refusing to serve on ${host}: ${host} is not a loopback address and no API key is set, so anyone who can reach this machine could use the model. ` +
          'Set RAPO_SERVE_API_KEY=<key> in the environment (or give --api-key <key>, which other users of this machine can see in ps), ' +
          'or pass --insecure if it really should be open to everyone',
      );
      expect(parseServeArgs(['ckpt', '--host', host, '--insecure'], {})).toMatchObject({ host, insecure: true });
      expect(parseServeArgs(['ckpt', '--host', host], { RAPO_SERVE_API_KEY: KEY })).toMatchObject({ host, apiKey: KEY });
      expect(parseServeArgs(['ckpt', '--host', host, '--api-key', KEY], {})).toMatchObject({ host, apiKey: KEY });
    }
    for (const host of ['127.0.0.1', '127.8.9.10', 'localhost', '::1']) {
      expect(parseServeArgs(['ckpt', '--host', host], {})).toMatchObject({ host, insecure: false });
    }
  });

  it('takes --cors with an origin, or bare for any origin', () => {
    expect(parseServeArgs(['ckpt'], {})).not.toHaveProperty('cors');
    expect(parseServeArgs(['ckpt', '--cors'], {})).toMatchObject({ checkpoint: 'ckpt', cors: '*' });
    expect(parseServeArgs(['--cors', 'ckpt'], {})).toMatchObject({ checkpoint: 'ckpt', cors: '*' });
    expect(parseServeArgs(['ckpt', '--cors', '--port', '0'], {})).toMatchObject({ port: 0, cors: '*' });
    expect(parseServeArgs(['ckpt', '--cors', '*'], {})).toMatchObject({ cors: '*' });
    expect(parseServeArgs(['ckpt', '--cors', 'http://localhost:3000'], {})).toMatchObject({ checkpoint: 'ckpt', cors: 'http://localhost:3000' });
    expect(parseServeArgs(['--cors=https://app.example.org', 'ckpt'], {})).toMatchObject({ checkpoint: 'ckpt', cors: 'https://app.example.org' });
    expect(() => parseServeArgs(['ckpt', '--cors', 'https://app.example.org/'], {})).toThrow(
      'Expected "*" or an origin such as https://app.example.org or http://localhost:3000 (no path, no trailing slash) for --cors but received "https://app.example.org/"',
    );
    expect(() => parseServeArgs(['ckpt', '--cors=app.example.org'], {})).toThrow(/for --cors but received "app.example.org"/);
    // After --, everything is a positional.
    expect(() => parseServeArgs(['ckpt', '--', '--cors'], {})).toThrow('Expected one checkpoint directory but received ckpt, --cors');
  });

  it('documents every option in its usage', () => {
    for (const option of ['--port', '--host', '--name', '--api-key', '--insecure', '--max-pending', '--cors', 'RAPO_SERVE_API_KEY'])
      expect(USAGE).toContain(option);
  });
});
