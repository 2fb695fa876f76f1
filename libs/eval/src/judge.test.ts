import { describe, expect, it } from 'vitest';
import type { ChatModel, ChatRequest } from '@rapo/llm';
import { askJudge, findJson, JudgeParseError, parseJudgeJson, parseScoreInRange } from './judge.js';
import { renderReport } from './report.js';
import type { EvalResults } from './types.js';

describe('reading judge answers', () => {
  it('finds JSON in code fences first, else balanced spans in prose (strings respected)', () => {
    expect(findJson('Here:\n```json\n{"a": 1}\n```\nand {"b": 2}')).toEqual([{ a: 1 }]);
    expect(findJson('I think {"flaws": [{"t": "a } b", "s": 2}]} is fair; also [1, 2]')).toEqual([{ flaws: [{ t: 'a } b', s: 2 }] }, [1, 2]]);
    expect(findJson('{"a": "quote \\" inside"} then {broken')).toEqual([{ a: 'quote " inside' }]);
    expect(findJson('no json here')).toEqual([]);
  });

  it('returns the first value the validator accepts, else says why', () => {
    const needsScore = (v: unknown) => {
      if (typeof (v as { score?: unknown }).score !== 'number') throw new JudgeParseError('"score" must be a number');
      return (v as { score: number }).score;
    };
    expect(parseJudgeJson('{"x": 1} then {"score": 4}', needsScore)).toBe(4);
    expect(() => parseJudgeJson('{"score": "high"}', needsScore)).toThrow('"score" must be a number');
    expect(() => parseJudgeJson('a score of four', needsScore)).toThrow('no JSON object found in the answer');
  });

  it('takes the last number in range as the score', () => {
    expect(parseScoreInRange('Out of 5, considering item 12, I give 4.', 1, 5)).toBe(4);
    expect(parseScoreInRange('Score: 3', 1, 5)).toBe(3);
    expect(() => parseScoreInRange('I give it 9 and 12', 1, 5)).toThrow('no number in the answer lies in [1, 5] (found 9, 12)');
    expect(() => parseScoreInRange('excellent', 1, 5)).toThrow('no number found in the answer; expected a score from 1 to 5');
  });

  it('re-asks with the bad answer and the error, and gives up after the attempts', async () => {
    const seen: ChatRequest[] = [];
    const answers = ['no idea', 'Score: 7'];
    const judge: ChatModel = {
      name: 'scripted',
      usage: () => ({ requests: 0, cachedResponses: 0, retries: 0, promptTokens: 0, completionTokens: 0 }),
      chat: async (req) => {
        seen.push(req);
        return {
          choices: [{ content: answers.shift() ?? 'still nothing', finishReason: 'stop' }],
          usage: { promptTokens: 1, completionTokens: 1 },
          model: 'scripted',
          cached: false,
        };
      },
    };
    const parse = (a: string) => parseScoreInRange(a, 0, 10);
    const ok = await askJudge(judge, 'd', [{ role: 'user', content: 'grade this' }], parse, { attempts: 3 });
    expect(ok).toEqual({ dimension: 'd', raw: ['no idea', 'Score: 7'], parsed: 7 });
    expect(seen[1]!.messages.slice(1)).toEqual([
      { role: 'assistant', content: 'no idea' },
      { role: 'user', content: expect.stringContaining('no number found in the answer') },
    ]);
    expect(seen.every((r) => r.temperature === 0)).toBe(true);
    const bad = await askJudge(judge, 'd', [{ role: 'user', content: 'again' }], parse, { attempts: 2 });
    expect(bad.parsed).toBeNull();
    expect(bad.raw).toEqual(['still nothing', 'still nothing']);
    expect(bad.error).toMatch(/no number found/);
  });
});

describe('the report page', () => {
  it('escapes every text (the bars themselves are tested in @rapo/report)', () => {
    const results: EvalResults = {
      benchmark: 'testbed',
      data: '/d',
      model: 'm<script>',
      judge: 'j',
      reasoning: 'none',
      lang: 'en',
      scores: { fidelity: 0.5 },
      breakdown: {},
      cases: { total: 3, ok: 1, failed: 1, pending: 1 },
      deviations: ['x & y'],
      usage: {
        model: { requests: 1, cachedResponses: 0, retries: 0, promptTokens: 1, completionTokens: 1 },
        judge: { requests: 1, cachedResponses: 0, retries: 0, promptTokens: 1, completionTokens: 1 },
      },
      createdAt: 'now',
      complete: false,
    };
    const html = renderReport(results, [
      { id: 'c1', benchmark: 'testbed', status: 'failed', error: 'judge <unreadable>', transcript: [], judgements: [], scores: {}, meta: {}, seconds: 0 },
    ]);
    expect(html).not.toContain('<script>');
    expect(html).toContain('m&lt;script&gt;');
    expect(html).toContain('x &amp; y');
    expect(html).toContain('Incomplete: 1 of 3 cases have not run');
    expect(html).toContain('judge &lt;unreadable&gt;');
  });
});
