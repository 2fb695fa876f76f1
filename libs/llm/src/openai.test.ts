// The client against a real HTTP server on 127.0.0.1, one fault class at a time. Waits between
// retries go through an injected sleep, so the tests observe them without spending them.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  LlmHttpError,
  LlmNetworkError,
  LlmResponseError,
  LlmTimeoutError,
  OpenAICompatibleModel,
  ResponseCache,
  type OpenAICompatibleOptions,
} from './index.js';
import { FakeChatServer } from './test-server.js';

let server: FakeChatServer;
let baseURL: string;
let sleeps: number[];
let dirs: string[] = [];

beforeEach(async () => {
  server = new FakeChatServer();
  baseURL = await server.start();
  sleeps = [];
});

afterEach(async () => {
  await server.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

function model(extra: Partial<OpenAICompatibleOptions> = {}) {
  return new OpenAICompatibleModel({
    baseURL,
    model: 'test-model',
    timeoutMs: 2000,
    retry: { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 1000 },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 1,
    ...extra,
  });
}

const hello = { messages: [{ role: 'user' as const, content: 'hello' }] };

describe('OpenAI-compatible client', () => {
  it('sends the request as the server expects and reads choices, usage and logprobs', async () => {
    server.script({ kind: 'answer', content: 'hi there', usage: [5, 2], logprobs: true });
    const m = model({ apiKey: 'sk-test', headers: { 'x-trace': '1' } });
    const r = await m.chat({ ...hello, temperature: 0.7, top_p: 0.9, max_tokens: 30, stop: ['\n'], seed: 3, logprobs: true, top_logprobs: 1 });
    expect(r.choices[0]).toMatchObject({ content: 'hi there', finishReason: 'stop' });
    expect(r.choices[0]!.logprobs).toEqual([{ token: 'hi there', logprob: -0.5, top: [{ token: 'hi there', logprob: -0.5 }] }]);
    expect(r).toMatchObject({ usage: { promptTokens: 5, completionTokens: 2 }, model: 'test-model', cached: false });
    const got = server.received[0]!;
    expect(got.body).toEqual({
      model: 'test-model',
      messages: hello.messages,
      temperature: 0.7,
      top_p: 0.9,
      max_tokens: 30,
      stop: ['\n'],
      seed: 3,
      logprobs: true,
      top_logprobs: 1,
    });
    expect(got.headers.authorization).toBe('Bearer sk-test');
    expect(got.headers['x-trace']).toBe('1');
    expect(m.usage()).toEqual({ requests: 1, cachedResponses: 0, retries: 0, promptTokens: 5, completionTokens: 2 });
  });

  it('returns n choices', async () => {
    const r = await model().chat({ ...hello, n: 3 });
    expect(r.choices.map((c) => c.content)).toEqual(['reply 0', 'reply 1', 'reply 2']);
  });

  it('sends no Authorization header without a key', async () => {
    await model().chat(hello);
    expect(server.received[0]!.headers.authorization).toBeUndefined();
  });

  it('retries 429 and 5xx with exponential backoff and jitter, then succeeds', async () => {
    server.script({ kind: 'status', status: 429 }, { kind: 'status', status: 500 }, { kind: 'status', status: 503 });
    const m = model({ random: () => 0 });
    const r = await m.chat(hello);
    expect(r.choices[0]!.content).toBe('reply');
    expect(server.received).toHaveLength(4);
    expect(sleeps).toEqual([50, 100, 200]); // base 100 * 2^k, jitter at its low end (50%)
    expect(m.usage().retries).toBe(3);
  });

  it('waits what Retry-After says (seconds or an HTTP date), capped at maxDelayMs', async () => {
    server.script(
      { kind: 'status', status: 429, headers: { 'retry-after': '0.25' } },
      { kind: 'status', status: 503, headers: { 'retry-after': new Date(Date.now() + 60_000).toUTCString() } },
    );
    await model().chat(hello);
    expect(sleeps[0]).toBe(250);
    expect(sleeps[1]).toBe(1000);
  });

  it('gives up after maxRetries with the last error and the number of tries', async () => {
    server.fallback({ kind: 'status', status: 502, body: 'bad gateway' });
    const err = await model()
      .chat(hello)
      .catch((e) => e);
    expect(err).toBeInstanceOf(LlmHttpError);
    expect(err).toMatchObject({ status: 502, attempts: 4, retryable: true });
    expect(err.message).toContain('answered HTTP 502: bad gateway');
    expect(server.received).toHaveLength(4);
  });

  it('does not retry a 400 or 401', async () => {
    server.script({ kind: 'status', status: 401, body: '{"error":"no key"}' });
    const err = await model()
      .chat(hello)
      .catch((e) => e);
    expect(err).toBeInstanceOf(LlmHttpError);
    expect(err).toMatchObject({ status: 401, attempts: 1, retryable: false });
    expect(server.received).toHaveLength(1);
  });

  it('retries a connection cut before and after the headers', async () => {
    server.script({ kind: 'cut' }, { kind: 'cut', afterHeaders: true });
    const r = await model().chat(hello);
    expect(r.choices[0]!.content).toBe('reply');
    expect(server.received).toHaveLength(3);
  });

  it('reports a refused connection as a network error', async () => {
    await server.stop();
    const err = await model({ retry: { maxRetries: 1 } })
      .chat(hello)
      .catch((e) => e);
    expect(err).toBeInstanceOf(LlmNetworkError);
    expect(err.message).toMatch(/^could not reach http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions: /);
    expect(err.attempts).toBe(2);
    server = new FakeChatServer();
    await server.start();
  });

  it('retries malformed JSON and answers that are not completions, then names the problem', async () => {
    server.script({ kind: 'garbage', body: '{"choices": [' }, { kind: 'garbage', body: '{"choices": []}' });
    expect((await model().chat(hello)).choices[0]!.content).toBe('reply');
    server.fallback({ kind: 'garbage', body: '{"choices": [{"message": {}}]}' });
    const err = await model({ retry: { maxRetries: 1 } })
      .chat(hello)
      .catch((e) => e);
    expect(err).toBeInstanceOf(LlmResponseError);
    expect(err.message).toContain('choices[0].message.content is not a string');
  });

  it('times out a server that never answers, and retries', async () => {
    server.fallback({ kind: 'hang' });
    const err = await model({ timeoutMs: 100, retry: { maxRetries: 1 } })
      .chat(hello)
      .catch((e) => e);
    expect(err).toBeInstanceOf(LlmTimeoutError);
    expect(err.attempts).toBe(2);
    expect(err.message).toContain('did not answer within 100 ms');
  });

  it('cancels a call in flight through its AbortSignal, and the server sees the connection close', async () => {
    server.fallback({ kind: 'hang' });
    const ac = new AbortController();
    const p = model({ timeoutMs: 60_000 }).chat(hello, { signal: ac.signal });
    while (server.received.length === 0) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    const err = await p.catch((e) => e);
    expect(err.name).toBe('AbortError');
    for (let i = 0; i < 100 && server.closedEarly === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(server.closedEarly).toBe(1);
  });

  it('cancels during the wait between retries', async () => {
    server.fallback({ kind: 'status', status: 503 });
    const ac = new AbortController();
    const m = model({
      sleep: (ms, signal) =>
        new Promise((_, reject) => {
          sleeps.push(ms);
          signal!.addEventListener('abort', () => reject(signal!.reason));
          ac.abort(); // the caller gives up while the client waits
        }),
    });
    const err = await m.chat(hello, { signal: ac.signal }).catch((e) => e);
    expect(err.name).toBe('AbortError');
    expect(server.received).toHaveLength(1);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    server.fallback({ kind: 'answer', delayMs: 40 });
    const m = model({ concurrency: 2 });
    await Promise.all(Array.from({ length: 7 }, (_, i) => m.chat({ messages: [{ role: 'user', content: `q${i}` }] })));
    expect(server.received).toHaveLength(7);
    expect(server.maxInFlight).toBe(2);
  });

  it('rejects malformed requests before sending anything', async () => {
    const m = model();
    await expect(m.chat({ messages: [] })).rejects.toThrow('Expected at least one message for messages but received none');
    await expect(m.chat({ messages: [{ role: 'bot' as never, content: 'x' }] })).rejects.toThrow(
      'Expected role "system", "user" or "assistant" for messages[0].role but received "bot"',
    );
    await expect(m.chat({ ...hello, n: 0 })).rejects.toThrow('Expected an integer >= 1 for n but received 0');
    expect(server.received).toHaveLength(0);
    expect(() => new OpenAICompatibleModel({ baseURL: 'localhost:8000', model: 'm' })).toThrow('Expected an http(s) URL');
  });
});

describe('response cache', () => {
  const cacheDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'rapo-llm-cache-'));
    dirs.push(d);
    return d;
  };

  it('answers a repeated request from disk, also in a new process-like client', async () => {
    const dir = cacheDir();
    const a = await model({ cache: dir }).chat({ ...hello, temperature: 0 });
    const m2 = model({ cache: dir });
    const b = await m2.chat({ ...hello, temperature: 0 });
    expect(server.received).toHaveLength(1);
    expect(b).toEqual({ ...a, cached: true });
    expect(m2.usage()).toMatchObject({ requests: 0, cachedResponses: 1 });
    // Any sampling parameter makes another request.
    await m2.chat({ ...hello, temperature: 0.5 });
    expect(server.received).toHaveLength(2);
    // No temporary files are left behind.
    const files = readdirSync(dir, { recursive: true }) as string[];
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.json'))).toHaveLength(2);
  });

  it('reports a corrupt entry, asks the model again and replaces it', async () => {
    const dir = cacheDir();
    const warnings: string[] = [];
    const cache = new ResponseCache(dir, (w) => warnings.push(w));
    await model({ cache }).chat(hello);
    const [sub] = readdirSync(dir);
    const [file] = readdirSync(join(dir, sub!));
    writeFileSync(join(dir, sub!, file!), '{"version": 1, "key": "trunc');
    const r = await model({ cache }).chat(hello);
    expect(r.cached).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/is corrupt \(.*\); ignoring it and asking the model again$/);
    expect((await model({ cache }).chat(hello)).cached).toBe(true);
    expect(server.received).toHaveLength(2);
  });
});
