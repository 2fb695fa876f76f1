// The CharacterEval loader on the sample folder (read in place, never copied) and on broken
// folders written to a temp dir.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchmarksDir, BENCHMARKS_MISSING, sample } from '@rapo/psycot/testing';
import {
  CharacterEvalDataError,
  contextTurns,
  GROUPS,
  loadCharacterEval,
  loadCharacterEvalData,
  METRIC_NAMES,
  parseContext,
  readJsonOrLines,
} from './index.js';

const dir0 = benchmarksDir();
/** The samples are read in place; without them these tests are skipped. */
const have = dir0 !== undefined && existsSync(join(dir0, 'charactereval'));
const sampleIt = (title: string, fn: () => void) => it.skipIf(!have)(`${title} (${BENCHMARKS_MISSING})`, fn);

describe('CharacterEval samples', () => {
  const dir = () => sample('charactereval/data');

  sampleIt('reads the .jsonl files that are one JSON document each', () => {
    const data = readJsonOrLines(sample('charactereval/data/test_data.jsonl'));
    expect(Array.isArray(data)).toBe(true);
    expect(data).toHaveLength(28);
    const metrics = readJsonOrLines(sample('charactereval/data/id2metric.jsonl')) as Record<string, unknown>;
    expect(Array.isArray(metrics)).toBe(false);
    expect(Object.keys(metrics)).toHaveLength(26);
  });

  sampleIt('loads one case per (item, metric) and skips the items without an id2metric entry', () => {
    const r = loadCharacterEvalData(dir());
    expect(r.items).toBe(28);
    expect(r.skipped).toEqual(['5611', '1949']);
    expect(r.cases).toHaveLength(93);
    // The benchmark folder itself (data/ below it) loads the same.
    expect(loadCharacterEval(sample('charactereval'), { lang: 'zh' }).map((c) => c.id)).toEqual(r.cases.map((c) => c.id));
    const perMetric: Record<string, number> = {};
    for (const c of r.cases) perMetric[c.metric] = (perMetric[c.metric] ?? 0) + 1;
    expect(perMetric).toEqual({
      Accuracy: 26,
      Consistency: 10,
      Coherence: 9,
      Exposure: 9,
      Behavior: 8,
      Utterance: 6,
      Humanlikeness: 5,
      Hallucination: 4,
      Communication_skills: 4,
      Fluency: 4,
      Diversity: 4,
      Empathy: 4,
    });
    expect(r.cases.filter((c) => c.itemId === '5320').map((c) => c.id)).toEqual(['5320#Accuracy', '5320#Communication_skills']);
    expect(r.cases.filter((c) => c.itemId === '6208').map((c) => c.id)).toEqual(['6208#Accuracy']);
    expect(r.cases.filter((c) => c.itemId === '6418').map((c) => c.id)).toEqual(['6418#Accuracy', '6418#Utterance', '6418#Consistency']);
    expect(new Set(r.cases.map((c) => c.id)).size).toBe(93);
  });

  sampleIt('reads the role, its profile, the context lines and the metric names', () => {
    const { cases } = loadCharacterEvalData(dir());
    const c = cases[0]!;
    expect(c).toMatchObject({ itemId: '5320', role: '佟湘玉', novel: '武林外传', metric: 'Accuracy', metricZh: '知识准确率' });
    expect(c.profile.name).toBe('佟湘玉');
    expect(c.context[0]).toEqual({ speaker: '佟湘玉', text: '展堂。（下楼看到老邢）老邢。' });
    expect(c.context.at(-1)).toEqual({ speaker: '老邢', text: '这不是打人，这是老白咬的。（坐）' });
    const turns = contextTurns(c.context, c.role);
    expect(turns[0]).toEqual({ role: 'character', text: '展堂。（下楼看到老邢）老邢。' });
    expect(turns[1]).toEqual({ role: 'user', text: '老邢：（拿出一张纸）你来得正好。' });
    expect(turns.at(-1)!.role).toBe('user');
    // Every role of the sample has a profile, and every context ends with someone else speaking.
    for (const x of cases) {
      expect(x.profile.name).toBe(x.role);
      expect(x.context.at(-1)!.speaker).not.toBe(x.role);
    }
    const zhNames = Object.fromEntries(cases.map((x) => [x.metric, x.metricZh]));
    expect(zhNames).toMatchObject({ Fluency: '对话流利度', Empathy: '共情度', Hallucination: '知识幻觉性', Communication_skills: '交流技巧' });
  });
});

describe('CharacterEval context and groups', () => {
  it('splits a context on the full-width colon, joining speakerless lines to the line before', () => {
    expect(parseContext('甲：你好\n（众人沉默）\n乙：嗯：好')).toEqual([
      { speaker: '甲', text: '你好\n（众人沉默）' },
      { speaker: '乙', text: '嗯：好' },
    ]);
    expect(contextTurns(parseContext('甲：一\n丙：二\n乙：三'), '乙')).toEqual([
      { role: 'user', text: '甲：一\n丙：二' },
      { role: 'character', text: '三' },
    ]);
  });

  it('groups the twelve metrics as the leaderboard does, each metric once', () => {
    expect(Object.values(GROUPS).flat().sort()).toEqual([...METRIC_NAMES].sort());
    expect(METRIC_NAMES).toHaveLength(12);
  });
});

// --- broken folders ---------------------------------------------------------------------------

