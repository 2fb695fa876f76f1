// CharacterEval end to end against a scripted OpenAI-compatible server on 127.0.0.1: the model
// under test answers per context, the judge per (reply, metric); the aggregate is checked against
// numbers computed by hand from the scripted judge scores.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChatModel, type ChatMessage } from '@rapo/llm';
import { FakeChatServer, type Behaviour } from '@rapo/llm/testing';
import { benchmarksDir, BENCHMARKS_MISSING, sample } from '@rapo/psycot/testing';
import type { CaseRecord, EvalContext } from '../types.js';
import { charactereval, firstReplyLine, GROUPS, loadCharacterEvalData, METRIC_NAMES, type CharacterEvalCase } from './index.js';

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

/** Three made-up items: A (Fluency, Coherence, Empathy, Accuracy), B (Fluency, Behavior), C (no metrics). */
function dataset(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rapo-ce-e2e-'));
  writeFileSync(
    join(dir, 'test_data.jsonl'),
    JSON.stringify([
      { id: 11, role: '阿梅', novel_name: '茶馆', context: '客人：有什么茶？\n阿梅：（擦桌子）乌龙。\n客人：question-A' },
      { id: 12, role: '阿梅', novel_name: '茶馆', context: '掌柜：question-B' },
      { id: 13, role: '阿梅', novel_name: '茶馆', context: '客人：question-C' },
    ]),
  );
  writeFileSync(
    join(dir, 'id2metric.jsonl'),
    JSON.stringify({
      '11': [
        ['Fluency', '对话流利度'],
        ['Coherence', '对话连贯性'],
        ['Empathy', '共情度'],
        ['Accuracy', '知识准确率'],
      ],
      '12': [
        ['Fluency', '对话流利度'],
        ['Behavior', '行为一致性'],
      ],
    }),
  );
  writeFileSync(join(dir, 'character_profiles.json'), JSON.stringify({ 阿梅: { 姓名: '阿梅', 性别: '女', 身份: '茶馆老板娘', 性格: '爽快、热心' } }));
  return dir;
}

function context(lang: 'en' | 'zh', timeoutMs = 5000): EvalContext {
  const make = (name: string) => createChatModel(`openai:${url}#${name}`, { timeoutMs, retry: { maxRetries: 0 } });
  return { model: make('actor'), judge: make('judge'), reasoning: 'none', lang, judgeAttempts: 3, options: {} };
}

/** Judge answers keyed "<question>/<metric>"; a function gets the number of re-asks so far. */
function script(
  judgeAnswers: Record<string, string | ((reask: number) => string)>,
  actor: (q: string) => Behaviour = (q) => ({ kind: 'answer', content: `阿梅：answer-${q.split('question-')[1]}\n(and then she went on talking)` }),
) {
  server.respond((body) => {
    if (body.model === 'actor') return actor(lastUser(body));
    const prompt = messagesOf(body)[1]!.content;
    const reply = /answer-([A-Z])/.exec(prompt)?.[1];
    const metric = /(?:Metric|评价指标)[:：] ?(\w+)/.exec(prompt)?.[1];
    const a = judgeAnswers[`${reply}/${metric}`];
    if (a === undefined) return { kind: 'answer', content: `unexpected ${reply}/${metric}` };
    const reask = (messagesOf(body).length - 2) / 2;
    return { kind: 'answer', content: typeof a === 'string' ? a : a(reask) };
  });
}

async function runAll(cases: CharacterEvalCase[], ctx: EvalContext): Promise<CaseRecord[]> {
  const out: CaseRecord[] = [];
  for (const c of cases) out.push(await charactereval.runCase(c, ctx));
  return out;
}

