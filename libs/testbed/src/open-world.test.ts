// Open-class values, the held-out value space, fresh characters, the SFT curriculum's examples
// and the reading tasks of the base model.
import { parsePsyCot } from '@rapo/psycot';
import { Rng } from '@rapo/random';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MIX,
  drawValue,
  factValue,
  fidelity,
  freshCharacter,
  generateWorld,
  LocalJudge,
  OPEN_CATEGORIES,
  PARTS,
  PHRASING_NAMES,
  PROFILE_PHRASINGS,
  profileText,
  readingExample,
  readingValue,
  referenceResponse,
  sftExample,
  valueCount,
  valueSpace,
  paddedResponse,
  type Character,
  type OpenCategory,
} from './index.js';
import { mentions } from './text.js';

/** The open values of a character, by category. */
function openValues(c: Character): Record<OpenCategory, string> {
  const [firstName, surname] = c.name.split(' ') as [string, string];
  return {
    firstName,
    surname,
    hometown: c.hometown,
    occupation: c.occupation,
    like: c.like,
    dislike: c.dislike,
    fear: c.fear,
    goal: c.goal,
    secret: c.secret,
    relation: c.relation,
  };
}

describe('open-class values', () => {
  it('every category has thousands of values (names and towns far more)', () => {
    for (const cat of OPEN_CATEGORIES) expect(valueCount(cat), cat).toBeGreaterThanOrEqual(cat === 'relation' ? 100 : 1000);
    for (const cat of ['firstName', 'hometown'] as const) expect(valueCount(cat)).toBeGreaterThan(20_000);
    expect(valueCount('surname')).toBeGreaterThan(5000);
    // Draws do spread over that space.
    const rng = new Rng(3);
    const seen = new Set(Array.from({ length: 2000 }, () => drawValue(rng, 'occupation', 'train')));
    expect(seen.size).toBeGreaterThan(800);
  });

  it('no word belongs to two categories, so whole-word search cannot confuse them', () => {
    const owner = new Map<string, string>();
    for (const [cat, parts] of Object.entries(PARTS)) {
      for (const list of Object.values(parts) as readonly (readonly string[])[]) {
        for (const word of list) {
          const prev = owner.get(word);
          expect(prev === undefined || prev === cat, `"${word}" is in ${prev} and ${cat}`).toBe(true);
          owner.set(word, cat);
        }
      }
    }
    // Sampled values of one category never contain a value of another as whole words.
    const rng = new Rng(8);
    const samples = OPEN_CATEGORIES.map((cat) => [cat, Array.from({ length: 80 }, () => drawValue(rng, cat, rng.chance(0.5) ? 'train' : 'heldout'))] as const);
    for (const [a, xs] of samples) {
      for (const [b, ys] of samples) {
        if (a === b || (a === 'firstName' && b === 'surname') || (a === 'surname' && b === 'firstName')) continue;
        for (const x of xs.slice(0, 20)) for (const y of ys) expect(mentions(x, y), `${a} "${x}" contains ${b} "${y}"`).toBe(false);
      }
    }
  });

  it('about one value in five is reserved for held-out characters, and drawValue keeps to its side', () => {
    const rng = new Rng(11);
    for (const cat of OPEN_CATEGORIES) {
      const spaces = Array.from({ length: 600 }, () => valueSpace(cat, drawValue(rng, cat, rng.chance(0.5) ? 'train' : 'heldout')));
      expect(spaces.includes('train') && spaces.includes('heldout')).toBe(true);
      for (let i = 0; i < 50; i++) {
        expect(valueSpace(cat, drawValue(rng, cat, 'heldout'))).toBe('heldout');
        expect(valueSpace(cat, drawValue(rng, cat, 'train'))).toBe('train');
      }
    }
    // The split itself: a fixed function of the value.
    const held = Array.from({ length: 4000 }, (_, i) => valueSpace('hometown', `Town${i}`)).filter((s) => s === 'heldout').length / 4000;
    expect(held).toBeGreaterThan(0.17);
    expect(held).toBeLessThan(0.23);
  });
});

