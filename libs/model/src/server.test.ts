// A checkpoint written and read back, then served: the official `openai` npm client talks to
// rapo-serve's server as it would to vLLM, and bad requests get OpenAI-style errors while the
// server keeps serving. The server wants an API key, refuses to be exposed without one, and
// bounds the requests it holds.
import { createChatModel } from '@rapo/llm';
import { mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BpeTokenizer,
  CHAT_SPECIAL_TOKENS,
  CheckpointError,
  checkApiKey,
  exposureProblem,
  initBackend,
  isLoopbackHost,
  LlamaModel,
  loadCheckpoint,
  LocalChatModel,
  saveCheckpoint,
  serve,
  tf,
  type RunningServer,
} from './index.js';
import { SMALL_SHAPE, saveTestCheckpoint } from './test-checkpoint.js';

const dir = mkdtempSync(join(tmpdir(), 'rapo-ckpt-'));
const ckpt = join(dir, 'tiny');
let server: RunningServer;
let client: OpenAI;
let original: LlamaModel;
const KEY = 'sk-rapo-test-7f3a9c21e5b04d68';
const logLines: string[] = [];

const corpus = Array.from({ length: 200 }, (_, i) => `User ${i % 7} asks about the harbour. Mara says: aye, the tide is ${i % 2 ? 'high' : 'low'} today.`);

