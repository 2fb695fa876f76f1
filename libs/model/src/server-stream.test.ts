// rapo-serve as chat front ends and agent frameworks use it, driven by the official `openai` npm
// client: streamed chat and legacy completions (server-sent events) that join to the answer a
// non-streamed request gets, /v1/models/{id}, assistant turns with content null and tool_calls,
// CORS preflights with and without --cors, prompts too long for the context, and a client that
// leaves mid-stream giving its place back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, LocalChatModel, serve, type Completion, type LocalCallOptions, type RunningServer } from './index.js';
import { SMALL_SHAPE, saveTestCheckpoint } from './test-checkpoint.js';

const dir = mkdtempSync(join(tmpdir(), 'rapo-sse-'));
const KEY = 'sk-rapo-stream-test-5c1e9a';
const ORIGIN = 'https://app.example.org';
const corpus = Array.from({ length: 200 }, (_, i) => `User ${i % 7} asks about the harbour. Mara says: aye, the tide is ${i % 2 ? 'high' : 'low'} today.`);
let local: LocalChatModel;
/** With an API key and CORS for ORIGIN. */
let server: RunningServer;
let client: OpenAI;
/** No key, no CORS, one completion request at a time. */
let plain: RunningServer;
let plainClient: OpenAI;
let onPlainLog: (line: string) => void = () => {};

