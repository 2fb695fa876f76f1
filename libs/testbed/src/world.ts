// Characters generated from a seed, the train / held-out split by character, and the profile
// in structured form (a @rapo/psycot Profile) and as text in several phrasings, with the
// sentences in a different order per character, so a model has to read the profile rather
// than remember where each fact sits.
import type { Profile } from '@rapo/psycot';
import { PRONOUNS, STYLES, TRAITS, type Style, type Trait } from './lexicon.js';
import { Rng } from '@rapo/random';
import { capitalize } from './text.js';
import { article, drawValue, type ValueSpace } from './values.js';

export interface Character {
  id: string;
  name: string;
  firstName: string;
  age: number;
  occupation: string;
  hometown: string;
  traits: string[];
  style: string;
  like: string;
  dislike: string;
  fear: string;
  goal: string;
  /** In the character's own words. */
  secret: string;
  /** What the user is to the character. */
  relation: string;
  pronouns: { subject: string; object: string; possessive: string };
}

/** The facts a turn can ask about, and the character's value for each. */
export const FACT_ATTRIBUTES = ['name', 'age', 'occupation', 'hometown', 'like', 'dislike', 'fear', 'goal', 'relation'] as const;
export type FactAttribute = (typeof FACT_ATTRIBUTES)[number];

export function factValue(c: Character, attr: FactAttribute): string {
  return attr === 'age' ? String(c.age) : c[attr];
}

export interface WorldOptions {
  /** Default 1. */
  seed?: number;
  /** Default 200. */
  characters?: number;
  /** Share of characters held out from every training corpus and RL prompt. Default 0.2. */
  heldOutFraction?: number;
}

export interface World {
  seed: number;
  characters: Character[];
  train: Character[];
  heldOut: Character[];
  byId: Map<string, Character>;
  byName: Map<string, Character>;
}

export function traitOf(name: string): Trait {
  const t = TRAITS.find((x) => x.name === name);
  if (!t) throw new RangeError(`Unknown trait "${name}"`);
  return t;
}

export function styleOf(name: string): Style {
  const s = STYLES.find((x) => x.name === name);
  if (!s) throw new RangeError(`Unknown speech style "${name}"`);
  return s;
}

function pickTraits(rng: Rng): string[] {
  const count = 2 + rng.int(2);
  const chosen: Trait[] = [];
  for (const t of rng.shuffle(TRAITS)) {
    if (chosen.length === count) break;
    if (!chosen.some((c) => c.opposite === t.name)) chosen.push(t);
  }
  return chosen.map((t) => t.name);
}

/** The most characters a world may have. */
export const MAX_CHARACTERS = 100_000;

/**
 * A character drawn by `rng`, every open fact from `space`: a held-out character's facts are
 * never drawn for anyone else (values.ts).
 */
export function drawCharacter(rng: Rng, id: string, space: ValueSpace): Character {
  const firstName = drawValue(rng, 'firstName', space);
  const surname = drawValue(rng, 'surname', space);
  return {
    id,
    name: `${firstName} ${surname}`,
    firstName,
    age: 18 + rng.int(63),
    occupation: drawValue(rng, 'occupation', space),
    hometown: drawValue(rng, 'hometown', space),
    traits: pickTraits(rng),
    style: rng.pick(STYLES).name,
    like: drawValue(rng, 'like', space),
    dislike: drawValue(rng, 'dislike', space),
    fear: drawValue(rng, 'fear', space),
    goal: drawValue(rng, 'goal', space),
    secret: drawValue(rng, 'secret', space),
    relation: drawValue(rng, 'relation', space),
    pronouns: { ...rng.pick(PRONOUNS) },
  };
}

/**
 * A character that belongs to no world: fresh facts from the training side of every value
 * space, fixed by (seed, labels). SFT on fresh characters cannot be learned by memorizing.
 */
export function freshCharacter(seed: number, ...labels: (string | number)[]): Character {
  return drawCharacter(Rng.derive(seed, 'fresh', ...labels), `fresh-${labels.join('-')}`, 'train');
}