beforeAll(async () => {
  await initBackend();
  ({ model: original } = saveTestCheckpoint(ckpt, {
    corpus,
    vocabSize: 400,
    shape: SMALL_SHAPE,
    maxPositions: 256,
    seed: 3,
    maxNewTokens: 16,
    metadata: { step: '12' },
  }));
  server = await serve(LocalChatModel.load(ckpt), { port: 0, modelName: 'tiny', apiKey: KEY, log: (l) => logLines.push(l) });
  client = new OpenAI({ baseURL: server.url, apiKey: KEY, maxRetries: 0 });
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('checkpoints', () => {
  it('round-trips weights, tokenizer, template and metadata', () => {
    const c = loadCheckpoint(ckpt);
    expect(c.metadata).toEqual({ step: '12' });
    expect(c.generation.max_new_tokens).toBe(16);
    expect(c.chatTemplate).toContain('<|im_start|>');
    const ids = tf.tensor2d([[5, 6, 7]], [1, 3], 'int32');
    const ones = tf.ones([1, 3], 'int32') as tf.Tensor2D;
    expect(c.model.forward(ids, ones).logits.dataSync()).toEqual(original.forward(ids, ones).logits.dataSync());
    c.model.dispose();
  });

  it('names the first problem of a broken checkpoint', () => {
    const broken = join(dir, 'broken');
    const t = BpeTokenizer.train(corpus, { vocabSize: 300, specialTokens: [...CHAT_SPECIAL_TOKENS] });
    saveCheckpoint(broken, original, t);
    expect(() => loadCheckpoint(broken)).toThrow(CheckpointError);
    expect(() => loadCheckpoint(broken)).toThrow(
      new RegExp(`tokenizer\\.json has ${t.vocabSize} tokens but config\\.json says vocab_size ${original.config.vocab_size}`),
    );
    unlinkSync(join(broken, 'model.safetensors'));
    expect(() => loadCheckpoint(broken)).toThrow(`checkpoint ${broken}: missing model.safetensors`);
    writeFileSync(join(broken, 'config.json'), '{"vocab_size": 0}');
    expect(() => loadCheckpoint(broken)).toThrow(`checkpoint ${broken}: config.json: expected an integer >= 1 for vocab_size but received 0`);
    expect(() => loadCheckpoint(join(dir, 'nothing'))).toThrow('no such directory');
  });

  it('is what a local: model spec resolves to', async () => {
    const m = createChatModel(`local:${ckpt}`);
    const r = await m.chat({ messages: [{ role: 'user', content: 'hello' }], max_tokens: 4, temperature: 0 });
    expect(r.choices).toHaveLength(1);
    expect(r.usage.completionTokens).toBeGreaterThan(0);
  });
});

describe('rapo-serve with the official openai client', () => {
  it('lists the model', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['tiny']);
  });

  it('answers chat completions with n, seed and logprobs', async () => {
    const req = {
      model: 'tiny',
      messages: [{ role: 'user' as const, content: 'Where is the harbour?' }],
      max_tokens: 6,
      temperature: 0.9,
      n: 2,
      seed: 7,
      logprobs: true,
      top_logprobs: 2,
    };
    const r = await client.chat.completions.create(req);
    expect(r.object).toBe('chat.completion');
    expect(r.choices).toHaveLength(2);
    for (const c of r.choices) {
      expect(typeof c.message.content).toBe('string');
      expect(['stop', 'length']).toContain(c.finish_reason);
      expect(c.logprobs!.content!.length).toBeGreaterThan(0);
      for (const t of c.logprobs!.content!) {
        expect(t.logprob).toBeLessThanOrEqual(0);
        expect(t.top_logprobs).toHaveLength(2);
      }
    }
    expect(r.usage!.total_tokens).toBe(r.usage!.prompt_tokens + r.usage!.completion_tokens);
    const again = await client.chat.completions.create(req);
    expect(again.choices.map((c) => c.message.content)).toEqual(r.choices.map((c) => c.message.content));
  });

  it('answers legacy completions', async () => {
    const r = await client.completions.create({ model: 'tiny', prompt: 'The tide is', max_tokens: 5, temperature: 0, logprobs: 1 });
    expect(r.object).toBe('text_completion');
    expect(r.choices[0]!.logprobs!.tokens!.length).toBe(r.usage!.completion_tokens);
  });

  it('gives OpenAI-style 4xx errors and keeps serving', async () => {
    const bad = [
      () => client.chat.completions.create({ model: 'tiny', messages: [], max_tokens: 3 }),
      () => client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'x' }], temperature: 5 }),
      () =>
        client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'x' }], stream: false, stream_options: { include_usage: true } }),
      () => client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'x '.repeat(2000) }] }),
    ];
    const messages = [];
    for (const call of bad) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      messages.push((err as InstanceType<typeof OpenAI.BadRequestError>).message);
    }
    expect(messages[0]).toContain('Expected a non-empty array for messages');
    expect(messages[1]).toContain('Expected a number in [0, 2] for temperature but received 5');
    expect(messages[2]).toContain('stream_options is only allowed together with stream: true');
    expect(messages[3]).toMatch(/The prompt has \d+ tokens; this model reads at most 255/);
    const missing = await client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    const raw = await fetch(`${server.url}/chat/completions`, {
      method: 'POST',
      body: '{not json',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    expect((await fetch(`${server.url}/nothing`, { headers: { authorization: `Bearer ${KEY}` } })).status).toBe(404);
    expect((await fetch(`${server.url}/models`, { method: 'DELETE', headers: { authorization: `Bearer ${KEY}` } })).status).toBe(405);
    expect((await client.models.list()).data).toHaveLength(1);
  });
});

interface Route {
  method: string;
  path: string;
  body?: Record<string, unknown>;
  ok: number;
}

/** Every route, with a valid body and the status it gets with the right key. */
const ROUTES: Route[] = [
  { method: 'GET', path: '/models', ok: 200 },
  { method: 'POST', path: '/chat/completions', body: { model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }, ok: 200 },
  { method: 'POST', path: '/completions', body: { model: 'tiny', prompt: 'The tide', max_tokens: 2 }, ok: 200 },
  { method: 'GET', path: '/nothing', ok: 404 },
  { method: 'DELETE', path: '/models', ok: 405 },
];

