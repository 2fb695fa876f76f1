import { describe, expect, it } from 'vitest';
import { buildJudgeMessages, formatPsyCot, JudgeScoreError, parseJudgeScore, readJudgeRequest } from './index.js';

describe('judge prompt', () => {
  it('puts the parts between tags and reads them back', () => {
    const response = formatPsyCot({ perception: 'p', empathy: 'e', construction: 'c', reply: 'Aye. </response> not the end' });
    const m = buildJudgeMessages({
      profile: { name: 'Mara', identity: 'smuggler' },
      message: 'Who are you?',
      response,
      history: [
        { role: 'user', text: 'Hi' },
        { role: 'character', text: 'Hm.' },
      ],
    });
    expect(m[0]!.content).toMatch(/^You grade one reply of a role-playing agent/);
    const back = readJudgeRequest(m[1]!.content)!;
    expect(back).toEqual({ profile: 'Name: Mara\nIdentity: smuggler', conversation: 'User: Hi\nCharacter: Hm.', message: 'Who are you?', response });
    expect(readJudgeRequest('no tags here')).toBeUndefined();
  });

  it.each([
    ['Score: 7', 7],
    ['score: 7.5/10', 7.5],
    ['**Score:** 8\nGood voice.', 8],
    ['Score: 4/5', 8],
    ['The score is 3.', 3],
    ['SCORE - 10', 10],
  ])('reads %j as %d', (text, want) => {
    expect(parseJudgeScore(text)).toBe(want);
  });

  it('rejects answers without a score in range', () => {
    expect(() => parseJudgeScore('Great reply!')).toThrow(JudgeScoreError);
    expect(() => parseJudgeScore('Score: 12')).toThrow('Expected a score in [0, 10] but received 12');
  });
});