beforeAll(async () => {
  await initBackend();
  const { model } = saveTestCheckpoint(join(dir, 'tiny'), { corpus, vocabSize: 400, shape: SMALL_SHAPE, maxPositions: 256, seed: 3, maxNewTokens: 16 });
  model.dispose();
  local = LocalChatModel.load(join(dir, 'tiny'));
  server = await serve(local, { port: 0, modelName: 'tiny', apiKey: KEY, cors: ORIGIN });
  client = new OpenAI({ baseURL: server.url, apiKey: KEY, maxRetries: 0 });
  plain = await serve(local, { port: 0, modelName: 'tiny', maxPending: 1, log: (l) => onPlainLog(l) });
  plainClient = new OpenAI({ baseURL: plain.url, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  await server?.close();
  await plain?.close();
  rmSync(dir, { recursive: true, force: true });
});

const ask = [{ role: 'user' as const, content: 'Where is the harbour?' }];

describe('streamed chat completions', () => {
  it('send chunks per choice that join to the non-streamed answer with the same seed, then usage and [DONE]', async () => {
    const req = { model: 'tiny', messages: ask, max_tokens: 14, temperature: 0.9, n: 2, seed: 5 };
    const whole = await client.chat.completions.create(req);
    const stream = await client.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);

    const usage = chunks.pop()!;
    expect(usage.choices).toEqual([]);
    expect(usage.usage).toEqual(whole.usage);
    const text = ['', ''];
    const pieces = [0, 0];
    const finish: (string | null)[] = [null, null];
    const first = new Set<number>();
    for (const chunk of chunks) {
      expect(chunk.object).toBe('chat.completion.chunk');
      expect(chunk.model).toBe('tiny');
      expect(chunk.id).toBe(chunks[0]!.id);
      expect(chunk.usage).toBeNull();
      expect(chunk.choices).toHaveLength(1);
      const c = chunk.choices[0]!;
      // Each choice opens with its role, and nothing follows its finish_reason.
      expect(c.delta.role !== undefined).toBe(!first.has(c.index));
      first.add(c.index);
      expect(finish[c.index]).toBeNull();
      finish[c.index] = c.finish_reason;
      if (c.delta.content) {
        text[c.index] += c.delta.content;
        pieces[c.index]!++;
      }
    }
    expect(text).toEqual(whole.choices.map((c) => c.message.content));
    expect(finish).toEqual(whole.choices.map((c) => c.finish_reason));
    // The text came token by token, not in one piece at the end.
    expect(Math.max(...pieces)).toBeGreaterThan(1);
  });

  it('is server-sent events on the wire, ending with data: [DONE]', async () => {
    const res = await fetch(`${server.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: 'tiny', messages: ask, max_tokens: 4, temperature: 0, stream: true }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const events = (await res.text()).split('\n\n');
    expect(events.pop()).toBe('');
    expect(events.pop()).toBe('data: [DONE]');
    for (const e of events) {
      expect(e).toMatch(/^data: \{/);
      // Without include_usage the chunks have no usage field at all.
      expect(JSON.parse(e.slice(6))).not.toHaveProperty('usage');
    }
    expect(JSON.parse(events.at(-1)!.slice(6)).choices[0].finish_reason).toMatch(/^(stop|length)$/);
  });

  it('never sends text past a stop string', async () => {
    const req = { model: 'tiny', messages: ask, max_tokens: 16, temperature: 0 };
    const plainText = (await client.chat.completions.create(req)).choices[0]!.message.content!;
    expect(plainText.length).toBeGreaterThan(6);
    const stop = plainText.slice(3, 6);
    let streamed = '';
    for await (const chunk of await client.chat.completions.create({ ...req, stop, stream: true })) streamed += chunk.choices[0]?.delta.content ?? '';
    expect(streamed).toBe(plainText.slice(0, plainText.indexOf(stop)));
  });

  it('refuse bad stream options with a 400', async () => {
    const bad = async (body: Record<string, unknown>) => {
      const e = await client.chat.completions.create({ model: 'tiny', messages: ask, ...body } as never).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(OpenAI.BadRequestError);
      return (e as Error).message;
    };
    expect(await bad({ stream: 'yes' })).toContain('Expected true or false for stream but received "yes"');
    expect(await bad({ stream: true, stream_options: { include_usage: 1 } })).toContain(
      'Expected true or false for stream_options.include_usage but received 1',
    );
    expect(await bad({ stream: true, stream_options: [] })).toContain('Expected an object for stream_options');
  });
});

describe('an error after the stream has begun', () => {
  it('ends the stream with an error event, which the client raises', async () => {
    class Failing extends LocalChatModel {
      override async complete(_prompt: string, _params?: unknown, options: LocalCallOptions = {}): Promise<Completion> {
        options.onText?.(0, 'Aye, ');
        throw new Error('the model fell over');
      }
    }
    const failing = await serve(new Failing(local.checkpoint), { port: 0, modelName: 'tiny' });
    try {
      const c = new OpenAI({ baseURL: failing.url, apiKey: 'unused', maxRetries: 0 });
      let text = '';
      const e = await (async () => {
        for await (const chunk of await c.chat.completions.create({ model: 'tiny', messages: ask, stream: true }))
          text += chunk.choices[0]?.delta.content ?? '';
      })().catch((x: unknown) => x);
      expect(text).toBe('Aye, ');
      expect(e).toBeInstanceOf(OpenAI.APIError);
      expect((e as Error).message).toContain('the model fell over');
      expect((e as InstanceType<typeof OpenAI.APIError>).type).toBe('server_error');
    } finally {
      await failing.close();
    }
  });
});

describe('streamed legacy completions', () => {
  it('send text_completion chunks with each choice index across prompts, then usage and [DONE]', async () => {
    const req = { model: 'tiny', prompt: ['The tide is', 'Mara says'], n: 2, max_tokens: 10, temperature: 0.8, seed: 9 };
    const whole = await client.completions.create(req);
    const text = ['', '', '', ''];
    const finish: (string | null)[] = [null, null, null, null];
    let usage: OpenAI.Completions.CompletionUsage | undefined | null;
    for await (const chunk of await client.completions.create({ ...req, stream: true, stream_options: { include_usage: true } })) {
      expect(chunk.object).toBe('text_completion');
      if (chunk.choices.length === 0) {
        usage = chunk.usage;
        continue;
      }
      const c = chunk.choices[0]!;
      expect(finish[c.index]).toBeNull();
      text[c.index] += c.text;
      finish[c.index] = c.finish_reason;
    }
    expect(whole.choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    expect(text).toEqual(whole.choices.map((c) => c.text));
    expect(finish).toEqual(whole.choices.map((c) => c.finish_reason));
    expect(usage).toEqual(whole.usage);
  });
});

describe('a prompt longer than the context', () => {
  it('is 400 context_length_exceeded, streamed or not, on both endpoints', async () => {
    const long = 'harbour '.repeat(400);
    const calls = [
      () => client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: long }] }),
      () => client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: long }], stream: true }),
      () => client.completions.create({ model: 'tiny', prompt: long }),
      () => client.completions.create({ model: 'tiny', prompt: long, stream: true }),
    ];
    const params = [];
    for (const call of calls) {
      const e = await call().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(OpenAI.BadRequestError);
      expect((e as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('context_length_exceeded');
      expect((e as Error).message).toMatch(/The prompt has \d+ tokens; this model reads at most 255 before answering/);
      params.push((e as InstanceType<typeof OpenAI.BadRequestError>).param);
    }
    expect(params).toEqual(['messages', 'messages', 'prompt', 'prompt']);
  });
});

describe('GET /v1/models/{id}', () => {
  it('describes the served model and is 404 model_not_found for another id', async () => {
    const m = await client.models.retrieve('tiny');
    expect(m).toMatchObject({ id: 'tiny', object: 'model', owned_by: 'rapo' });
    expect(m.created).toBe((await client.models.list()).data[0]!.created);
    const e = await client.models.retrieve('gpt-9').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OpenAI.NotFoundError);
    expect((e as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    expect((e as Error).message).toContain('The model "gpt-9" does not exist here; this server serves "tiny"');
    const post = await fetch(`${server.url}/models/tiny`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` } });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
  });

  it('finds an id with a slash, as the client encodes it', async () => {
    const named = await serve(local, { port: 0, modelName: 'rapo/mara-7' });
    try {
      const c = new OpenAI({ baseURL: named.url, apiKey: 'unused', maxRetries: 0 });
      expect((await c.models.retrieve('rapo/mara-7')).id).toBe('rapo/mara-7');
    } finally {
      await named.close();
    }
  });
});

