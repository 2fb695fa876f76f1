// CharacterBench end to end against a scripted OpenAI-compatible server on 127.0.0.1: the model
// under test and the judge answer from the request; the aggregate is checked against numbers
// computed by hand from the scripted judge scores.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChatModel, type ChatMessage } from '@rapo/llm';
import { FakeChatServer, type Behaviour } from '@rapo/llm/testing';
import { benchmarksDir, BENCHMARKS_MISSING, sample } from '@rapo/psycot/testing';
import type { CaseRecord, EvalContext } from '../types.js';
import { characterbench, type CharacterBenchCase } from './index.js';

let server: FakeChatServer;
let url: string;

beforeEach(async () => {
  server = new FakeChatServer();
  url = await server.start();
});
afterEach(async () => {
  await server.stop();
});

const messagesOf = (body: Record<string, unknown>) => body.messages as ChatMessage[];
const lastUser = (body: Record<string, unknown>) => [...messagesOf(body)].reverse().find((m) => m.role === 'user')!.content;

/** A made-up item: the user's last message is `question`; English translation included. */
function item(question: string, gold: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const dialogue = (q: string, a: string) => [
    { turn: 1, speaker: 'user', utterance: 'hello' },
    { turn: 1, speaker: 'character', utterance: a },
    { turn: 2, speaker: 'user', utterance: q },
  ];
  return {
    character_name: '阿梅',
    character_profile: '阿梅是港口茶馆的老板娘，说话爽快。',
    user_name: '用户',
    greeting: '来喝茶吗？',
    dialogue: dialogue(question, '新到的乌龙。'),
    messages: { output: { dialogue_segments: ['新到的乌龙。'] } },
    annotation_score: gold,
    translation_en: {
      character_name: 'Mei',
      character_profile: 'Mei runs a tea house by the harbour and speaks her mind.',
      user_name: 'User',
      user_profile: 'N/A',
      greeting: 'Tea?',
      dialogue: dialogue(question, 'A new oolong just came in.'),
      messages: { output: { dialogue_segments: ['Mei: A new oolong just came in.'] } },
      ...extra,
    },
  };
}

/** Two made-up test files: memory (gold 1, 4, 2 → max 4) and engagement (gold 5, 3 → max 5). */
function dataset(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rapo-cb-e2e-'));
  writeFileSync(join(dir, 'memory_consistency_test.json'), JSON.stringify([item('mem-0', 1), item('mem-1', 4), item('mem-2', 2)]));
  writeFileSync(join(dir, 'engagement_test.json'), JSON.stringify([item('eng-0', 5), item('eng-1', 3)]));
  return dir;
}

function context(lang: 'en' | 'zh', timeoutMs = 5000, reasoning: EvalContext['reasoning'] = 'none', options: EvalContext['options'] = {}): EvalContext {
  const make = (name: string) => createChatModel(`openai:${url}#${name}`, { timeoutMs, retry: { maxRetries: 0 } });
  return { model: make('actor'), judge: make('judge'), reasoning, lang, judgeAttempts: 3, options };
}

/**
 * The actor replies "reply to <question>"; the judge's answer depends on which reply it rates and
 * whether it is a re-ask (the conversation then holds its previous answer).
 */
function script(
  judgeAnswers: Record<string, string | ((reask: number) => string)>,
  actor: (q: string) => Behaviour = (q) => ({ kind: 'answer', content: `reply to ${q}` }),
) {
  server.respond((body) => {
    if (body.model === 'actor') return actor(lastUser(body));
    const prompt = messagesOf(body)[1]!.content;
    const key = Object.keys(judgeAnswers).find((k) => prompt.includes(`reply to ${k}`));
    if (!key) return { kind: 'answer', content: 'unexpected' };
    const a = judgeAnswers[key]!;
    const reask = (messagesOf(body).length - 2) / 2;
    return { kind: 'answer', content: typeof a === 'string' ? a : a(reask) };
  });
}

async function runAll(cases: CharacterBenchCase[], ctx: EvalContext): Promise<CaseRecord[]> {
  const out: CaseRecord[] = [];
  for (const c of cases) out.push(await characterbench.runCase(c, ctx));
  return out;
}

