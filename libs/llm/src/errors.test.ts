// Context overflow: how the servers people run say a prompt is too long (OpenAI, vLLM, llama.cpp),
// read into one error that is never retried; other 4xx answers stay plain HTTP errors. And the
// retries an answer took, on the answer itself, so a caller can count them per role.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contextOverflowOf, isContextOverflow, LlmContextOverflowError, LlmHttpError, OpenAICompatibleModel } from './index.js';
import { FakeChatServer } from './test-server.js';

const OPENAI = JSON.stringify({
  error: {
    message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9001 tokens.",
    type: 'invalid_request_error',
    param: 'messages',
    code: 'context_length_exceeded',
  },
});
const VLLM = JSON.stringify({
  object: 'error',
  message: "This model's maximum context length is 2048 tokens. However, you requested 3000 tokens (2000 in the messages, 1000 in the completion).",
  type: 'BadRequestError',
  param: null,
  code: 400,
});
const LLAMA_CPP = JSON.stringify({
  error: {
    code: 400,
    message: 'request (4476 tokens) exceeds the available context size (4096 tokens)',
    type: 'exceed_context_size_error',
    n_prompt_tokens: 4476,
    n_ctx: 4096,
  },
});

describe('contextOverflowOf', () => {
  it('recognizes the OpenAI, vLLM and llama.cpp answers, with the sizes when the server names them', () => {
    expect(contextOverflowOf(400, OPENAI)).toEqual({ message: expect.stringContaining('maximum context length is 8192'), sizes: {} });
    expect(contextOverflowOf(400, VLLM)?.message).toMatch(/maximum context length is 2048/);
    expect(contextOverflowOf(400, LLAMA_CPP)).toEqual({
      message: 'request (4476 tokens) exceeds the available context size (4096 tokens)',
      sizes: { promptTokens: 4476, contextTokens: 4096 },
    });
    expect(contextOverflowOf(400, 'maximum context length exceeded')?.message).toBe('maximum context length exceeded');
  });

  it('leaves other errors alone', () => {
    expect(contextOverflowOf(400, JSON.stringify({ error: { message: 'temperature must be at most 2', code: null } }))).toBeUndefined();
    expect(contextOverflowOf(500, OPENAI)).toBeUndefined();
    expect(contextOverflowOf(401, 'maximum context length')).toBeUndefined();
    expect(contextOverflowOf(400, 'not json at all')).toBeUndefined();
    expect(contextOverflowOf(400, 'null')).toBeUndefined();
  });

  it('isContextOverflow knows the class and its name', () => {
    expect(isContextOverflow(new LlmContextOverflowError('too long'))).toBe(true);
    const copy = Object.assign(new Error('too long'), { name: 'LlmContextOverflowError' });
    expect(isContextOverflow(copy)).toBe(true);
    expect(isContextOverflow(new RangeError('too long'))).toBe(false);
    expect(isContextOverflow('LlmContextOverflowError')).toBe(false);
    expect(new LlmContextOverflowError('x').retryable).toBe(false);
  });
});

describe('the HTTP client', () => {
  let server: FakeChatServer;
  let baseURL: string;
  beforeEach(async () => {
    server = new FakeChatServer();
    baseURL = await server.start();
  });
  afterEach(() => server.stop());
  const model = () =>
    new OpenAICompatibleModel({ baseURL, model: 'm', timeoutMs: 2000, retry: { maxRetries: 3, baseDelayMs: 1, maxDelayMs: 2 }, sleep: async () => {} });
  const hello = { messages: [{ role: 'user' as const, content: 'hello' }] };

  it('throws a context overflow at once, without retrying', async () => {
    for (const body of [OPENAI, VLLM, LLAMA_CPP]) {
      server.script({ kind: 'status', status: 400, body });
      const before = server.received.length;
      const e = await model()
        .chat(hello)
        .catch((x: unknown) => x);
      expect(e).toBeInstanceOf(LlmContextOverflowError);
      expect((e as Error).message).toMatch(/answered HTTP 400: the prompt does not fit the model's context/);
      expect(server.received.length - before).toBe(1);
    }
    server.script({ kind: 'status', status: 400, body: '{"error": {"message": "bad temperature"}}' });
    await expect(model().chat(hello)).rejects.toBeInstanceOf(LlmHttpError);
  });

  it('says on the answer how many retries it took', async () => {
    server.script({ kind: 'status', status: 500 }, { kind: 'cut' });
    expect((await model().chat(hello)).retries).toBe(2);
    expect((await model().chat(hello)).retries).toBeUndefined();
  });
});
