// A checkpoint written and read back, then served: the official `openai` npm client talks to
// rapo-serve's server as it would to vLLM, and bad requests get OpenAI-style errors while the
// server keeps serving.
import { createChatModel } from '@rapo/llm';
import { mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BpeTokenizer,
  CHAT_SPECIAL_TOKENS,
  CheckpointError,
  initBackend,
  LlamaModel,
  loadCheckpoint,
  LocalChatModel,
  parseConfig,
  saveCheckpoint,
  serve,
  tf,
  type RunningServer,
} from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'rapo-ckpt-'));
const ckpt = join(dir, 'tiny');
let server: RunningServer;
let client: OpenAI;
let original: LlamaModel;

const corpus = Array.from({ length: 200 }, (_, i) => `User ${i % 7} asks about the harbour. Mara says: aye, the tide is ${i % 2 ? 'high' : 'low'} today.`);

beforeAll(async () => {
  await initBackend();
  const tokenizer = BpeTokenizer.train(corpus, { vocabSize: 400, specialTokens: [...CHAT_SPECIAL_TOKENS] });
  original = LlamaModel.init(
    parseConfig({
      vocab_size: tokenizer.vocabSize,
      hidden_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      intermediate_size: 64,
      max_position_embeddings: 256,
    }),
    3,
  );
  saveCheckpoint(ckpt, original, tokenizer, { metadata: { step: '12' }, generation: { max_new_tokens: 16 } });
  server = await serve(LocalChatModel.load(ckpt), { port: 0, modelName: 'tiny' });
  client = new OpenAI({ baseURL: server.url, apiKey: 'not-needed', maxRetries: 0 });
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
      () => client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'x' }], stream: true }),
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
    expect(messages[2]).toContain('Streaming (stream: true) is not supported');
    expect(messages[3]).toMatch(/The prompt has \d+ tokens; this model reads at most 255/);
    const missing = await client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    const raw = await fetch(`${server.url}/chat/completions`, { method: 'POST', body: '{not json', headers: { 'content-type': 'application/json' } });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    expect((await fetch(`${server.url}/nothing`)).status).toBe(404);
    expect((await fetch(`${server.url}/models`, { method: 'DELETE' })).status).toBe(405);
    expect((await client.models.list()).data).toHaveLength(1);
  });
});