export function generateWorld(options: WorldOptions = {}): World {
  const seed = options.seed ?? 1;
  const n = options.characters ?? 200;
  const heldOutFraction = options.heldOutFraction ?? 0.2;
  if (!(Number.isInteger(n) && n >= 2 && n <= MAX_CHARACTERS)) {
    throw new RangeError(`Expected an integer in [2, ${MAX_CHARACTERS}] for characters but received ${n}`);
  }
  if (!(heldOutFraction > 0 && heldOutFraction < 1)) {
    throw new RangeError(`Expected a number in (0, 1) for heldOutFraction but received ${heldOutFraction}`);
  }
  const held = Math.min(n - 1, Math.max(1, Math.round(n * heldOutFraction)));
  const heldIds = new Set(
    Rng.derive(seed, 'split').sample(
      Array.from({ length: n }, (_, i) => i),
      held,
    ),
  );
  const names = new Set<string>();
  const characters: Character[] = [];
  for (let i = 0; i < n; i++) {
    const id = `c${String(i).padStart(3, '0')}`;
    // Names are unique in a world; a repeat (rare) is drawn again from the next generator.
    for (let attempt = 0; ; attempt++) {
      const c = drawCharacter(Rng.derive(seed, 'character', i, attempt), id, heldIds.has(i) ? 'heldout' : 'train');
      if (names.has(c.name)) continue;
      names.add(c.name);
      characters.push(c);
      break;
    }
  }
  return {
    seed,
    characters,
    train: characters.filter((_, i) => !heldIds.has(i)),
    heldOut: characters.filter((_, i) => heldIds.has(i)),
    byId: new Map(characters.map((c) => [c.id, c])),
    byName: new Map(characters.map((c) => [c.name, c])),
  };
}

export const KNOWLEDGE_LIMITS = 'knows only the coast towns and the old crafts, and nothing of modern machines or inventions';

/** The character as a @rapo/psycot profile. */
export function toProfile(c: Character): Profile {
  return {
    name: c.name,
    identity: `${c.age}-year-old ${c.occupation} from ${c.hometown}`,
    personality: [...c.traits],
    speechStyle: styleOf(c.style).description,
    knowledgeLimits: KNOWLEDGE_LIMITS,
    goals: [c.goal],
    relationships: [{ name: 'the user', relation: c.relation }],
    attributes: { likes: c.like, dislikes: c.dislike, fear: c.fear, secret: c.secret },
  };
}

// --- profile text ------------------------------------------------------------------------------

function verbs(c: Character) {
  const they = c.pronouns.subject === 'they';
  const S = capitalize(c.pronouns.subject);
  return { S, P: capitalize(c.pronouns.possessive), is: they ? 'are' : 'is', s: they ? '' : 's', has: they ? 'have' : 'has' };
}

function joinTraits(traits: string[]): string {
  return traits.length === 1 ? traits[0]! : `${traits.slice(0, -1).join(', ')} and ${traits[traits.length - 1]}`;
}

