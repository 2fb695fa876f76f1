import { parseProfile, parsePsyCot, renderProfile } from '@rapo/psycot';
import { toJsonl } from '@rapo/files';
import { Rng } from '@rapo/random';
import { describe, expect, it } from 'vitest';
import {
  allUserTurns,
  classifyTurn,
  DEFAULT_MIX,
  factValue,
  FACT_ATTRIBUTES,
  generateTurn,
  generateWorld,
  PROFILE_PHRASINGS,
  profileText,
  prompts,
  promptMessages,
  referenceFor,
  sftCorpus,
  toProfile,
  traitOf,
  TURN_KINDS,
} from './index.js';

describe('world', () => {
  const world = generateWorld({ seed: 11, characters: 120 });

  it('has unique names, 2-3 compatible traits, and an 80/20 split by character', () => {
    expect(new Set(world.characters.map((c) => c.name)).size).toBe(120);
    for (const c of world.characters) {
      expect(c.traits.length).toBeGreaterThanOrEqual(2);
      expect(c.traits.length).toBeLessThanOrEqual(3);
      for (const t of c.traits) expect(c.traits).not.toContain(traitOf(t).opposite);
    }
    expect(world.heldOut).toHaveLength(24);
    expect(world.train).toHaveLength(96);
    const held = new Set(world.heldOut.map((c) => c.id));
    expect(world.train.some((c) => held.has(c.id))).toBe(false);
  });

  it('renders every fact in every phrasing, in a per-character order', () => {
    for (const c of world.characters.slice(0, 20)) {
      const texts = Array.from({ length: PROFILE_PHRASINGS }, (_, v) => profileText(c, v, world.seed));
      for (const text of texts) {
        for (const a of FACT_ATTRIBUTES) expect(text).toContain(factValue(c, a));
        for (const t of c.traits) expect(text).toContain(t);
        expect(text).toContain(c.secret);
      }
      expect(new Set(texts).size).toBe(PROFILE_PHRASINGS);
      expect(profileText(c, 0, world.seed)).toBe(texts[0]);
    }
    const orders = new Set(
      world.characters.slice(0, 20).map((c) =>
        profileText(c, 1, world.seed)
          .split('\n')
          .slice(1)
          .map((l) => l.split(':')[0])
          .join(),
      ),
    );
    expect(orders.size).toBeGreaterThan(10); // the layout is not a fixed template
  });

  it('gives a valid @rapo/psycot profile', () => {
    const c = world.characters[0]!;
    const p = parseProfile(toProfile(c));
    expect(renderProfile(p)).toContain(`Identity: ${c.age}-year-old ${c.occupation} from ${c.hometown}`);
  });

  it('rejects bad options', () => {
    expect(() => generateWorld({ characters: 1 })).toThrow(/Expected an integer in \[2, 100000\] for characters/);
    expect(() => generateWorld({ heldOutFraction: 1 })).toThrow(/heldOutFraction/);
  });
});

describe('user turns', () => {
  it('covers every kind, and every generated text classifies back to its turn', () => {
    const all = allUserTurns();
    expect(new Set(all.map((t) => t.kind))).toEqual(new Set(TURN_KINDS));
    expect(new Set(all.map((t) => t.text)).size).toBe(all.length);
    for (const t of all) expect(classifyTurn(t.text)).toEqual(t);
    const rng = new Rng(5);
    for (let i = 0; i < 500; i++) {
      const t = generateTurn(rng);
      expect(classifyTurn(t.text)).toEqual(t);
    }
    expect(classifyTurn('Tell me about the weather on Mars')).toBeUndefined();
    expect(generateTurn(new Rng(1), 'angry').text).toMatch(/^(I am furious! [A-Z]|I am so angry, [a-z])/);
  });
});

describe('corpora', () => {
  const world = generateWorld({ seed: 3, characters: 60 });

  it('is byte-identical for the same seed and differs for another', () => {
    const a = toJsonl(sftCorpus(world));
    const b = toJsonl(sftCorpus(generateWorld({ seed: 3, characters: 60 })));
    expect(a).toBe(b);
    expect(toJsonl(prompts(world, 'heldout'))).toBe(toJsonl(prompts(generateWorld({ seed: 3, characters: 60 }), 'heldout')));
    expect(toJsonl(sftCorpus(generateWorld({ seed: 4, characters: 60 })))).not.toBe(a);
    expect(toJsonl(sftCorpus(world, { seed: 9 }))).not.toBe(a);
  });

  it('never shows a held-out character to training, not even as the source of foreign facts', () => {
    const corpus = sftCorpus(world);
    const held = world.heldOut;
    const heldIds = new Set(held.map((c) => c.id));
    expect(corpus.every((e) => !heldIds.has(e.characterId) && e.split === 'train')).toBe(true);
    const text = toJsonl(corpus);
    for (const c of held) {
      expect(text).not.toContain(c.name);
    }
    for (const p of prompts(world, 'train')) expect(heldIds.has(p.characterId)).toBe(false);
    for (const p of prompts(world, 'heldout')) expect(heldIds.has(p.characterId)).toBe(true);
  });

  it('mixes response kinds in the configured proportions', () => {
    const corpus = sftCorpus(world, { examplesPerCharacter: 60 });
    for (const [kind, share] of Object.entries(DEFAULT_MIX)) {
      const got = corpus.filter((e) => e.responseKind === kind).length / corpus.length;
      expect(Math.abs(got - share)).toBeLessThan(0.03);
    }
    const onlyRef = sftCorpus(world, { mix: { generic: 0, padded: 0, foreign: 0, offstyle: 0 } });
    expect(onlyRef.every((e) => e.responseKind === 'reference')).toBe(true);
    expect(() => sftCorpus(world, { mix: { reference: -1 } })).toThrow('Expected a share >= 0 for mix.reference but received -1');
  });

  it('every example is well-formed Psy-CoT, and prompts become chat messages with the profile', () => {
    for (const e of sftCorpus(world).slice(0, 300)) expect(parsePsyCot(e.response).reply).toBe(e.reply);
    const p = prompts(world, 'heldout')[0]!;
    const m = promptMessages(p);
    expect(m[0]!.content).toContain(`You are ${p.characterName}.`);
    expect(m[0]!.content).toContain(p.profile);
    expect(m.at(-1)!.content).toBe(p.turn.text);
    expect(referenceFor(world, p).kind).toBe('reference');
  });
});