async function call(url: string, route: Route, authorization?: string) {
  const r = await fetch(`${url}${route.path}`, {
    method: route.method,
    headers: { 'content-type': 'application/json', ...(authorization !== undefined ? { authorization } : {}) },
    ...(route.body ? { body: JSON.stringify(route.body) } : {}),
  });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

describe('rapo-serve with an API key', () => {
  it('answers 401 in OpenAI shape on every route unless the right bearer token comes', async () => {
    const wrongSameLength = KEY.slice(0, -1) + (KEY.endsWith('8') ? '9' : '8');
    const refused = [undefined, `Bearer ${wrongSameLength}`, 'Bearer sk-short', `Bearer ${KEY}x`, `Basic ${KEY}`, `Bearer`, KEY];
    for (const route of ROUTES) {
      for (const authorization of refused) {
        const r = await call(server.url, route, authorization);
        expect(r.status, `${route.method} ${route.path} with ${authorization}`).toBe(401);
        expect(r.headers.get('www-authenticate')).toBe('Bearer realm="rapo-serve"');
        const body = JSON.parse(r.text) as { error: Record<string, unknown> };
        expect(body).toEqual({
          error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
        });
        expect(body.error.message).toMatch(
          authorization === undefined || !/^Bearer \S/.test(authorization) ? /^Missing API key/ : /^Incorrect API key provided$/,
        );
        // Neither the server's key nor what the client sent is echoed.
        expect(r.text).not.toContain(KEY.slice(3));
        expect(r.text).not.toContain('sk-short');
      }
      for (const authorization of [`Bearer ${KEY}`, `bearer   ${KEY} `]) {
        const r = await call(server.url, route, authorization);
        expect(r.status, `${route.method} ${route.path}`).toBe(route.ok);
      }
    }
  });

  it('turns the official client away without its apiKey', async () => {
    const stranger = new OpenAI({ baseURL: server.url, apiKey: 'sk-not-the-key', maxRetries: 0 });
    await expect(stranger.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    await expect(stranger.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'x' }] })).rejects.toThrow(/Incorrect API key provided/);
    expect((await client.models.list()).data).toHaveLength(1);
  });

  it('never logs the key, not even one sent in the query string', async () => {
    await fetch(`${server.url}/models?api_key=${KEY}`, { headers: { authorization: `Bearer ${KEY}` } });
    await fetch(`${server.url}/models?api_key=${KEY}`, { headers: { authorization: `Bearer ${KEY}0` } });
    expect(logLines.some((l) => /^GET \/v1\/models 401 \d+ ms$/.test(l))).toBe(true);
    expect(logLines.some((l) => /^GET \/v1\/models 200 \d+ ms$/.test(l))).toBe(true);
    for (const line of logLines) expect(line).not.toContain(KEY.slice(3));
  });

  it('checks the key it is given, without repeating it', async () => {
    const model = LocalChatModel.load(ckpt);
    await expect(serve(model, { port: 0, apiKey: '' })).rejects.toThrow('Expected a non-empty API key for the apiKey option but received an empty string');
    const err = await serve(model, { port: 0, apiKey: 'sk with\nnewline' }).catch((e: Error) => e);
    expect((err as Error).message).toBe('Expected an API key of printable ASCII characters without spaces for the apiKey option (clients send it in a header)');
    expect(() => checkApiKey('sk-\u00e9t\u00e9', '--api-key')).toThrow('for --api-key');
    expect(() => checkApiKey(KEY, '--api-key')).not.toThrow();
    await expect(serve(model, { port: 0, maxPending: 0 })).rejects.toThrow('Expected an integer >= 1 for maxPending but received 0');
  });
});

