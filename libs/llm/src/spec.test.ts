import { afterEach, describe, expect, it } from 'vitest';
import {
  backoffMs,
  canonicalJson,
  createChatModel,
  Limiter,
  OpenAICompatibleModel,
  parseModelSpec,
  parseRetryAfter,
  registerLocalModelFactory,
  requestKey,
  type ChatModel,
} from './index.js';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe('model specs', () => {
  it('parses openai and local specs', () => {
    expect(parseModelSpec('openai:http://localhost:8000/v1#Qwen/Qwen3-8B')).toEqual({
      kind: 'openai',
      baseURL: 'http://localhost:8000/v1',
      model: 'Qwen/Qwen3-8B',
    });
    expect(parseModelSpec('openai:https://api.example.com/v1#gpt#4')).toEqual({
      kind: 'openai',
      baseURL: 'https://api.example.com/v1#gpt',
      model: '4',
    });
    expect(parseModelSpec('local:runs/a/ckpt')).toEqual({ kind: 'local', dir: 'runs/a/ckpt' });
  });

  it.each(['gpt-4', 'openai:localhost#m', 'openai:http://x/v1', 'openai:http://x/v1#', 'local:', ''])('rejects %j', (spec) => {
    expect(() => parseModelSpec(spec)).toThrow(/^Expected a model spec "openai:<baseURL>#<model>" or "local:<checkpoint-dir>" but received/);
  });

  it('takes the API key from OPENAI_API_KEY or the named variable', () => {
    process.env.OPENAI_API_KEY = 'sk-default';
    process.env.MY_KEY = 'sk-mine';
    const a = createChatModel('openai:http://127.0.0.1:9/v1#m');
    expect(a).toBeInstanceOf(OpenAICompatibleModel);
    expect(a.name).toBe('openai:http://127.0.0.1:9/v1#m');
    expect(() => createChatModel('openai:http://127.0.0.1:9/v1#m', { apiKeyEnv: 'MISSING_KEY' })).toThrow(
      'Expected the API key in the environment variable MISSING_KEY (from --api-key-env) but it is not set',
    );
  });

  it('needs a registered backend for local checkpoints', () => {
    expect(() => createChatModel('local:/tmp/x')).toThrow(/no backend for local checkpoints is registered/);
    const fake: ChatModel = {
      name: 'local:/tmp/x',
      chat: async () => ({ choices: [], usage: { promptTokens: 0, completionTokens: 0 }, model: 'x', cached: false }),
      usage: () => ({ requests: 0, cachedResponses: 0, retries: 0, promptTokens: 0, completionTokens: 0 }),
    };
    registerLocalModelFactory((dir) => ({ ...fake, name: `local:${dir}` }));
    expect(createChatModel('local:/tmp/x').name).toBe('local:/tmp/x');
  });
});

describe('retry and cache helpers', () => {
  it('backs off exponentially with jitter, capped', () => {
    const p = { maxRetries: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([0, 1, 2, 3, 4].map((k) => backoffMs(p, k, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffMs(p, 1, () => 0)).toBe(100);
  });

  it('parses Retry-After as seconds or a date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter('0.5')).toBe(500);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('keys requests by content, not by key order', () => {
    expect(canonicalJson({ b: 1, a: [1, { d: undefined, c: 2 }] })).toBe('{"a":[1,{"c":2}],"b":1}');
    expect(requestKey({ a: 1, b: 2 })).toBe(requestKey({ b: 2, a: 1 }));
    expect(requestKey({ a: 1 })).not.toBe(requestKey({ a: 2 }));
  });

  it('limits concurrency, hands slots over in order, and lets waiters abort', async () => {
    const l = new Limiter(1);
    const order: number[] = [];
    const r1 = await l.acquire();
    const p2 = l.acquire().then((r) => (order.push(2), r));
    const ac = new AbortController();
    const p3 = l.acquire(ac.signal);
    const p4 = l.acquire().then((r) => (order.push(4), r));
    ac.abort(new Error('gone'));
    await expect(p3).rejects.toThrow('gone');
    r1();
    (await p2)();
    (await p4)();
    expect(order).toEqual([2, 4]);
    expect(l.active).toBe(0);
    expect(() => new Limiter(0)).toThrow(RangeError);
  });
});