describe('the world and fresh characters', () => {
  const world = generateWorld({ seed: 2, characters: 100 });

  it('draws held-out characters from the held-out side of every value space, and the rest from the other', () => {
    for (const c of world.heldOut) for (const [cat, v] of Object.entries(openValues(c))) expect(valueSpace(cat as OpenCategory, v)).toBe('heldout');
    for (const c of world.train) for (const [cat, v] of Object.entries(openValues(c))) expect(valueSpace(cat as OpenCategory, v)).toBe('train');
    // So no training character shares a fact with a held-out one.
    const heldValues = new Set(world.heldOut.flatMap((c) => Object.values(openValues(c))));
    expect(world.train.flatMap((c) => Object.values(openValues(c))).filter((v) => heldValues.has(v))).toEqual([]);
  });

  it('fresh characters are new every time, fixed by their labels, and never hold a held-out value', () => {
    const a = Array.from({ length: 300 }, (_, i) => freshCharacter(4, 'sft', i, 0));
    expect(new Set(a.map((c) => c.name)).size).toBe(300);
    expect(new Set(a.map((c) => c.hometown)).size).toBeGreaterThan(280);
    expect(freshCharacter(4, 'sft', 7, 0)).toEqual(a[7]);
    expect(freshCharacter(5, 'sft', 7, 0)).not.toEqual(a[7]);
    for (const c of a) for (const [cat, v] of Object.entries(openValues(c))) expect(valueSpace(cat as OpenCategory, v)).toBe('train');
  });

  it('renders a key: value phrasing with every fact on its own line, in a per-character order', () => {
    const kv = PHRASING_NAMES.indexOf('key-value');
    expect(kv).toBe(PROFILE_PHRASINGS - 1);
    const orders = new Set<string>();
    for (const c of world.characters.slice(0, 30)) {
      const lines = profileText(c, kv, 1).split('\n');
      expect(lines).toContain(`name: ${c.name}`);
      expect(lines).toContain(`hometown: ${c.hometown}`);
      expect(lines).toContain(`occupation: ${c.occupation}`);
      expect(lines).toContain(`secret: "${c.secret}."`);
      expect(lines.length).toBe(14);
      orders.add(lines.map((l) => l.split(':')[0]).join());
    }
    expect(orders.size).toBeGreaterThan(25);
  });
});

describe('SFT examples (fresh characters and the curriculum)', () => {
  const world = generateWorld({ seed: 6, characters: 40 });

  it('are fixed by (seed, step, index), with a new character each', () => {
    const a = sftExample({ seed: 1, stage: 'mix' }, 3, 2);
    expect(sftExample({ seed: 1, stage: 'mix' }, 3, 2)).toEqual(a);
    expect(sftExample({ seed: 1, stage: 'mix' }, 3, 1).character!.name).not.toBe(a.character!.name);
    expect(a.profile).toContain(a.character!.name);
  });

  it('copy: fact questions answered by the reference; grounded: the reference to every kind of turn', () => {
    const copy = Array.from({ length: 200 }, (_, i) => sftExample({ seed: 2, stage: 'copy' }, i, 0));
    expect(copy.every((e) => e.turn.kind === 'fact' && e.responseKind === 'reference')).toBe(true);
    expect(new Set(copy.map((e) => e.turn.attribute)).size).toBe(9);
    const grounded = Array.from({ length: 400 }, (_, i) => sftExample({ seed: 2, stage: 'grounded' }, i, 0));
    expect(grounded.every((e) => e.responseKind === 'reference')).toBe(true);
    expect(new Set(grounded.map((e) => e.turn.kind)).size).toBe(9);
    for (const e of grounded) expect(e.response).toBe(referenceResponse(e.character!, e.turn).text);
  });

  it('mix: response kinds in the configured proportions, no foreign facts by default', () => {
    const mix = Array.from({ length: 3000 }, (_, i) => sftExample({ seed: 3, stage: 'mix' }, i, 0));
    for (const [kind, share] of Object.entries(DEFAULT_MIX)) {
      expect(Math.abs(mix.filter((e) => e.responseKind === kind).length / mix.length - share), kind).toBeLessThan(0.03);
    }
    const foreign = Array.from({ length: 50 }, (_, i) =>
      sftExample({ seed: 3, stage: 'mix', mix: { reference: 0, generic: 0, padded: 0, offstyle: 0, foreign: 1 } }, i, 0),
    );
    expect(foreign.every((e) => e.responseKind === 'foreign')).toBe(true);
    // Another character's facts in the character's voice.
    for (const e of foreign.filter((x) => x.turn.kind === 'fact' && x.turn.attribute !== 'age')) {
      expect(mentions(e.reply, factValue(e.character!, e.turn.attribute!))).toBe(false);
    }
    for (const e of mix.slice(0, 300)) expect(parsePsyCot(e.response).reply).toBe(e.reply);
  });

  it("can draw from a list of characters instead (a world's training characters)", () => {
    const ids = new Set(world.train.map((c) => c.id));
    const ex = Array.from({ length: 100 }, (_, i) => sftExample({ seed: 4, stage: 'mix', characters: world.train }, i, 0));
    expect(ex.every((e) => ids.has(e.characterId))).toBe(true);
    expect(() => sftExample({ seed: 4, stage: 'mix', characters: [] }, 0, 0)).toThrow('Expected at least one character');
    expect(() => sftExample({ seed: 4, stage: 'mix', phrasings: [9] }, 0, 0)).toThrow('Expected profile phrasings in [0, 4] but received 9');
  });

  it('padded answers: the reference plus empathy phrases, which the judge pays for and the metric does not', () => {
    const judge = new LocalJudge({ noise: 0 });
    const rng = new Rng(5);
    for (let i = 0; i < 100; i++) {
      const e = sftExample({ seed: 5, stage: 'grounded' }, i, 0);
      const c = e.character!;
      const w = { ...world, characters: [...world.characters, c] };
      const padded = paddedResponse(c, e.turn, rng);
      expect(padded.kind).toBe('padded');
      expect(padded.reply.endsWith(e.reply)).toBe(true);
      expect(judge.score(c, e.turn, padded.text).total).toBeGreaterThan(judge.score(c, e.turn, e.response).total);
      expect(fidelity(w, c, e.turn, padded.text).overall).toBeLessThan(fidelity(w, c, e.turn, e.response).overall);
    }
  });
});

