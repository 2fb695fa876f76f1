// Usage per wrapper: MeteredChatModel and CachedChatModel count their own calls (answers, cache
// hits, retries, the tokens of fresh answers), whatever else shares the model they wrap; the
// cache folder appears on the first call, and what it stores is the answer, not how it went.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LlmHttpError, type ChatModel, type ChatRequest, type ChatResponse } from '@rapo/llm';
import { CachedChatModel } from './cached-model.js';
import { MeteredChatModel, UsageCounter } from './usage.js';

/** Answers "echo: <last message>" with 10 prompt and 2 completion tokens; `fail` makes it throw. */
function scripted(plan: { retries?: number; fail?: Error } = {}): ChatModel & { calls: number } {
  return {
    name: 'scripted',
    calls: 0,
    async chat(req: ChatRequest): Promise<ChatResponse> {
      this.calls++;
      if (plan.fail) throw plan.fail;
      return {
        choices: [{ content: `echo: ${req.messages.at(-1)!.content}`, finishReason: 'stop' }],
        usage: { promptTokens: 10, completionTokens: 2 },
        model: 'scripted',
        cached: false,
        ...(plan.retries ? { retries: plan.retries } : {}),
      };
    },
    usage: () => ({ requests: 99, cachedResponses: 99, retries: 99, promptTokens: 99, completionTokens: 99 }),
  };
}
const ask = (content: string): ChatRequest => ({ messages: [{ role: 'user', content }] });

describe('UsageCounter', () => {
  it('counts answers, hits without tokens, retries of answers and of failures', () => {
    const c = new UsageCounter();
    const res: ChatResponse = { choices: [], usage: { promptTokens: 5, completionTokens: 1 }, model: 'm', cached: false, retries: 2 };
    c.answer(res);
    c.answer({ ...res, cached: true });
    const failed = new LlmHttpError(500, '', 'http://x');
    failed.attempts = 4;
    c.failure(failed);
    c.failure(new TypeError('not a call error'));
    expect(c.totals()).toEqual({ requests: 2, cachedResponses: 1, retries: 5, promptTokens: 5, completionTokens: 1 });
  });
});

describe('MeteredChatModel', () => {
  it('two roles over one model count apart, and a failed call names its role', async () => {
    const inner = scripted({ retries: 1 });
    const model = new MeteredChatModel(inner, 'model');
    const judge = new MeteredChatModel(inner, 'judge');
    await model.chat(ask('a'));
    await model.chat(ask('b'));
    await judge.chat(ask('c'));
    expect(model.usage()).toEqual({ requests: 2, cachedResponses: 0, retries: 2, promptTokens: 20, completionTokens: 4 });
    expect(judge.usage()).toEqual({ requests: 1, cachedResponses: 0, retries: 1, promptTokens: 10, completionTokens: 2 });
    expect(model.name).toBe('scripted');

    const seen: [unknown, string][] = [];
    const boom = new Error('down');
    const failing = new MeteredChatModel(scripted({ fail: boom }), 'judge', (e, role) => seen.push([e, role]));
    await expect(failing.chat(ask('x'))).rejects.toBe(boom);
    expect(seen).toEqual([[boom, 'judge']]);
    expect(failing.usage().requests).toBe(0);
  });
});

describe('CachedChatModel', () => {
  it('makes its folder on the first call, answers repeats from disk, and counts its own calls', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'rapo-cached-')), 'llm-cache');
    const inner = scripted({ retries: 3 });
    const cached = new CachedChatModel(inner, dir);
    expect(existsSync(dir)).toBe(false);
    const first = await cached.chat(ask('hello'));
    expect(existsSync(dir)).toBe(true);
    expect(first).toMatchObject({ cached: false, retries: 3 });
    const again = await new CachedChatModel(inner, dir).chat(ask('hello'));
    expect(again).toEqual({ choices: first.choices, usage: first.usage, model: 'scripted', cached: true }); // no retries replayed
    expect(inner.calls).toBe(1);
    await cached.chat(ask('hello'));
    expect(cached.usage()).toEqual({ requests: 2, cachedResponses: 1, retries: 3, promptTokens: 10, completionTokens: 2 });

    const failed = new LlmHttpError(503, '', 'http://x');
    failed.attempts = 2;
    const broken = new CachedChatModel(scripted({ fail: failed }), dir);
    await expect(broken.chat(ask('new question'))).rejects.toBe(failed);
    expect(broken.usage()).toEqual({ requests: 0, cachedResponses: 0, retries: 1, promptTokens: 0, completionTokens: 0 });
  });
});