const PROFILES = { 阿梅: { 姓名: '阿梅', 性别: '女', 性格: '爽快' } };
const DATA = [
  { id: 1, role: '阿梅', novel_name: '茶馆', context: '客人：有什么茶？\n阿梅：乌龙。\n客人：好喝吗？' },
  { id: 2, role: '阿梅', novel_name: '茶馆', context: '客人：多少钱？' },
];
const METRICS = {
  '1': [['Fluency', '对话流利度']],
  '2': [
    ['Empathy', '共情度'],
    ['Behavior', '行为一致性'],
  ],
};

function folder(files: Partial<Record<'test_data.jsonl' | 'id2metric.jsonl' | 'character_profiles.json', unknown>>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rapo-ce-'));
  const all = { 'test_data.jsonl': DATA, 'id2metric.jsonl': METRICS, 'character_profiles.json': PROFILES, ...files };
  for (const [name, content] of Object.entries(all)) {
    if (content === undefined) continue;
    writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  return dir;
}

describe('CharacterEval loader', () => {
  it('loads a made-up folder, and real JSON Lines as well as one JSON document', () => {
    const ids = loadCharacterEval(folder({}), { lang: 'zh' }).map((c) => c.id);
    expect(ids).toEqual(['1#Fluency', '2#Empathy', '2#Behavior']);
    const lines = folder({
      'test_data.jsonl': DATA.map((d) => JSON.stringify(d)).join('\n') + '\n',
      'id2metric.jsonl': Object.entries(METRICS)
        .map(([k, v]) => JSON.stringify({ [k]: v }))
        .join('\n'),
    });
    expect(loadCharacterEval(lines, { lang: 'zh' }).map((c) => c.id)).toEqual(ids);
    // A metric given by its English name alone is accepted.
    expect(loadCharacterEval(folder({ 'id2metric.jsonl': { '1': ['Fluency'] } }), { lang: 'zh' }).map((c) => [c.id, c.metricZh])).toEqual([['1#Fluency', '']]);
  });

  it('names the file and the problem', () => {
    const noProfiles = folder({ 'character_profiles.json': undefined });
    expect(() => loadCharacterEval(noProfiles, { lang: 'zh' })).toThrow(CharacterEvalDataError);
    expect(() => loadCharacterEval(noProfiles, { lang: 'zh' })).toThrow(`${join(noProfiles, 'character_profiles.json')}: missing`);

    const badJson = folder({ 'test_data.jsonl': '[{"id": 1,' });
    expect(() => loadCharacterEval(badJson, { lang: 'zh' })).toThrow(new RegExp(`${join(badJson, 'test_data.jsonl')}: not valid JSON`));
    const badLines = folder({ 'test_data.jsonl': '{"id": 1}\n{"id": 2,\n' });
    expect(() => loadCharacterEval(badLines, { lang: 'zh' })).toThrow(/test_data\.jsonl: neither one JSON document .* nor JSON Lines \(line 2:/);

    expect(() => loadCharacterEval(folder({ 'test_data.jsonl': { id: 1 } }), { lang: 'zh' })).toThrow(/test_data\.jsonl: expected a JSON array of items/);
    expect(() => loadCharacterEval(folder({ 'id2metric.jsonl': [1, 2] }), { lang: 'zh' })).toThrow(
      /id2metric\.jsonl: expected one JSON object mapping item ids/,
    );
    expect(() => loadCharacterEval(folder({ 'id2metric.jsonl': { '1': [['Charm', '魅力']] } }), { lang: 'zh' })).toThrow(
      /id2metric\.jsonl: id 1, metric 0: \["Charm","魅力"\] is not one of Fluency, Coherence/,
    );
    expect(() => loadCharacterEval(folder({ 'id2metric.jsonl': { '1': 'Fluency' } }), { lang: 'zh' })).toThrow(
      /id2metric\.jsonl: the entry for id 1 is not a list/,
    );
    expect(() => loadCharacterEval(folder({ 'character_profiles.json': { 别人: { 姓名: '别人' } } }), { lang: 'zh' })).toThrow(
      /character_profiles\.json: no profile for the role "阿梅" \(used by id 1\)/,
    );
    expect(() => loadCharacterEval(folder({ 'character_profiles.json': { 阿梅: { 性别: '女' } } }), { lang: 'zh' })).toThrow(
      /character_profiles\.json: the profile of "阿梅" cannot be read: .*姓名/,
    );
    expect(() => loadCharacterEval(folder({ 'test_data.jsonl': [{ id: 1, role: '阿梅', context: '客人：嗨\n阿梅：嗨' }] }), { lang: 'zh' })).toThrow(
      /test_data\.jsonl: item 0 \(id 1\): the context ends with a line of 阿梅/,
    );
    expect(() => loadCharacterEval(folder({ 'test_data.jsonl': [{ id: 1, role: '阿梅' }] }), { lang: 'zh' })).toThrow(
      /item 0 \(id 1\): context is missing or empty/,
    );
    expect(() => loadCharacterEval(folder({ 'test_data.jsonl': [DATA[0], DATA[0]] }), { lang: 'zh' })).toThrow(/item 1: id 1 appears twice/);

    const empty = mkdtempSync(join(tmpdir(), 'rapo-ce-'));
    mkdirSync(join(empty, 'data'));
    expect(() => loadCharacterEval(empty, { lang: 'zh' })).toThrow(`${empty}: no test_data.jsonl in it or in data/ below it`);
  });
});