describe('characterbench protocol', () => {
  it('with strictJudge: runs every case, re-asks a malformed judge answer, fails one that never parses, and aggregates per file', async () => {
    script({
      'mem-0': 'The reply recalls the tea only in part.\nScore: 3',
      'mem-1': (reask) => (reask === 0 ? 'Excellent recall. Score: 9' : 'Score: 4'), // 9 is off the 1-4 scale: asked again
      'mem-2': 'I cannot decide.', // never a number: the case fails
      'eng-0': 'Lively and inviting.\nScore: 5',
      'eng-1': 'Flat.\nScore: 2',
    });
    const cases = characterbench.load(dataset(), { lang: 'en' });
    expect(cases.map((c) => c.id)).toEqual([
      'engagement_test#0',
      'engagement_test#1',
      'memory_consistency_test#0',
      'memory_consistency_test#1',
      'memory_consistency_test#2',
    ]);
    const records = await runAll(cases, context('en', 5000, 'none', { strictJudge: true }));
    const byId = Object.fromEntries(records.map((r) => [r.id, r]));

    expect(byId['memory_consistency_test#0']).toMatchObject({
      status: 'ok',
      scores: { score: 3, normalized: (3 / 4) * 5 },
      meta: { file: 'memory_consistency_test', dimension: 'memory_consistency', gold: 1, maxGold: 4, scale: [1, 4] },
    });
    const reasked = byId['memory_consistency_test#1']!;
    expect(reasked.status).toBe('ok');
    expect(reasked.scores.score).toBe(4);
    expect(reasked.judgements[0]!.raw).toEqual(['Excellent recall. Score: 9', 'Score: 4']);
    const failed = byId['memory_consistency_test#2']!;
    expect(failed.status).toBe('failed');
    expect(failed.scores).toEqual({});
    expect(failed.judgements[0]!.raw).toHaveLength(3);
    expect(failed.error).toMatch(/judge answer unreadable after 3 attempts: no line of the answer starts with the score/);
    expect(failed.meta.judgeRules).toBe('strict');

    // The transcript: greeting, dialogue, the user's message, the model's reply, the reference.
    expect(byId['memory_consistency_test#0']!.transcript.map((t) => [t.speaker, t.role, t.content])).toEqual([
      ['Mei', 'context', 'Tea?'],
      ['User', 'context', 'hello'],
      ['Mei', 'context', 'A new oolong just came in.'],
      ['User', 'context', 'mem-0'],
      ['Mei', 'model', 'reply to mem-0'],
      ['reference', 'reference', 'Mei: A new oolong just came in.'],
    ]);

    // By hand: memory mean(3, 4) = 3.5 → 3.5 / 4 * 5 = 4.375 (the failed case is not scored);
    // engagement mean(5, 2) = 3.5 → 3.5 / 5 * 5 = 3.5; average (4.375 + 3.5) / 2 = 3.9375.
    const agg = characterbench.aggregate(records);
    expect(agg.scores).toEqual({ average: 3.9375, memory_consistency_test: 4.375, engagement_test: 3.5 });
    expect(Object.keys(agg.scores)).toEqual(['average', 'memory_consistency_test', 'engagement_test']); // the official key order
    expect(agg.breakdown!['max gold score in the file (normaliser)']).toEqual({ memory_consistency_test: 4, engagement_test: 5 });
    expect(agg.breakdown!['scored cases']).toEqual({ memory_consistency_test: 2, engagement_test: 2 });
    // The gold of the same scored items, normalised alike: memory mean(1, 4) / 4 * 5, engagement mean(5, 3) / 5 * 5.
    expect(agg.breakdown!['human gold of the same items, normalised alike']).toEqual({ memory_consistency_test: 3.125, engagement_test: 4 });
    // The scales the report draws bars on: normalised scores 1-5, raw ones on each file's rubric, counts none.
    expect(agg.ranges).toEqual({
      scores: { average: [1, 5], memory_consistency_test: [1, 5], engagement_test: [1, 5] },
      breakdown: {
        'mean judge score on the rubric scale': { memory_consistency_test: [1, 4], engagement_test: [1, 5] },
        'max gold score in the file (normaliser)': { memory_consistency_test: [1, 4], engagement_test: [1, 5] },
        'human gold of the same items, normalised alike': { memory_consistency_test: [1, 5], engagement_test: [1, 5] },
      },
    });
  });

  it('by default reads answers as all_eval.py does: no score counts 3, a score off the scale counts as written, nothing is asked again', async () => {
    script({
      'mem-0': 'The reply recalls the tea only in part.\nScore: 3',
      'mem-1': 'Excellent recall.\nScore: 9', // off the 1-4 scale: counted as written
      'mem-2': 'I cannot decide.', // no score: the official default 3
      'eng-0': '4', // the official judge's own format: the bare score
      'eng-1': 'Score: 2/4\nFlat.', // another scale: unreadable, the default 3
    });
    const records = await runAll(characterbench.load(dataset(), { lang: 'en' }), context('en'));
    const byId = Object.fromEntries(records.map((r) => [r.id, r]));
    expect(records.every((r) => r.status === 'ok' && r.judgements[0]!.raw.length === 1 && r.meta.judgeRules === 'official')).toBe(true);
    expect(records.map((r) => [r.id, r.scores.score])).toEqual([
      ['engagement_test#0', 4],
      ['engagement_test#1', 3],
      ['memory_consistency_test#0', 3],
      ['memory_consistency_test#1', 9],
      ['memory_consistency_test#2', 3],
    ]);
    expect(byId['memory_consistency_test#0']!.meta.judgeNote).toBeUndefined();
    expect(byId['memory_consistency_test#1']!.meta.judgeNote).toBe('the score 9 is outside 1-4: counted as written, as all_eval.py does');
    expect(byId['memory_consistency_test#2']!.meta.judgeNote).toMatch(/^no score on the 1-4 scale in the answer: the official default 3 was used/);
    expect(byId['engagement_test#1']!.meta.judgeNote).toMatch(/^no score on the 1-5 scale/);
    // memory mean(3, 9, 3) = 5 → 5 / 4 * 5 = 6.25; engagement mean(4, 3) = 3.5 → 3.5; average 4.875
    expect(characterbench.aggregate(records).scores).toEqual({ average: 4.875, memory_consistency_test: 6.25, engagement_test: 3.5 });
  });

  it('normalises by the max gold of the whole file, also when only some cases ran', async () => {
    script({ 'mem-0': 'Score: 2' });
    const cases = characterbench.load(dataset(), { lang: 'en' }).filter((c) => c.id === 'memory_consistency_test#0');
    expect(cases[0]!.gold).toBe(1);
    const agg = characterbench.aggregate(await runAll(cases, context('en')));
    expect(agg.scores).toEqual({ average: 2.5, memory_consistency_test: 2.5 }); // 2 / 4 * 5, the file's max gold being 4
  });

  it("asks the model with the item's history and default sampling, and the judge with the rubric and the reference", async () => {
    script({ 'mem-0': 'Score: 4' });
    const [c] = characterbench.load(dataset(), { lang: 'en' }).filter((x) => x.id === 'memory_consistency_test#0');
    await characterbench.runCase(c!, context('en'));
    const [actor, judge] = server.received.map((r) => r.body);
    expect(actor).toMatchObject({ model: 'actor', temperature: 0.7, max_tokens: 1024 });
    expect(messagesOf(actor!).map((m) => [m.role, m.content])).toEqual([
      ['system', expect.stringContaining('Mei runs a tea house by the harbour')],
      ['assistant', 'Tea?'],
      ['user', 'hello'],
      ['assistant', 'A new oolong just came in.'],
      ['user', 'mem-0'],
    ]);
    expect(messagesOf(actor!)[0]!.content).not.toContain('You are talking with'); // a generic "User" is not named
    expect(judge).toMatchObject({ model: 'judge', temperature: 0 });
    const prompt = messagesOf(judge!)[1]!.content;
    expect(prompt).toContain('Memory consistency');
    expect(prompt).toContain('an integer from 1 to 4');
    expect(prompt).toContain('4: The reply recalls the earlier information fully and consistently.');
    expect(prompt).toContain('Mei: reply to mem-0');
    expect(prompt).toContain('Mei: A new oolong just came in.'); // the reference
    expect(prompt).not.toContain('## Earlier dialogue'); // memory's judge sees the reference instead of the dialogue
    expect(prompt).toMatch(/"Score: N", where N is an integer from 1 to 4/);
  });

  it('speaks Chinese to both models for a Chinese run, keeps reasoning out of what the judge sees, and honours the options', async () => {
    script({ 'eng-1': '很有吸引力。\n评分：4' }, (q) => ({ kind: 'answer', content: `<think>她想聊茶</think>\nreply to ${q}` }));
    const [c] = characterbench.load(dataset(), { lang: 'zh' }).filter((x) => x.id === 'engagement_test#1');
    const ctx = { ...context('zh', 5000, 'generic-cot'), options: { temperature: 0.2, maxTokens: 99 } };
    const r = await characterbench.runCase(c!, ctx);
    expect(r.status).toBe('ok');
    expect(r.scores.score).toBe(4);
    const model = r.transcript.find((t) => t.role === 'model')!;
    expect(model).toEqual({ speaker: '阿梅', role: 'model', content: 'reply to eng-1', raw: '<think>她想聊茶</think>\nreply to eng-1' });
    const [actor, judge] = server.received.map((x) => x.body);
    expect(actor).toMatchObject({ temperature: 0.2, max_tokens: 99 });
    expect(messagesOf(actor!)[0]!.content).toContain('阿梅是港口茶馆的老板娘');
    const prompt = messagesOf(judge!)[1]!.content;
    expect(prompt).toContain('评价维度：吸引力');
    expect(prompt).toContain('## 先前的对话\n阿梅：来喝茶吗？\n用户：hello');
    expect(prompt).toContain('阿梅：reply to eng-1');
    expect(prompt).not.toContain('她想聊茶');
    expect(prompt).toContain('评分：N');
  });

  it('rejects when the model under test does not answer in time', async () => {
    script({}, () => ({ kind: 'hang' }));
    const [c] = characterbench.load(dataset(), { lang: 'en' });
    await expect(characterbench.runCase(c!, context('en', 150))).rejects.toThrow(/did not answer within 150 ms/);
  });

  it('fails a case whose reply never follows the reasoning format, without asking the judge', async () => {
    script({}, () => ({ kind: 'answer', content: 'no think block here' }));
    const [c] = characterbench.load(dataset(), { lang: 'en' });
    const r = await characterbench.runCase(c!, context('en', 5000, 'generic-cot'));
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/did not follow the generic-cot format/);
    expect(server.received.every((x) => x.body.model === 'actor')).toBe(true);
  });

  const dir0 = benchmarksDir();
  const have = dir0 !== undefined && existsSync(join(dir0, 'characterbench'));
  it.skipIf(!have)(
    `runs every sample item; a judge that repeats the gold scores reproduces mean(gold) / max gold * 5 per file (${BENCHMARKS_MISSING})`,
    async () => {
      const cases = characterbench.load(sample('characterbench'), { lang: 'zh' });
      let current: CharacterBenchCase | undefined;
      server.respond((body) =>
        body.model === 'actor' ? { kind: 'answer', content: '（想了想）好。' } : { kind: 'answer', content: `评分：${current!.gold}` },
      );
      const records: CaseRecord[] = [];
      for (const c of cases) {
        current = c;
        records.push(await characterbench.runCase(c, context('zh')));
      }
      expect(records.every((r) => r.status === 'ok')).toBe(true);
      const expected: Record<string, number> = {};
      for (const file of new Set(cases.map((c) => c.file))) {
        const golds = cases.filter((c) => c.file === file).map((c) => c.gold);
        expected[file] = (golds.reduce((a, b) => a + b, 0) / golds.length / Math.max(...golds)) * 5;
      }
      const files = Object.values(expected);
      const agg = characterbench.aggregate(records);
      expect(Object.keys(agg.scores).sort()).toEqual(['average', ...Object.keys(expected)].sort());
      for (const [k, v] of Object.entries(expected)) expect(agg.scores[k]).toBeCloseTo(v, 12);
      expect(agg.scores.average).toBeCloseTo(files.reduce((a, b) => a + b, 0) / files.length, 12);
      // e.g. engagement: gold 2, 4, 4, 3, 1, 5 → mean 19/6, max 5 → 19/6.
      expect(agg.scores.engagement_test).toBeCloseTo(19 / 6, 12);
    },
  );

  it('lists its deviations, the English fallback only for English', () => {
    const en = characterbench.deviations({ lang: 'en', reasoning: 'psy-cot' });
    expect(en.join('\n')).toMatch(/CharacterJudge/);
    expect(en.join('\n')).toMatch(/"psy-cot"/);
    expect(en.join('\n')).toMatch(/translation_en/);
    expect(characterbench.deviations({ lang: 'zh', reasoning: 'none' }).join('\n')).not.toMatch(/translation_en/);
  });
});