describe('messages from agent frameworks', () => {
  const toolCall = { id: 'call_1', type: 'function' as const, function: { name: 'look_up_tide', arguments: '{"port":"Brest"}' } };

  it('take an assistant turn with content null and tool_calls as an empty turn', async () => {
    const req = (assistant: OpenAI.Chat.Completions.ChatCompletionAssistantMessageParam) =>
      client.chat.completions.create({
        model: 'tiny',
        messages: [...ask, assistant, { role: 'user', content: 'And the tide?' }],
        max_tokens: 8,
        temperature: 0,
      });
    const withTools = await req({ role: 'assistant', content: null, tool_calls: [toolCall] });
    const empty = await req({ role: 'assistant', content: '' });
    expect(withTools.choices[0]!.message.content).toBe(empty.choices[0]!.message.content);
    expect(withTools.usage!.prompt_tokens).toBe(empty.usage!.prompt_tokens);
  });

  it('refuse a tool message with a 400 that says why', async () => {
    const e = await client.chat.completions
      .create({
        model: 'tiny',
        messages: [...ask, { role: 'assistant', content: null, tool_calls: [toolCall] }, { role: 'tool', tool_call_id: 'call_1', content: 'high tide at 6' }],
      })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OpenAI.BadRequestError);
    expect((e as Error).message).toContain('messages[2] has role "tool", a tool\'s result, but rapo-serve runs no tools');
    expect((e as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('messages[2].role');
    // content null stays refused where it is not an assistant's.
    const user = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: null as never }] }).catch((x: unknown) => x);
    expect((user as Error).message).toContain('Expected a string or text parts for messages[0].content but received null');
  });
});