describe('exposure', () => {
  it('knows loopback addresses in their spellings', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '127.255.255.255', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST', 'localhost.']) {
      expect(isLoopbackHost(h), h).toBe(true);
    }
    for (const h of [
      '0.0.0.0',
      '::',
      '128.0.0.1',
      '10.0.0.1',
      '192.168.0.2',
      '::ffff:10.0.0.1',
      'fe80::1',
      'example.org',
      'localhost.example.org',
      '',
      '[::1]',
    ]) {
      expect(isLoopbackHost(h), h).toBe(false);
    }
  });

  it('calls a non-loopback host without a key a problem unless insecure', () => {
    expect(exposureProblem({ host: '0.0.0.0' })).toBe(
      '0.0.0.0 is not a loopback address and no API key is set, so anyone who can reach this machine could use the model',
    );
    expect(exposureProblem({ host: '0.0.0.0', insecure: true })).toBeUndefined();
    expect(exposureProblem({ host: '0.0.0.0', apiKey: KEY })).toBeUndefined();
    expect(exposureProblem({ host: '127.0.0.1' })).toBeUndefined();
    expect(exposureProblem({ host: 'localhost' })).toBeUndefined();
  });

  it('serve() refuses 0.0.0.0 without a key, and starts there with one or with insecure', async () => {
    const model = LocalChatModel.load(ckpt);
    await expect(serve(model, { port: 0, host: '0.0.0.0' })).rejects.toThrow(
      'Refusing to serve on 0.0.0.0: 0.0.0.0 is not a loopback address and no API key is set, so anyone who can reach this machine could use the model. ' +
        'Give the apiKey option, or insecure: true if it really should be open to everyone',
    );
    const lines: string[] = [];
    const open = await serve(model, { port: 0, host: '0.0.0.0', insecure: true, log: (l) => lines.push(l) });
    try {
      expect(lines).toEqual(['warning: serving on 0.0.0.0 without an API key (insecure): anyone who can reach it can use the model']);
      const port = (open.server.address() as { port: number }).port;
      expect((await fetch(`http://127.0.0.1:${port}/v1/models`)).status).toBe(200);
    } finally {
      await open.close();
    }
    const keyed = await serve(model, { port: 0, host: '0.0.0.0', apiKey: KEY });
    try {
      const port = (keyed.server.address() as { port: number }).port;
      expect((await fetch(`http://127.0.0.1:${port}/v1/models`)).status).toBe(401);
      expect((await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } })).status).toBe(200);
    } finally {
      await keyed.close();
    }
  });
});

describe('rapo-serve under load', () => {
  it('holds at most maxPending completion requests and answers the next 429 with Retry-After', async () => {
    const busy = await serve(LocalChatModel.load(ckpt), { port: 0, modelName: 'tiny', maxPending: 1 });
    try {
      // A request whose body is still arriving holds the one slot. The server's own listener runs
      // first, so once this one fires the slot is taken.
      const entered = new Promise((resolve) => busy.server.once('request', resolve));
      const body = JSON.stringify(ROUTES[1]!.body);
      const slow = request(`${busy.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      });
      const slowDone = new Promise<{ status: number; text: string }>((resolve, reject) => {
        slow.on('response', (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, text }));
        });
        slow.on('error', reject);
      });
      slow.write(body.slice(0, 10));
      await entered;

      for (const route of [ROUTES[1]!, ROUTES[2]!]) {
        const r = await call(busy.url, route);
        expect(r.status).toBe(429);
        expect(r.headers.get('retry-after')).toBe('1');
        expect(JSON.parse(r.text)).toEqual({
          error: {
            message: 'The server is busy: 1 completion requests are already running or queued; retry shortly',
            type: 'requests',
            param: null,
            code: 'rate_limit_exceeded',
          },
        });
      }
      // Listing models takes no slot.
      expect((await call(busy.url, ROUTES[0]!)).status).toBe(200);

      slow.end(body.slice(10));
      const done = await slowDone;
      expect(done.status).toBe(200);
      expect(JSON.parse(done.text).object).toBe('chat.completion');
      // The slot is free again, errors included: a bad request gives its slot back too.
      expect((await call(busy.url, { ...ROUTES[1]!, body: { messages: [] } })).status).toBe(400);
      expect((await call(busy.url, ROUTES[1]!)).status).toBe(200);
      expect((await call(busy.url, ROUTES[2]!)).status).toBe(200);
    } finally {
      await busy.close();
    }
  });
});
