// The CharacterBench loader on the sample files (read in place, never copied) and on broken files
// written to a temp folder.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchmarksDir, BENCHMARKS_MISSING, sample } from '@rapo/psycot/testing';
import { characterBenchFiles, CharacterBenchDataError, DIMENSIONS, loadCharacterBench, loadCharacterBenchFile } from './index.js';

const dir0 = benchmarksDir();
/** The samples are read in place; without them these tests are skipped. */
const have = dir0 !== undefined && existsSync(join(dir0, 'characterbench'));
const sampleIt = (title: string, fn: () => void) => it.skipIf(!have)(`${title} (${BENCHMARKS_MISSING})`, fn);

describe('CharacterBench samples', () => {
  const root = () => sample('characterbench');
  const raw = () => sample('characterbench/eval_data/raw_data');

  sampleIt('finds the test files below the benchmark folder and in raw_data alike', () => {
    const files = characterBenchFiles(root()).map((f) => f.split('/').at(-1));
    expect(files).toEqual([
      'attribute_consistency_bot_test.json',
      'attribute_consistency_human_test.json',
      'behavior_consistency_human_test.json',
      'empathetic_responsiveness_test.json',
      'engagement_test.json',
      'human_likeness_test.json',
      'memory_consistency_test.json',
    ]);
    expect(characterBenchFiles(raw())).toEqual(characterBenchFiles(root()));
  });

  sampleIt('loads one case per item with stable ids and the max gold of each file', () => {
    const cases = loadCharacterBench(root(), { lang: 'zh' });
    expect(cases).toHaveLength(42);
    expect(cases.slice(0, 6).map((c) => c.id)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `attribute_consistency_bot_test#${i}`));
    const maxGold = Object.fromEntries(cases.map((c) => [c.file, c.maxGold]));
    expect(maxGold).toEqual({
      attribute_consistency_bot_test: 4,
      attribute_consistency_human_test: 4,
      behavior_consistency_human_test: 3,
      empathetic_responsiveness_test: 4,
      engagement_test: 5,
      human_likeness_test: 5,
      memory_consistency_test: 4,
    });
    // The gold annotations of the samples, in file order (SOURCE.md lists them).
    expect(cases.filter((c) => c.file === 'engagement_test').map((c) => c.gold)).toEqual([2, 4, 4, 3, 1, 5]);
    // Every gold lies on its dimension's rubric scale; the scale's top is reached where the data reaches it.
    for (const c of cases) expect(c.gold).toBeLessThanOrEqual(DIMENSIONS[c.dimension].max);
    expect(loadCharacterBench(sample('characterbench/eval_data/raw_data/memory_consistency_test.json'), { lang: 'zh' }).map((c) => c.id)).toEqual(
      cases.filter((c) => c.file === 'memory_consistency_test').map((c) => c.id),
    );
  });

  sampleIt('reads the Chinese fields: dialogue up to the last user message, greeting first, the reference per dimension', () => {
    const cases = loadCharacterBench(root(), { lang: 'zh' });
    const first = cases[0]!;
    expect(first).toMatchObject({
      dimension: 'attribute_consistency_bot',
      character: '野原新之助',
      userName: '用户',
      message: '新之助，你妹妹叫什么名字呀？',
      reference: '小葵',
      gold: 4,
      lang: 'zh',
    });
    expect(first.history[0]).toEqual({ role: 'character', text: '漂亮大姐姐～我叫野原新之助，今年五岁' });
    expect(first.history[1]).toEqual({ role: 'user', text: '你好，小弟弟，我今年21岁' });
    expect(first.history).toHaveLength(37); // greeting + 36 dialogue turns before the question
    expect(first.profile.name).toBe('野原新之助');
    // Speakers named by the character's name (not "character") map to the character.
    const human = cases.find((c) => c.id === 'attribute_consistency_human_test#0')!;
    expect(human.reference).toContain('说话时常伴有咳嗽');
    expect(human.history.at(-1)!.role).toBe('character');
    expect(cases.find((c) => c.id === 'behavior_consistency_human_test#0')!.reference).toContain('大家闺秀');
    expect(cases.find((c) => c.id === 'empathetic_responsiveness_test#0')!.reference).toBe('自信与挑衅');
    expect(cases.find((c) => c.id === 'memory_consistency_test#0')!.reference).toContain('码头做表演');
    expect(cases.find((c) => c.id === 'engagement_test#0')!.reference).toBeUndefined();
    // Alternating turns after the greeting: every history starts with the character and ends with it.
    for (const c of cases) {
      expect(c.history.at(-1)?.role ?? 'character').toBe('character');
      expect(c.untranslated).toEqual([]);
    }
  });

  sampleIt('reads translation_en for English', () => {
    const cases = loadCharacterBench(root(), { lang: 'en' });
    expect(cases).toHaveLength(42);
    const first = cases[0]!;
    expect(first).toMatchObject({
      character: 'Shinnosuke Nohara',
      userName: 'User',
      message: 'Shinnosuke, what’s your sister’s name?',
      reference: 'Himawari',
      lang: 'en',
    });
    expect(first.profile.name).toBe('Shinnosuke Nohara');
    expect(first.history[1]!.text).toMatch(/21 years old/);
    const zh = loadCharacterBench(root(), { lang: 'zh' });
    // The translated dialogues map to the same user/character turns as the originals.
    expect(cases.map((c) => c.history.map((t) => t.role).join())).toEqual(zh.map((c) => c.history.map((t) => t.role).join()));
    expect(cases.find((c) => c.id === 'empathetic_responsiveness_test#1')!.reference).toMatch(/^[A-Za-z]/);
    expect(cases.every((c) => c.untranslated.length === 0)).toBe(true);
  });
});