describe('reading tasks', () => {
  it("answer questions field by field with the profile's values", () => {
    for (let i = 0; i < 200; i++) {
      const r = readingExample({ seed: 1, mix: { repeat: 0, restate: 0, questions: 1, roleplay: 0 } }, i, 0);
      expect(r.task).toBe('questions');
      expect(r.fields!.length).toBeGreaterThanOrEqual(3);
      const lines = r.response.split('\n');
      expect(lines).toEqual(r.fields!.map((f) => `${f}: ${readingValue(r.character, f)}`));
      // (Traits and speech are rephrased by some phrasings: "kind and stoic", "they speak".)
      for (const f of r.fields!) if (f !== 'traits' && f !== 'speech') expect(r.profile).toContain(readingValue(r.character, f));
      expect(r.message).toContain(r.character.firstName);
    }
  });

  it('repeat the profile, or rewrite it in another phrasing and order', () => {
    const ex = Array.from({ length: 300 }, (_, i) => readingExample({ seed: 2 }, i, 0));
    const repeat = ex.filter((e) => e.task === 'repeat');
    const restate = ex.filter((e) => e.task === 'restate');
    expect(repeat.length).toBeGreaterThan(30);
    expect(restate.length).toBeGreaterThan(50);
    for (const e of repeat) expect(e.response).toBe(e.profile);
    for (const e of restate) {
      expect(e.response).not.toBe(e.profile);
      expect(e.response).toContain(e.character.hometown);
      expect(e.response).toContain(e.character.secret);
    }
  });

  it('answer a user in character with the reference reply, without reasoning', () => {
    const ex = Array.from({ length: 300 }, (_, i) => readingExample({ seed: 4 }, i, 0));
    const roleplay = ex.filter((e) => e.task === 'roleplay');
    expect(roleplay.length).toBeGreaterThan(50);
    for (const e of roleplay) {
      expect(e.message).toBe(e.turn!.text);
      expect(e.response).toBe(referenceResponse(e.character, e.turn!).reply);
      expect(e.response).not.toContain('<think>');
    }
  });

  it('uses held-out values only when asked for the held-out space', () => {
    for (let i = 0; i < 50; i++) {
      const train = readingExample({ seed: 3 }, i, 0).character;
      const held = readingExample({ seed: 3, space: 'heldout' }, i, 0).character;
      for (const [cat, v] of Object.entries(openValues(train))) expect(valueSpace(cat as OpenCategory, v)).toBe('train');
      for (const [cat, v] of Object.entries(openValues(held))) expect(valueSpace(cat as OpenCategory, v)).toBe('heldout');
    }
    expect(() => readingExample({ seed: 3, mix: { repeat: 0, restate: 0, questions: 0, roleplay: 0 } }, 0, 0)).toThrow(
      'Expected some reading task to have a positive share',
    );
  });
});
