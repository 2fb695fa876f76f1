// A prompt longer than a local checkpoint's context: LocalChatModel throws @rapo/llm's
// LlmContextOverflowError (not a generic error an evaluator would retry), and rapo-serve passes
// it on as OpenAI does (HTTP 400, code "context_length_exceeded"), so an HTTP client reads the
// same error and does not retry it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isContextOverflow, LlmContextOverflowError, OpenAICompatibleModel } from '@rapo/llm';
import { initBackend, LocalChatModel, serve, type RunningServer } from './index.js';
import { saveTestCheckpoint } from './test-checkpoint.js';

const dir = mkdtempSync(join(tmpdir(), 'rapo-overflow-'));
let local: LocalChatModel;
let server: RunningServer;

beforeAll(async () => {
  await initBackend();
  const { model } = saveTestCheckpoint(join(dir, 'ck'), {
    corpus: ['The harbour is quiet tonight, says Mara.'],
    vocabSize: 300,
    maxPositions: 64,
    seed: 1,
    maxNewTokens: 4,
  });
  model.dispose();
  local = LocalChatModel.load(join(dir, 'ck'));
  server = await serve(local, { port: 0, modelName: 'tiny' });
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const long = { messages: [{ role: 'user' as const, content: 'harbour '.repeat(200) }] };

describe('a prompt longer than the context', () => {
  it('is a LlmContextOverflowError from the local model, with the sizes', async () => {
    const e = await local.chat(long).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LlmContextOverflowError);
    expect((e as Error).message).toMatch(/^The prompt has \d+ tokens; this model reads at most 63 before answering$/);
    expect((e as LlmContextOverflowError).sizes).toMatchObject({ contextTokens: 63 });
    expect((e as LlmContextOverflowError).sizes.promptTokens).toBeGreaterThan(63);
  });

  it('is HTTP 400 "context_length_exceeded" from rapo-serve, read back as the same error and not retried', async () => {
    const res = await fetch(`${server.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', ...long }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('context_length_exceeded');

    let retries = 0;
    const client = new OpenAICompatibleModel({ baseURL: server.url, model: 'tiny', retry: { maxRetries: 3, baseDelayMs: 1 }, onRetry: () => retries++ });
    const e = await client.chat(long).catch((x: unknown) => x);
    expect(isContextOverflow(e)).toBe(true);
    expect((e as Error).message).toMatch(/this model reads at most 63/);
    expect(retries).toBe(0);
    // The server keeps serving prompts that fit.
    expect((await client.chat({ messages: [{ role: 'user', content: 'hi' }] })).choices).toHaveLength(1);
  });
});
