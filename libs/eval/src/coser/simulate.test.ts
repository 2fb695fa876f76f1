import { describe, expect, it } from 'vitest';
import type { CoserTestItem } from './load.js';
import { decideNextSpeaker, END_CHAT, parseNextSpeaker, stripSpeakerLabel } from './simulate.js';

const names = ['Mr Bennet', 'Elizabeth Bennet', 'Environment', END_CHAT];

describe('parseNextSpeaker', () => {
  it('reads an exact name, ignoring case, quotes, markdown, a lead-in and final punctuation', () => {
    expect(parseNextSpeaker('Elizabeth Bennet', names)).toBe('Elizabeth Bennet');
    expect(parseNextSpeaker('  **"mr bennet."**\n', names)).toBe('Mr Bennet');
    expect(parseNextSpeaker('Next speaker: Environment', names)).toBe('Environment');
  });

  it('reads <END CHAT> anywhere, and a bare END CHAT', () => {
    expect(parseNextSpeaker('The scene is over. <END CHAT>', names)).toBe(END_CHAT);
    expect(parseNextSpeaker('end chat', names)).toBe(END_CHAT);
  });

  it('drops a <think> block first', () => {
    expect(parseNextSpeaker('<think>Maybe Mr Bennet? No.</think>\nElizabeth Bennet', names)).toBe('Elizabeth Bennet');
  });

  it('otherwise takes the name mentioned first, as whole words', () => {
    expect(parseNextSpeaker('I think Elizabeth Bennet should answer Mr Bennet now.', names)).toBe('Elizabeth Bennet');
    expect(parseNextSpeaker("After Mr Bennet's remark, the environment reacts", names)).toBe('Mr Bennet');
  });

  it('gives null for an answer that names nobody (a first name alone, "random")', () => {
    expect(parseNextSpeaker('Elizabeth', names)).toBeNull();
    expect(parseNextSpeaker('random', names)).toBeNull();
    expect(parseNextSpeaker('', names)).toBeNull();
  });
});

describe('decideNextSpeaker', () => {
  const item = {
    speaking_characters_w_env: ['Ann', 'Tom', 'Maid'],
    major_characters: ['Ann', 'Tom'],
  } as unknown as CoserTestItem;
  const turns = [{ speaker: 'Ann' }, { speaker: 'Tom' }, { speaker: 'Environment' }, { speaker: 'Ann' }];

  it('follows a valid answer, minor characters included', () => {
    expect(decideNextSpeaker({ raw: 'Maid', round: 3, current: 'Ann', item, turns })).toEqual({ round: 3, raw: 'Maid', parsed: 'Maid', next: 'Maid' });
  });

  it('falls back to the major character or Environment who acted least recently, and says why', () => {
    // Tom last acted at turn 1, Environment at turn 2: Tom
    const unknown = decideNextSpeaker({ raw: 'Gandalf', round: 3, current: 'Ann', item, turns });
    expect(unknown.next).toBe('Tom');
    expect(unknown.parsed).toBeNull();
    expect(unknown.fallback).toMatch(/names none of the speakers; chose Tom/);
    const same = decideNextSpeaker({ raw: 'Ann', round: 3, current: 'Ann', item, turns });
    expect(same.next).toBe('Tom');
    expect(same.fallback).toMatch(/Ann has just spoken/);
  });

  it('honours <END CHAT> from round 5 on, not before', () => {
    expect(decideNextSpeaker({ raw: END_CHAT, round: 5, current: 'Ann', item, turns }).next).toBe(END_CHAT);
    const early = decideNextSpeaker({ raw: END_CHAT, round: 4, current: 'Ann', item, turns });
    expect(early.next).toBe('Tom');
    expect(early.fallback).toMatch(/too early/);
  });

  it('prefers a speaker who has not acted yet', () => {
    expect(decideNextSpeaker({ raw: '?', round: 0, current: 'Ann', item, turns: [{ speaker: 'Ann' }] }).next).toBe('Tom');
    expect(decideNextSpeaker({ raw: '?', round: 1, current: 'Tom', item, turns: [{ speaker: 'Ann' }, { speaker: 'Tom' }] }).next).toBe('Environment');
  });
});

describe('stripSpeakerLabel', () => {
  it("removes the speaker's own leading label only", () => {
    expect(stripSpeakerLabel('Ann: (smiles) Hello.', 'Ann')).toBe('(smiles) Hello.');
    expect(stripSpeakerLabel('ann：你好', 'Ann')).toBe('你好');
    expect(stripSpeakerLabel('Tom: Hello.', 'Ann')).toBe('Tom: Hello.');
  });
});
