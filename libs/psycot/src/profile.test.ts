import { describe, expect, it } from 'vitest';
import { DynamicProfile, parseProfile, ProfileError, profileText, renderProfile, StructuredProfileSchema } from './index.js';

const mara = {
  name: 'Mara Vell',
  identity: 'retired smuggler, 58, runs a tea house in the port of Lissa',
  personality: ['wry', 'guarded', 'loyal'],
  background: 'Lost her ship and crew in the storm of 1871.',
  relationships: [{ name: 'Tomas', relation: 'estranged son' }],
  speechStyle: 'short sentences, sailor slang',
  knowledgeLimits: 'knows nothing of steam engines or the capital',
  goals: ['keep the tea house afloat'],
  attributes: { fear: 'deep water' },
  freeText: 'She hums sea shanties when nervous.',
};

describe('profiles', () => {
  it('accepts a structured profile and renders every field', () => {
    const p = parseProfile(mara);
    expect(p).toEqual(mara);
    const text = renderProfile(p);
    for (const line of [
      'Name: Mara Vell',
      'Personality: wry, guarded, loyal',
      '- Tomas: estranged son',
      'Speech style: short sentences, sailor slang',
      'Knowledge limits: knows nothing',
      'Goals and motives:',
      '- keep the tea house afloat',
      '- fear: deep water',
      'Description:',
      'She hums sea shanties',
    ])
      expect(text).toContain(line);
  });

  it('accepts plain text, with or without a name', () => {
    expect(parseProfile('A retired smuggler who runs a tea house.')).toEqual({ freeText: 'A retired smuggler who runs a tea house.' });
    const p = parseProfile('A retired smuggler.', { name: 'Mara' });
    expect(p).toEqual({ name: 'Mara', freeText: 'A retired smuggler.' });
    expect(renderProfile(p)).toBe('Name: Mara\nA retired smuggler.');
    expect(renderProfile(parseProfile({ name: '李越', personality: ['坚强', '独立'] }), 'zh')).toBe('姓名：李越\n性格：坚强、独立');
  });

  it('names the first bad field', () => {
    expect(() => parseProfile({ name: 'X', personality: 'brave' })).toThrow(ProfileError);
    expect(() => parseProfile({ name: 'X', personality: 'brave' })).toThrow(/^Invalid character profile at personality: /);
    expect(() => parseProfile({ name: 'X', hobbies: [] })).toThrow(/Invalid character profile at profile: .*hobbies/);
    expect(() => parseProfile('   ')).toThrow('a profile text cannot be empty');
    expect(() => parseProfile({})).toThrow('a profile needs at least one field');
    expect(() => parseProfile(42)).toThrow('Expected a profile object or a profile text but received 42');
    expect(StructuredProfileSchema.safeParse({ name: 'X', relationships: [{ name: 'Y' }] }).success).toBe(false);
  });

  it('dynamic profiles keep learned facts apart from the original and show them to prompts', () => {
    const d = new DynamicProfile(mara);
    d.learn('The user is called Ines and works at the harbour.', { turn: 3, source: 'user' });
    d.learn('The user is called Ines and works at the harbour.'); // once is enough
    d.learn('Mara promised to teach Ines a shanty.', { source: 'character' });
    expect(d.base).toEqual(mara);
    expect(Object.isFrozen(d.base)).toBe(true);
    expect(d.learned).toHaveLength(2);
    const text = profileText(d);
    expect(text.startsWith(renderProfile(parseProfile(mara)))).toBe(true);
    expect(text).toContain('Learned during this conversation:\n- The user is called Ines and works at the harbour.\n- Mara promised');
    const copy = DynamicProfile.fromJSON(JSON.parse(JSON.stringify(d)));
    expect(copy.render()).toBe(d.render());
    expect(copy.learned[0]).toEqual({ text: 'The user is called Ines and works at the harbour.', turn: 3, source: 'user' });
    expect(() => d.learn('  ')).toThrow(ProfileError);
  });
});
