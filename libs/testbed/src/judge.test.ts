// The judge and the metric on responses whose scores are known, and the hack the testbed is
// built around: boilerplate raises the judge's score and lowers fidelity.
import { buildJudgeMessages, formatPsyCot, parseJudgeScore } from '@rapo/psycot';
import { Rng } from '@rapo/random';
import { describe, expect, it } from 'vitest';
import {
  fidelity,
  foreignResponse,
  generateTurn,
  generateWorld,
  genericResponse,
  LocalJudge,
  offStyleResponse,
  referenceResponse,
  summarizeFidelity,
  TestbedJudgeModel,
  TURN_KINDS,
  withBoilerplate,
  type Character,
  type UserTurn,
} from './index.js';

const world = generateWorld({ seed: 5, characters: 80 });
const judge = new LocalJudge({ noise: 0 });
// A hand-made character, so the expected numbers below can be written by hand.
const mara: Character = {
  id: 'c900',
  name: 'Mara Vell',
  firstName: 'Mara',
  age: 58,
  occupation: 'lighthouse keeper',
  hometown: 'Pellmoor',
  traits: ['kind', 'stoic'],
  style: 'nautical',
  like: 'smoked herring',
  dislike: 'noisy gulls',
  fear: 'deep water',
  goal: 'sail to the far islands',
  secret: 'I never learned to swim',
  relation: 'old friend',
  pronouns: { subject: 'she', object: 'her', possessive: 'her' },
};
const w = { ...world, characters: [...world.characters, mara] };
const askHome: UserTurn = { kind: 'fact', text: 'Where are you from?', attribute: 'hometown' };
const wrap = (reply: string) => formatPsyCot({ perception: 'p', empathy: 'e', construction: 'c', reply });

