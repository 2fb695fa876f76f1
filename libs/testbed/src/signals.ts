// What the judge and the metric look for in a reply: the character's facts, style and trait
// markers, other characters' facts, generic boilerplate, claims the character cannot make.
import { AI_ADMISSIONS, GENERIC_PHRASES, REFUSALS, STYLES, UNKNOWN_TOPICS } from './lexicon.js';
import { mentions, mentionsAny, sentences } from './text.js';
import { factValue, styleOf, traitOf, type Character, type FactAttribute, type World } from './world.js';

/** The generic phrases without their final punctuation, as they are looked for in text. */
export const GENERIC_CORES = GENERIC_PHRASES.map((p) => p.replace(/[.!?]$/, ''));

/** Distinct generic phrases in the text. */
export function genericCount(text: string): number {
  return GENERIC_CORES.filter((p) => mentions(text, p)).length;
}

/** Share of the reply's sentences that are generic boilerplate. */
export function genericShare(reply: string): number {
  const all = sentences(reply);
  if (all.length === 0) return 0;
  return all.filter((s) => GENERIC_CORES.some((p) => mentions(s, p))).length / all.length;
}

export function factsPresent(reply: string, c: Character, attrs: readonly FactAttribute[]): number {
  if (attrs.length === 0) return 1;
  return attrs.filter((a) => mentions(reply, factValue(c, a))).length / attrs.length;
}

export function ownStyle(reply: string, c: Character): boolean {
  return mentionsAny(reply, styleOf(c.style).markers);
}

export function otherStyles(reply: string, c: Character): boolean {
  return STYLES.some((s) => s.name !== c.style && mentionsAny(reply, s.markers));
}

export function ownTraits(reply: string, c: Character): boolean {
  return c.traits.some((t) => mentionsAny(reply, traitOf(t).markers));
}

export function oppositeTraits(reply: string, c: Character): boolean {
  return c.traits.some((t) => mentionsAny(reply, traitOf(traitOf(t).opposite).markers));
}

// Values that identify other characters: names and the distinctive facts (ages and the
// user-relation are too common to tell anyone apart).
const FOREIGN_ATTRS = ['name', 'occupation', 'hometown', 'like', 'dislike', 'fear', 'goal', 'secret'] as const;
const indexes = new WeakMap<World, Map<string, Set<string>>>();

function valueIndex(world: World): Map<string, Set<string>> {
  let idx = indexes.get(world);
  if (!idx) {
    idx = new Map();
    for (const c of world.characters) {
      for (const a of FOREIGN_ATTRS) {
        const v = a === 'secret' ? c.secret : c[a];
        if (!idx.has(v)) idx.set(v, new Set());
        idx.get(v)!.add(c.id);
      }
    }
    indexes.set(world, idx);
  }
  return idx;
}

/** Facts of other characters in the reply (values the character itself does not have). */
export function foreignFacts(reply: string, c: Character, world: World): string[] {
  const out: string[] = [];
  for (const [value, owners] of valueIndex(world)) {
    if (!owners.has(c.id) && mentions(reply, value)) out.push(value);
  }
  return out;
}

/** Talks about something from outside the world without declining it. */
export function outOfKnowledge(reply: string): boolean {
  return UNKNOWN_TOPICS.some((t) => mentions(reply, t)) && !mentionsAny(reply, REFUSALS);
}

export function admitsAi(reply: string): boolean {
  return mentionsAny(reply, AI_ADMISSIONS);
}