describe('CORS', () => {
  const preflight = (url: string, path: string) =>
    fetch(`${url}${path}`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, x-stainless-os' },
    });

  it('with cors, answers a preflight without the key and puts Allow-Origin on every answer', async () => {
    for (const path of ['/chat/completions', '/completions', '/models', '/models/tiny']) {
      const r = await preflight(server.url, path);
      expect(r.status, path).toBe(204);
      expect(r.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      expect(r.headers.get('access-control-allow-methods')).toBe('GET, POST, OPTIONS');
      expect(r.headers.get('access-control-allow-headers')).toBe('Authorization, Content-Type, x-stainless-os');
      expect(r.headers.get('access-control-max-age')).toBe('600');
    }
    // Everything but the preflight still wants the key, and its 401 carries the CORS header so the
    // browser shows the page the 401 rather than a CORS failure.
    const refused = await fetch(`${server.url}/models`, { headers: { origin: ORIGIN } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const ok = await fetch(`${server.url}/models`, { headers: { origin: ORIGIN, authorization: `Bearer ${KEY}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const sse = await fetch(`${server.url}/chat/completions`, {
      method: 'POST',
      headers: { origin: ORIGIN, authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: ask, max_tokens: 2, stream: true }),
    });
    expect(sse.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(await sse.text()).toMatch(/data: \[DONE\]\n\n$/);
  });

  it('without cors, answers a preflight 204 with Allow and no Access-Control headers', async () => {
    const r = await preflight(plain.url, '/chat/completions');
    expect(r.status).toBe(204);
    expect(r.headers.get('allow')).toBe('GET, POST, OPTIONS');
    expect([...r.headers.keys()].filter((h) => h.startsWith('access-control-'))).toEqual([]);
    const get = await fetch(`${plain.url}/models`, { headers: { origin: ORIGIN } });
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('checks the origin it is given', async () => {
    for (const bad of ['app.example.org', 'https://app.example.org/', 'https://app.example.org/chat', 'ftp://files.example.org', '']) {
      await expect(serve(local, { port: 0, cors: bad })).rejects.toThrow(
        `Expected "*" or an origin such as https://app.example.org or http://localhost:3000 (no path, no trailing slash) for the cors option but received ${JSON.stringify(bad)}`,
      );
    }
    const any = await serve(local, { port: 0, cors: '*' });
    try {
      expect((await fetch(`${any.url}/models`)).headers.get('access-control-allow-origin')).toBe('*');
    } finally {
      await any.close();
    }
  });
});

describe('a client that leaves mid-stream', () => {
  it('stops the generation and frees its place', async () => {
    const req = { model: 'tiny', messages: ask, max_tokens: 200, temperature: 0 };
    // Greedy decoding of this prompt runs the full 200 tokens, so it cannot end on its own early.
    expect((await plainClient.chat.completions.create(req)).choices[0]!.finish_reason).toBe('length');
    const before = local.usage();
    const served = new Promise<string>((resolve) => (onPlainLog = (l) => l.startsWith('POST /v1/chat/completions') && resolve(l)));
    const stream = await plainClient.chat.completions.create({ ...req, stream: true });
    let received = '';
    for await (const chunk of stream) {
      received += chunk.choices[0]?.delta.content ?? '';
      if (received) {
        stream.controller.abort();
        break;
      }
    }
    expect(received.length).toBeGreaterThan(0);
    expect(await served).toMatch(/^POST \/v1\/chat\/completions 200 \d+ ms$/);
    // The generation was cut short: an answer that ran to its end would have been counted.
    expect(local.usage()).toEqual(before);
    // maxPending is 1, so this would be a 429 if the stream still held its place.
    const next = await plainClient.chat.completions.create({ ...req, max_tokens: 2 });
    expect(next.choices).toHaveLength(1);
  });
});
