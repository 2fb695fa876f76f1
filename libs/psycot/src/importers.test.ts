// The importers on the real benchmark samples in ../shared/benchmarks.
import { describe, expect, it } from 'vitest';
import { coserProfiles, fromCharacterBench, fromCharacterEval, fromCoser, renderProfile, type CharacterBenchItem, type CoserItem } from './index.js';
import { benchmarksDir, BENCHMARKS_MISSING, readBenchmarkJson } from './test-fixtures.js';

const missing = benchmarksDir() ? undefined : BENCHMARKS_MISSING;

describe.skipIf(missing !== undefined)(`benchmark profile importers${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('CoSER: every character of every item, from profiles, plot entries and scene motives', () => {
    const items = readBenchmarkJson<CoserItem[]>('coser/data/test/test_set.json');
    expect(items.length).toBeGreaterThan(10);
    for (const item of items) {
      const profiles = coserProfiles(item);
      for (const name of item.major_characters ?? []) expect(profiles.has(name)).toBe(true);
      for (const [name, p] of profiles) {
        expect(p.name).toBe(name);
        expect(renderProfile(p).length).toBeGreaterThan(10);
      }
    }
    const first = items[0]!;
    const eliz = fromCoser(first, 'Elizabeth Bennet');
    expect(eliz.freeText).toBe(first.character_profiles!['Elizabeth Bennet']);
    expect(eliz.identity).toContain('intelligent and strong-willed');
    expect(eliz.goals?.[0]).toContain('anxious');
    expect(() => fromCoser(first, 'Nobody')).toThrow('CoSER item has no profile, plot entry or scene motive for character "Nobody"');
  });

  it('CoSER example set: "motivation" instead of "thought"', () => {
    const items = readBenchmarkJson<CoserItem[]>('coser/data/test/example_test_set.json');
    const fool = fromCoser(items[0]!, 'Fool');
    expect(fool.goals?.[0]).toMatch(/^The Fool is deeply empathetic/);
  });

  it('CharacterBench: Chinese profile, or the English translation', () => {
    const items = readBenchmarkJson<CharacterBenchItem[]>('characterbench/eval_data/raw_data/engagement_test.json');
    const zh = fromCharacterBench(items[0]!);
    expect(zh).toEqual({ name: '李越', freeText: items[0]!.character_profile });
    const en = fromCharacterBench(items[0]!, 'en');
    expect(en.name).toBe('Li Yue');
    expect(en.freeText).toMatch(/^Li Yue, a legendary actress/);
    expect(() => fromCharacterBench({ character_name: 'X', character_profile: 'p' }, 'en')).toThrow('has no English translation');
  });

  it('CharacterEval: attribute dicts become fields, the rest stays as attributes', () => {
    const profiles = readBenchmarkJson<Record<string, Record<string, never>>>('charactereval/data/character_profiles.json');
    for (const attrs of Object.values(profiles)) {
      const p = fromCharacterEval(attrs);
      expect(p.name).toBe(attrs['姓名']);
    }
    const luo = fromCharacterEval(profiles['洛枳']!);
    expect(luo.identity).toContain('性别：女');
    expect(luo.background).toContain('振华中学');
    expect(luo.relationships).toContainEqual({ relation: '丈夫', name: '盛淮南' });
    expect(luo.relationships?.find((r) => r.relation === '朋友')?.name).toContain('耿耿');
    expect(luo.attributes?.['星座']).toBe('巨蟹座');
    expect(luo.attributes?.['居住地']).toBeUndefined(); // "未知" (unknown) is left out
    expect(luo.personality?.length).toBeGreaterThan(1);
    expect(() => fromCharacterEval({ 性别: '女' })).toThrow('CharacterEval profile has no 姓名 (name)');
  });
});