describe('charactereval protocol', () => {
  it('judges each (context, metric), re-asks a malformed answer, fails one that never parses, and aggregates metrics and groups', async () => {
    script({
      'A/Fluency': 'Smooth.\nScore: 4',
      'A/Coherence': 'Follows on well.\nScore: 5',
      'A/Empathy': (reask) => (reask === 0 ? 'Score: 7/10' : 'Score: 3'), // nothing in 1-5: asked again
      'A/Accuracy': 'It is hard to say.', // never a score: the case fails
      'B/Fluency': 'Score: 2',
      'B/Behavior': 'Distinctly hers.\nScore: 5',
    });
    const { cases, skipped } = loadCharacterEvalData(dataset());
    expect(skipped).toEqual(['13']);
    expect(cases.map((c) => c.id)).toEqual(['11#Fluency', '11#Coherence', '11#Empathy', '11#Accuracy', '12#Fluency', '12#Behavior']);
    const records = await runAll(cases, context('en'));
    const byId = Object.fromEntries(records.map((r) => [r.id, r]));

    expect(byId['11#Fluency']).toMatchObject({
      status: 'ok',
      scores: { Fluency: 4 },
      meta: { item: '11', metric: 'Fluency', metricZh: '对话流利度', role: '阿梅' },
    });
    expect(byId['11#Empathy']!.scores).toEqual({ Empathy: 3 });
    expect(byId['11#Empathy']!.judgements[0]!.raw).toEqual(['Score: 7/10', 'Score: 3']);
    const failed = byId['11#Accuracy']!;
    expect(failed).toMatchObject({ status: 'failed', scores: {} });
    expect(failed.judgements[0]!.raw).toHaveLength(3);
    expect(failed.error).toMatch(/judge answer unreadable after 3 attempts/);
    // The reply is cut to its first line and loses the copied "阿梅：" prefix; the raw text is kept.
    expect(byId['11#Fluency']!.transcript.map((t) => [t.speaker, t.role, t.content])).toEqual([
      ['客人', 'context', '有什么茶？'],
      ['阿梅', 'context', '（擦桌子）乌龙。'],
      ['客人', 'context', 'question-A'],
      ['阿梅', 'model', 'answer-A'],
    ]);
    expect(byId['11#Fluency']!.transcript.at(-1)!.raw).toBe('阿梅：answer-A\n(and then she went on talking)');

    // By hand: Fluency mean(4, 2) = 3, Coherence 5, Empathy 3, Behavior 5 (Accuracy failed: absent).
    // Conversational Ability = mean(Fluency 3, Coherence 5) = 4; Character Consistency = Behavior 5;
    // Role-playing Attractiveness = Empathy 3.
    const agg = charactereval.aggregate(records);
    expect(agg.scores).toEqual({
      'Conversational Ability': 4,
      'Character Consistency': 5,
      'Role-playing Attractiveness': 3,
      Fluency: 3,
      Coherence: 5,
      Behavior: 5,
      Empathy: 3,
    });
    expect(agg.breakdown!['scored cases per metric']).toEqual({ Fluency: 2, Coherence: 1, Behavior: 1, Empathy: 1 });
    // Every metric and group mean is read on 1-5; a group's coverage on 0 to its number of metrics.
    expect(Object.keys(agg.ranges!.scores!)).toEqual(Object.keys(agg.scores));
    expect(new Set(Object.values(agg.ranges!.scores!).map(String))).toEqual(new Set(['1,5']));
    expect(agg.ranges!.breakdown!['metrics present per group']).toEqual({
      'Conversational Ability': [0, 3],
      'Character Consistency': [0, 5],
      'Role-playing Attractiveness': [0, 4],
    });
    expect(agg.ranges!.breakdown!['scored cases per metric']).toBeUndefined();
    expect(agg.breakdown!['metrics present per group']).toEqual({ 'Conversational Ability': 2, 'Character Consistency': 1, 'Role-playing Attractiveness': 1 });
  });

  it("gives the model the role's profile and the context as alternating turns, and the judge the metric's rubric", async () => {
    script({ 'A/Empathy': 'Score: 4' });
    const c = loadCharacterEvalData(dataset()).cases.find((x) => x.id === '11#Empathy')!;
    await charactereval.runCase(c, context('en'));
    const [actor, judge] = server.received.map((r) => r.body);
    expect(actor).toMatchObject({ model: 'actor', temperature: 0.7, max_tokens: 1024 });
    expect(messagesOf(actor!).map((m) => [m.role, m.content])).toEqual([
      ['system', expect.stringMatching(/茶馆老板娘[\s\S]*《茶馆》/)],
      ['user', '客人：有什么茶？'],
      ['assistant', '（擦桌子）乌龙。'],
      ['user', '客人：question-A'],
    ]);
    expect(messagesOf(actor!)[0]!.content).toContain('You are talking with: 客人');
    expect(judge).toMatchObject({ model: 'judge', temperature: 0 });
    const prompt = messagesOf(judge!)[1]!.content;
    expect(prompt).toContain('## Metric: Empathy (共情度)');
    expect(prompt).toContain('5: Understands the feelings and responds to them warmly or fittingly, in character.');
    expect(prompt).toContain('客人：question-A');
    expect(prompt).toContain('阿梅：answer-A');
    expect(prompt).not.toContain('went on talking');
  });

  it('asks in Chinese for a Chinese run', async () => {
    script({ 'B/Behavior': '很像她。\n评分：5' });
    const c = loadCharacterEvalData(dataset()).cases.find((x) => x.id === '12#Behavior')!;
    const r = await charactereval.runCase(c, context('zh'));
    expect(r.scores).toEqual({ Behavior: 5 });
    const [actor, judge] = server.received.map((x) => x.body);
    expect(messagesOf(actor!)[0]!.content).toContain('这段对话出自《茶馆》');
    expect(messagesOf(actor!).at(-1)!.content).toBe('掌柜：question-B');
    const prompt = messagesOf(judge!)[1]!.content;
    expect(prompt).toContain('## 评价指标：Behavior (行为一致性)');
    expect(prompt).toContain('评分：N');
  });

  it('rejects when the model under test does not answer in time', async () => {
    script({}, () => ({ kind: 'hang' }));
    const [c] = loadCharacterEvalData(dataset()).cases;
    await expect(charactereval.runCase(c!, context('en', 150))).rejects.toThrow(/did not answer within 150 ms/);
  });

  it('keeps the first line of a reply, without the role prefix', () => {
    expect(firstReplyLine('\n阿梅： 好的。\n客人：谢谢', '阿梅')).toBe('好的。');
    expect(firstReplyLine('（笑）好的。', '阿梅')).toBe('（笑）好的。');
    expect(firstReplyLine('', '阿梅')).toBe('');
  });

  const dir0 = benchmarksDir();
  const have = dir0 !== undefined && existsSync(join(dir0, 'charactereval'));
  it.skipIf(!have)(`runs every sample case; a judge scoring by metric gives those scores back per metric and group (${BENCHMARKS_MISSING})`, async () => {
    const cases = charactereval.load(sample('charactereval'), { lang: 'zh' });
    // Each metric gets its own fixed score: 1 + (its position in METRIC_NAMES) mod 5.
    const scoreOf = (m: string) => 1 + (METRIC_NAMES.indexOf(m as never) % 5);
    server.respond((body) => {
      if (body.model === 'actor') return { kind: 'answer', content: '（笑）好啊。' };
      const metric = /评价指标：(\w+)/.exec(messagesOf(body)[1]!.content)![1]!;
      return { kind: 'answer', content: `评分：${scoreOf(metric)}` };
    });
    const records = await runAll(cases, context('zh'));
    expect(records.every((r) => r.status === 'ok')).toBe(true);
    const agg = charactereval.aggregate(records);
    for (const m of METRIC_NAMES) expect(agg.scores[m]).toBe(scoreOf(m)); // all twelve metrics occur in the sample
    for (const [group, members] of Object.entries(GROUPS)) {
      expect(agg.scores[group]).toBeCloseTo(members.reduce((a, m) => a + scoreOf(m), 0) / members.length, 12);
    }
    expect(Object.values(agg.breakdown!['scored cases per metric']!).reduce((a, b) => a + b, 0)).toBe(93);
  });

  it('labels the judge as a proxy for the reward model in its deviations', () => {
    const d = charactereval.deviations({ lang: 'zh', reasoning: 'none' });
    expect(d[0]).toMatch(/^PROXY SCORER: .*BaichuanCharRM/);
    expect(d.join('\n')).toMatch(/id2metric entry are skipped/);
    expect(charactereval.deviations({ lang: 'en', reasoning: 'none' }).join('\n')).toMatch(/stays Chinese/);
  });
});