// --- broken files ---------------------------------------------------------------------------

/** A small made-up item in CharacterBench's shape. */
function item(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    character_name: '阿梅',
    character_profile: '阿梅是港口茶馆的老板娘，说话爽快。',
    user_name: '用户',
    greeting: '来喝茶吗？',
    dialogue: [
      { turn: 1, speaker: 'user', utterance: '今天有什么茶？' },
      { turn: 1, speaker: 'character', utterance: '新到的乌龙。' },
      { turn: 2, speaker: 'user', utterance: '你刚才说新到的是什么茶？' },
    ],
    messages: { output: { dialogue_segments: ['新到的乌龙。'], question: '你刚才说新到的是什么茶？' } },
    annotation_score: 3,
    ...over,
  };
}

function writeFile(name: string, content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'rapo-cb-'));
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('CharacterBench loader errors', () => {
  const load =
    (file: string, lang: 'zh' | 'en' = 'zh') =>
    () =>
      loadCharacterBenchFile(file, lang);

  it('accepts a well-formed made-up file, and falls back to Chinese for an English run without translation', () => {
    const file = writeFile('memory_consistency_test.json', [item(), item({ annotation_score: 4 })]);
    const zh = loadCharacterBenchFile(file, 'zh');
    expect(zh.map((c) => [c.id, c.gold, c.maxGold])).toEqual([
      ['memory_consistency_test#0', 3, 4],
      ['memory_consistency_test#1', 4, 4],
    ]);
    const en = loadCharacterBenchFile(file, 'en');
    expect(en[0]!.lang).toBe('zh');
    expect(en[0]!.userName).toBe('用户');
  });

  it('names the file, item and field of each problem', () => {
    const missingDialogue = writeFile('memory_consistency_test.json', [item(), item({ dialogue: undefined })]);
    expect(load(missingDialogue)).toThrow(CharacterBenchDataError);
    expect(load(missingDialogue)).toThrow(`${missingDialogue}: item 1: dialogue is missing or not a non-empty array`);

    const badSpeaker = writeFile('memory_consistency_test.json', [item({ dialogue: [{ speaker: '路人', utterance: '嗨' }] })]);
    expect(load(badSpeaker)).toThrow(`${badSpeaker}: item 0: dialogue[0].speaker "路人" is neither the user nor the character "阿梅"`);

    const endsWithCharacter = writeFile('memory_consistency_test.json', [
      item({
        dialogue: [
          { speaker: 'user', utterance: '嗨' },
          { speaker: 'character', utterance: '嗨' },
        ],
      }),
    ]);
    expect(load(endsWithCharacter)).toThrow(/item 0: dialogue ends with a turn of the character/);

    const noUtterance = writeFile('memory_consistency_test.json', [item({ dialogue: [{ speaker: 'user' }] })]);
    expect(load(noUtterance)).toThrow(/item 0: dialogue\[0\]\.utterance is missing or not a string/);

    const noReference = writeFile('memory_consistency_test.json', [item(), item(), item({ messages: { output: {} } })]);
    expect(load(noReference)).toThrow(/item 2: messages\.output\.dialogue_segments is missing or empty \(the memory_consistency judge needs it/);

    const outOfScale = writeFile('behavior_consistency_human_test.json', [item({ response_messages: { character_style: '爽快' }, annotation_score: 4 })]);
    expect(load(outOfScale)).toThrow(/item 0: annotation_score is 4, outside the 1-3 scale of behavior_consistency_human/);

    const noGold = writeFile('engagement_test.json', [item({ annotation_score: undefined })]);
    expect(load(noGold)).toThrow(/item 0: annotation_score is missing or not a number/);

    const noName = writeFile('engagement_test.json', [item({ character_name: '' })]);
    expect(load(noName)).toThrow(/item 0: character_name is missing or empty/);
  });

  it('rejects files that are not JSON arrays, unknown dimensions and empty folders', () => {
    expect(load(writeFile('engagement_test.json', '[{"a": 1},'))).toThrow(/engagement_test\.json: not valid JSON/);
    expect(load(writeFile('engagement_test.json', { a: 1 }))).toThrow(/expected a JSON array of items but found object/);
    expect(load(writeFile('engagement_test.json', []))).toThrow(/the array holds no items/);
    expect(load(writeFile('charm_test.json', [item()]))).toThrow(/"charm_test" is not a CharacterBench test file/);
    const empty = mkdtempSync(join(tmpdir(), 'rapo-cb-'));
    mkdirSync(join(empty, 'eval_data', 'raw_data'), { recursive: true });
    expect(() => loadCharacterBench(empty, { lang: 'zh' })).toThrow(`${empty}: no *_test.json files in it, nor in eval_data/raw_data or raw_data below it`);
    expect(() => loadCharacterBench(join(empty, 'nope'), { lang: 'zh' })).toThrow(/does not exist/);
  });
});