/** The phrasings of a profile text: a first sentence, then sentences to be put in any order. */
const PHRASINGS: ((c: Character) => { first: string; rest: string[] })[] = [
  (c) => {
    const v = verbs(c);
    return {
      first: `${c.name} is ${/^(8|11|18|8\d)$/.test(String(c.age)) ? 'an' : 'a'} ${c.age}-year-old ${c.occupation} from ${c.hometown}.`,
      rest: [
        `${v.S} ${v.is} ${joinTraits(c.traits)}.`,
        `${v.S} ${styleOf(c.style).description}.`,
        `${v.S} love${v.s} ${c.like} but cannot stand ${c.dislike}.`,
        `${v.P} greatest fear is ${c.fear}.`,
        `${v.S} hope${v.s} to ${c.goal}.`,
        `A secret ${c.pronouns.subject} keep${v.s}: "${c.secret}."`,
        `${v.S} ${v.is} the user's ${c.relation}.`,
        `${v.S} ${KNOWLEDGE_LIMITS.replace('knows', `know${v.s}`)}.`,
      ],
    };
  },
  (c) => ({
    first: `Name: ${c.name}.`,
    rest: [
      `Age: ${c.age}.`,
      `Work: ${c.occupation}.`,
      `Home: ${c.hometown}.`,
      `Traits: ${c.traits.join(', ')}.`,
      `Voice: ${styleOf(c.style).description}.`,
      `Likes: ${c.like}.`,
      `Dislikes: ${c.dislike}.`,
      `Fear: ${c.fear}.`,
      `Goal: ${c.goal}.`,
      `Secret: "${c.secret}."`,
      `Relation to the user: ${c.relation}.`,
      `Knowledge: ${KNOWLEDGE_LIMITS}.`,
    ],
  }),
  (c) => {
    const v = verbs(c);
    return {
      first: `Born in ${c.hometown}, ${c.name} works as ${article(c.occupation)} ${c.occupation} and is ${c.age} years old.`,
      rest: [
        `Those who know ${c.pronouns.object} call ${c.pronouns.object} ${joinTraits(c.traits)}.`,
        `When ${c.pronouns.subject} talk${v.s}, ${c.pronouns.subject} ${styleOf(c.style)
          .description.replace(/^speaks/, 'speak' + v.s)
          .replace(/^talks/, 'talk' + v.s)}.`,
        `Nothing pleases ${c.pronouns.object} like ${c.like}, and nothing annoys ${c.pronouns.object} like ${c.dislike}.`,
        `${v.S} ${v.is} afraid of ${c.fear}.`,
        `One day ${c.pronouns.subject} want${v.s} to ${c.goal}.`,
        `${v.S} ${v.has} a secret: "${c.secret}."`,
        `To the user, ${c.pronouns.subject} ${v.is} ${article(c.relation)} ${c.relation}.`,
        `${v.S} ${KNOWLEDGE_LIMITS.replace('knows', `know${v.s}`)}.`,
      ],
    };
  },
  (c) => ({
    first: `${c.name}, ${c.age}, ${c.occupation}, ${c.hometown}.`,
    rest: [
      `- personality: ${c.traits.join(', ')}`,
      `- way of talking: ${styleOf(c.style).description}`,
      `- loves: ${c.like}`,
      `- hates: ${c.dislike}`,
      `- afraid of: ${c.fear}`,
      `- wants to ${c.goal}`,
      `- secret: "${c.secret}."`,
      `- the user is ${c.pronouns.possessive} ${c.relation}`,
      `- ${KNOWLEDGE_LIMITS}`,
    ],
  }),
  // key: value lines, all of them (the name too) in a per-character order.
  (c) => ({
    first: '',
    rest: [
      `name: ${c.name}`,
      `age: ${c.age}`,
      `occupation: ${c.occupation}`,
      `hometown: ${c.hometown}`,
      `traits: ${c.traits.join(', ')}`,
      `speech: ${styleOf(c.style).description}`,
      `loves: ${c.like}`,
      `hates: ${c.dislike}`,
      `fear: ${c.fear}`,
      `goal: ${c.goal}`,
      `secret: "${c.secret}."`,
      `the user is: ${c.pronouns.possessive} ${c.relation}`,
      `pronouns: ${c.pronouns.subject}/${c.pronouns.object}`,
      `knowledge: ${KNOWLEDGE_LIMITS}`,
    ],
  }),
];

/** Phrasing names, in index order: two in prose, a form, a list, and key: value lines. */
export const PHRASING_NAMES = ['narrative', 'form', 'born-in', 'list', 'key-value'] as const;
export const PROFILE_PHRASINGS = PHRASINGS.length;

/**
 * The profile as text in phrasing `variant` (0 .. PROFILE_PHRASINGS - 1). After the first
 * sentence the order is shuffled by `seed` (same seed, same text).
 */
export function profileText(c: Character, variant: number, seed: number): string {
  const phrasing = PHRASINGS[((variant % PHRASINGS.length) + PHRASINGS.length) % PHRASINGS.length]!;
  const { first, rest } = phrasing(c);
  const order = Rng.derive(seed, 'profile-order', c.id, variant).shuffle(rest);
  return [...(first ? [first] : []), ...order].join(variant === 0 || variant === 2 ? ' ' : '\n');
}
