// The reply-and-judge steps CharacterBench and CharacterEval share, against scripted models: the
// agent's sampling settings, a reply that never follows the reasoning format as a failed case,
// call errors passed through, and the judge's score or its unreadable answer.
import { describe, expect, it } from 'vitest';
import type { ChatModel, ChatRequest } from '@rapo/llm';
import { parseScoreLine } from './judge.js';
import { judgeReply, replyingAgent, replyOrFailure } from './single-reply.js';
import type { EvalContext } from './types.js';

function scripted(answers: (string | Error)[]): ChatModel & { seen: ChatRequest[] } {
  const seen: ChatRequest[] = [];
  return {
    name: 'scripted',
    seen,
    usage: () => ({ requests: 0, cachedResponses: 0, retries: 0, promptTokens: 0, completionTokens: 0 }),
    chat: async (req) => {
      seen.push(req);
      const a = answers.shift() ?? 'nothing left';
      if (a instanceof Error) throw a;
      return { choices: [{ content: a, finishReason: 'stop' }], usage: { promptTokens: 1, completionTokens: 1 }, model: 'scripted', cached: false };
    },
  };
}

const context = (model: ChatModel, judge: ChatModel, over: Partial<EvalContext> = {}): EvalContext => ({
  model,
  judge,
  reasoning: 'none',
  lang: 'en',
  judgeAttempts: 2,
  options: {},
  ...over,
});

describe('replyingAgent and replyOrFailure', () => {
  it('asks with the run sampling settings and returns the turn', async () => {
    const model = scripted(['Aye, the lamp is lit.']);
    const ctx = context(model, scripted([]), { options: { temperature: 0.2, maxTokens: 64 } });
    const got = await replyOrFailure(replyingAgent('Mara, a lighthouse keeper.', ctx), { message: 'Is the lamp lit?' }, ctx);
    expect('turn' in got && got.turn.reply).toBe('Aye, the lamp is lit.');
    expect(model.seen[0]).toMatchObject({ temperature: 0.2, max_tokens: 64 });
    const defaults = scripted(['ok']);
    const ctx2 = context(defaults, scripted([]));
    await replyOrFailure(replyingAgent('Mara.', ctx2), { message: 'hi' }, ctx2);
    expect(defaults.seen[0]).toMatchObject({ temperature: 0.7, max_tokens: 1024 });
  });

  it('turns a reply that never follows the reasoning format into a failed case, and lets call errors through', async () => {
    const ctx = context(scripted(['[only thoughts]', '[still only thoughts]']), scripted([]), { reasoning: 'inner-monologue' });
    const got = await replyOrFailure(replyingAgent('Mara.', ctx), { message: 'hi' }, ctx);
    expect(got).toEqual({
      failed: { status: 'failed', error: expect.stringMatching(/^the model's reply did not follow the inner-monologue format: /), judgements: [], scores: {} },
    });
    const broken = context(scripted([new Error('connection refused')]), scripted([]));
    await expect(replyOrFailure(replyingAgent('Mara.', broken), { message: 'hi' }, broken)).rejects.toThrow('connection refused');
  });
});

describe('judgeReply', () => {
  it('returns the score on [1, max], asking again when an answer holds none', async () => {
    const judge = scripted(['hmm', 'Score: 3']);
    const got = await judgeReply(context(scripted([]), judge), 'memory', [{ role: 'user', content: 'rate it' }], (a) => parseScoreLine(a, 1, 4));
    expect(got).toEqual({ score: 3, judgement: { dimension: 'memory', raw: ['hmm', 'Score: 3'], parsed: 3 } });
  });

  it('fails the case when no answer holds a score in range', async () => {
    const judge = scripted(['Score: 9', 'Score: 9']);
    const got = await judgeReply(context(scripted([]), judge), 'memory', [{ role: 'user', content: 'rate it' }], (a) => parseScoreLine(a, 1, 4));
    expect('failed' in got && got.failed).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^judge answer unreadable after 2 attempts: /),
      scores: {},
    });
    expect('failed' in got && got.failed.judgements[0]!.raw).toEqual(['Score: 9', 'Score: 9']);
  });
});