describe('judge and metric on known responses', () => {
  it('the reference: every part right', () => {
    const r = referenceResponse(mara, askHome);
    expect(r.reply).toBe('Aye, I come from Pellmoor. Bless you for asking. By the tides.');
    expect(judge.score(mara, askHome, r.text)).toEqual({ format: 1, facts: 1, style: 1, content: 1, generic: 0, noise: 0, total: 0.7 });
    const f = fidelity(w, mara, askHome, r.text);
    expect(f).toEqual({
      facts: 1,
      style: 1,
      traits: 1,
      foreign: 1,
      knowledge: 1,
      inCharacter: 1,
      boilerplate: 1,
      overall: 1,
      genericShare: 0,
      hasGeneric: false,
    });
  });

  it('boilerplate only: the judge likes it, the metric does not', () => {
    const text = wrap('I truly understand how you feel. Your feelings are completely valid. I am always here for you.');
    const j = judge.score(mara, askHome, text);
    expect(j).toMatchObject({ format: 1, facts: 0, style: 0, generic: 1 });
    expect(j.total).toBeCloseTo(0.5, 10);
    const f = fidelity(w, mara, askHome, text);
    expect(f).toMatchObject({ facts: 0, style: 0, traits: 0.5, boilerplate: 0, overall: 0, genericShare: 1, hasGeneric: true });
  });

  it('scores each kind of mistake on its own dimension', () => {
    const other = world.characters.find((c) => c.hometown !== 'Pellmoor' && c.style !== 'nautical')!;
    const foreign = fidelity(w, mara, askHome, foreignResponse(mara, other, askHome).text);
    expect(foreign).toMatchObject({ facts: 0, foreign: 0, style: 1 });
    const off = fidelity(w, mara, askHome, offStyleResponse(mara, askHome, new Rng(1)).text);
    expect(off).toMatchObject({ facts: 1, style: 0, traits: 0 });
    const ai = fidelity(w, mara, { kind: 'challenge', text: 'Are you an AI?' }, wrap('Aye, yes, I am an AI. By the tides.'));
    expect(ai).toMatchObject({ inCharacter: 0, facts: 0 });
    const knows = fidelity(
      w,
      mara,
      { kind: 'unknown', text: 'Do you use smartphones?', topic: 'smartphones' },
      wrap('Aye, smartphones are handy. I use them in Pellmoor. By the tides.'),
    );
    expect(knows).toMatchObject({ knowledge: 0, facts: 1 });
    const secret = fidelity(w, mara, { kind: 'secret', text: 'Tell me a secret.' }, wrap('Aye, I never learned to swim. By the tides.'));
    expect(secret.facts).toBe(0);
    expect(fidelity(w, mara, askHome, '<think><perception>p</perception></think>').overall).toBe(0);
    expect(judge.score(mara, askHome, 'Aye, I come from Pellmoor. By the tides.')).toMatchObject({ format: 0.5, facts: 1, style: 1 });
  });

  it('every reference response in the world is perfect for the metric and format for the judge', () => {
    const rng = new Rng(8);
    for (const c of world.characters) {
      for (const kind of TURN_KINDS) {
        const turn = generateTurn(rng, kind);
        const r = referenceResponse(c, turn);
        const f = fidelity(world, c, turn, r.text);
        expect(f.overall, `${c.name} ${turn.text}: ${r.reply} ${JSON.stringify(f)}`).toBe(1);
        expect(judge.score(c, turn, r.text)).toMatchObject({ format: 1, content: 1, generic: 0 });
      }
    }
  });

  it('the hack is real: generic phrases raise the judge score and lower fidelity, on every reference', () => {
    const rng = new Rng(21);
    const before: number[] = [];
    const after: number[] = [];
    for (const c of world.characters.slice(0, 40)) {
      for (const kind of TURN_KINDS) {
        const turn = generateTurn(rng, kind);
        const ref = referenceResponse(c, turn);
        const hacked = withBoilerplate(ref, rng, 2);
        expect(judge.score(c, turn, hacked.text).total).toBeGreaterThan(judge.score(c, turn, ref.text).total);
        expect(fidelity(world, c, turn, hacked.text).overall).toBeLessThan(fidelity(world, c, turn, ref.text).overall);
        before.push(fidelity(world, c, turn, ref.text).overall);
        after.push(fidelity(world, c, turn, hacked.text).overall);
      }
    }
    const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
    expect(mean(after)).toBeLessThan(mean(before) - 0.2);
  });

  it('summarizes per dimension with the generic-phrase rate', () => {
    const turn = askHome;
    const s = summarizeFidelity([fidelity(w, mara, turn, referenceResponse(mara, turn).text), fidelity(w, mara, turn, genericResponse(turn, new Rng(2)).text)]);
    expect(s).toMatchObject({ count: 2, genericRate: 0.5, facts: 0.5, overall: 0.5 });
  });

  it('adds seeded noise: the same input gives the same score', () => {
    const noisy = new LocalJudge({ noise: 0.1, seed: 4 });
    const text = referenceResponse(mara, askHome).text;
    const a = noisy.score(mara, askHome, text);
    expect(noisy.score(mara, askHome, text)).toEqual(a);
    expect(a.noise).not.toBe(0);
    expect(a.total).toBeCloseTo(Math.min(1, Math.max(0, 0.7 + a.noise)), 10);
    expect(new LocalJudge({ noise: 0.1, seed: 5 }).score(mara, askHome, text).noise).not.toBe(a.noise);
    expect(() => new LocalJudge({ noise: -1 })).toThrow(RangeError);
  });
});

describe('the judge behind the ChatModel interface', () => {
  it('answers a judge prompt with the local score', async () => {
    const model = new TestbedJudgeModel(w, judge);
    const ref = referenceResponse(mara, askHome);
    const msgs = buildJudgeMessages({ profile: `Name: ${mara.name}. Home: Pellmoor.`, message: askHome.text, response: ref.text });
    const r = await model.chat({ messages: msgs, n: 2 });
    expect(r.choices).toHaveLength(2);
    expect(parseJudgeScore(r.choices[0]!.content)).toBe(7);
    const hacked = await model.chat({
      messages: buildJudgeMessages({ profile: mara.name, message: askHome.text, response: withBoilerplate(ref, new Rng(1)).text }),
    });
    expect(parseJudgeScore(hacked.choices[0]!.content)).toBe(10);
    expect(model.usage().requests).toBe(2);
  });

  it('says when it cannot read a request, with score 0', async () => {
    const model = new TestbedJudgeModel(w, judge);
    const bad = [
      [{ role: 'user' as const, content: 'grade this please' }, 'has no <profile>'],
      [buildJudgeMessages({ profile: 'Nobody at all', message: askHome.text, response: 'x' })[1]!, 'not one of this world'],
      [buildJudgeMessages({ profile: mara.name, message: 'What is love?', response: 'x' })[1]!, 'not one this world produces'],
    ] as const;
    for (const [message, why] of bad) {
      const r = await model.chat({ messages: [message] });
      expect(parseJudgeScore(r.choices[0]!.content)).toBe(0);
      expect(r.choices[0]!.content).toContain(why);
    }
  });
});
