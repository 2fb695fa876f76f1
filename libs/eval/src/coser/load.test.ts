import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { benchmarksDir, BENCHMARKS_MISSING, sample } from '@rapo/psycot/testing';
import { coser } from './index.js';
import { coserCast, coserProfile } from './simulate.js';

const have = benchmarksDir() !== undefined && existsSync(join(benchmarksDir()!, 'coser'));
const tmp = mkdtempSync(join(tmpdir(), 'coser-load-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A small, made-up item in CoSER's shape (no text from the real data). */
function item(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    book: 'A Made-Up Book',
    scenario: 'A quiet kitchen at dawn.',
    key_characters: [{ name: 'Ann', thought: 'I must tell him today.' }],
    dialogues: [
      { character: 'Ann', message: '[Now or never.] Tom, sit down.' },
      { character: 'Tom', message: 'What is it?' },
    ],
    speaking_characters_w_env: ['Ann', 'Tom', 'Environment'],
    major_characters: ['Ann', 'Tom'],
    plot: { i_p: 3, summary: 'Ann tells Tom the farm is sold.', key_characters: [{ name: 'Ann', description: 'A farmer.' }] },
    character_profiles: { Ann: 'Ann runs the farm.', Tom: 'Tom is her brother.' },
    i_c: 1,
    tag: 'ood',
    ...overrides,
  };
}

function writeItems(name: string, items: unknown): string {
  const file = join(tmp, name);
  writeFileSync(file, JSON.stringify(items));
  return file;
}

describe('CoSER loader on the sample files', () => {
  it.skipIf(!have)(`reads test_set.json: 40 items, ids book-plot-conversation, thought as the motive (${BENCHMARKS_MISSING})`, () => {
    const cases = coser.load(sample('coser/data/test/test_set.json'), { lang: 'en' });
    expect(cases).toHaveLength(40);
    expect(new Set(cases.map((c) => c.id)).size).toBe(40);
    const first = cases[0]!;
    expect(first.id).toBe(`${first.item.book}-${first.item.plot.i_p}-${first.item.i_c}`);
    expect(first.index).toBe(0);
    // test_set.json writes the scene's inner state as `thought`
    for (const c of cases) {
      for (const k of c.item.key_characters) {
        expect(k.thought).toBeTypeOf('string');
        expect(c.motives[k.name]).toBe(k.thought!.trim());
      }
    }
    expect(cases.filter((c) => c.item.tag === 'id')).toHaveLength(14);
    expect(cases.filter((c) => c.item.tag === 'ood')).toHaveLength(26);
  });

  it.skipIf(!have)(`reads example_test_set.json: 3 items, motivation as the motive, ids as the authors' evaluation keys (${BENCHMARKS_MISSING})`, () => {
    const cases = coser.load(sample('coser/data/test/example_test_set.json'), { lang: 'en' });
    expect(cases).toHaveLength(3);
    const evaluation = JSON.parse(readFileSync(sample('coser/exp/evaluation/test_set_gpt-4o.json'), 'utf8')) as { cases: Record<string, unknown> };
    expect(cases.map((c) => c.id)).toEqual(Object.keys(evaluation.cases));
    for (const c of cases) {
      expect(c.item.plot.text).toBeTypeOf('string');
      for (const k of c.item.key_characters) {
        expect(k.thought).toBeUndefined();
        expect(c.motives[k.name]).toBe(k.motivation!.trim());
      }
      // the motive reaches the character's own profile, never the profile others see
      const name = c.item.key_characters[0]!.name;
      expect(coserProfile(c, name, true).goals).toEqual([c.motives[name]]);
      expect(coserProfile(c, name, false).goals).toBeUndefined();
    }
  });

  it.skipIf(!have)(`gives a speaker without any profile a one-line profile (${BENCHMARKS_MISSING})`, () => {
    const cases = coser.load(sample('coser/data/test/test_set.json'), { lang: 'en' });
    const withServant = cases.find((c) =>
      coserCast(c.item).some((n) => !(n in c.item.character_profiles) && !c.item.plot.key_characters.some((k) => k.name === n)),
    );
    expect(withServant).toBeDefined();
    const name = coserCast(withServant!.item).find((n) => !(n in withServant!.item.character_profiles))!;
    expect(coserProfile(withServant!, name, true).identity).toMatch(/minor character/);
  });
});

describe('CoSER loader on made-up files', () => {
  it('accepts a directory holding test_set.json, and the motivation variant', () => {
    const dir = join(tmp, 'dir');
    mkdirSync(dir);
    writeFileSync(join(dir, 'test_set.json'), JSON.stringify([item({ key_characters: [{ name: 'Ann', motivation: 'Be brave.' }] })]));
    const [c] = coser.load(dir, { lang: 'zh' });
    expect(c!.id).toBe('A Made-Up Book-3-1');
    expect(c!.file).toBe(join(dir, 'test_set.json'));
    expect(c!.lang).toBe('zh');
    expect(c!.motives).toEqual({ Ann: 'Be brave.' });
  });

  it('keeps ids unique and stable when an item repeats', () => {
    const file = writeItems('repeat.json', [item(), item(), item({ i_c: 2 })]);
    expect(coser.load(file, { lang: 'en' }).map((c) => c.id)).toEqual(['A Made-Up Book-3-1', 'A Made-Up Book-3-1#2', 'A Made-Up Book-3-2']);
  });

  it('accepts a plot with text but no summary', () => {
    const file = writeItems('text-only.json', [item({ plot: { i_p: 3, text: 'Chapter text.', key_characters: [] } })]);
    expect(coser.load(file, { lang: 'en' })[0]!.item.plot.text).toBe('Chapter text.');
  });

  const broken: [string, Record<string, unknown>, RegExp][] = [
    ['no scenario', { scenario: undefined }, /item 1 \(A Made-Up Book\): field scenario: expected a non-empty string but found nothing/],
    ['empty dialogues', { dialogues: [] }, /item 1 .*field dialogues: expected a non-empty array/],
    ['a dialogue without speaker', { dialogues: [{ message: 'hi' }] }, /item 1 .*field dialogues\[0\]\.character/],
    [
      'only the environment speaks',
      { speaking_characters_w_env: ['Environment'] },
      /field speaking_characters_w_env: names no character other than Environment/,
    ],
    ['a plot without index', { plot: { summary: 's', key_characters: [] } }, /field plot\.i_p: expected an integer but found nothing/],
    ['a plot without summary or text', { plot: { i_p: 1, key_characters: [] } }, /field plot\.summary: expected a plot summary \(or at least plot\.text\)/],
    [
      'a non-text thought',
      { key_characters: [{ name: 'Ann', thought: 42 }] },
      /field key_characters\[0\]\.thought: expected a non-empty string but found number 42/,
    ],
    ['a fractional i_c', { i_c: 1.5 }, /field i_c: expected an integer but found number 1\.5/],
    ['a profile that is not text', { character_profiles: { Ann: { x: 1 } } }, /field character_profiles\["Ann"\]: expected a profile text/],
  ];
  for (const [what, overrides, message] of broken) {
    it(`names the file, the item and the field for ${what}`, () => {
      const file = writeItems(`broken-${what.replaceAll(' ', '-')}.json`, [item(), item(overrides)]);
      expect(() => coser.load(file, { lang: 'en' })).toThrow(message);
      expect(() => coser.load(file, { lang: 'en' })).toThrow(file);
    });
  }

  it('names the file for missing, non-JSON, non-array and empty data', () => {
    expect(() => coser.load(join(tmp, 'nope.json'), { lang: 'en' })).toThrow(/CoSER data not found at .*nope\.json/);
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, '{not json');
    expect(() => coser.load(bad, { lang: 'en' })).toThrow(/bad\.json: not readable as JSON/);
    expect(() => coser.load(writeItems('obj.json', { a: 1 }), { lang: 'en' })).toThrow(/obj\.json: expected a JSON array of CoSER items/);
    expect(() => coser.load(writeItems('empty.json', []), { lang: 'en' })).toThrow(/empty\.json: the file holds no items/);
    const emptyDir = join(tmp, 'emptydir');
    mkdirSync(emptyDir);
    expect(() => coser.load(emptyDir, { lang: 'en' })).toThrow(/is a directory without test_set\.json/);
  });
});
