// What the testbed's base model is pretrained on before it learns Psy-CoT. Each example is a
// chat about a fresh character: the profile as the system message, then either a reading task
// (every fact repeated word for word, the profile rewritten in another phrasing, or facts asked
// by name: nearly every answer token is a copy, the dense signal a small model needs to learn
// to read; a reply that states one fact among a hundred template tokens teaches it too slowly)
// or a user turn answered in character by the reference reply, without reasoning: the world's
// language (voices, reactions), as an instruction-tuned model knows how characters talk before
// it is taught to reason step by step.
import { TRAITS } from './lexicon.js';
import { referenceResponse } from './responses.js';
import { generateTurn, type UserTurn } from './turns.js';
import { Rng } from '@rapo/random';
import { drawCharacter, freshCharacter, PHRASING_NAMES, PROFILE_PHRASINGS, profileText, styleOf, type Character } from './world.js';
import { drawValue, OPEN_CATEGORIES, type ValueSpace } from './values.js';

export type ReadingTask = 'repeat' | 'restate' | 'questions' | 'roleplay';
export const READING_TASKS: readonly ReadingTask[] = ['repeat', 'restate', 'questions', 'roleplay'];

/**
 * The shape of a reading example: `echo` (the profile is a list of random values, to repeat:
 * nothing to do but copy, which is how a model first learns to copy from its context), `short`
 * (4 to 7 fields as key: value lines) or `full` (a whole profile in any phrasing).
 */
export type ReadingStage = 'echo' | 'short' | 'full';
export const READING_STAGES: readonly ReadingStage[] = ['echo', 'short', 'full'];
export const DEFAULT_READING_MIX: Readonly<Record<ReadingTask, number>> = { repeat: 0.1, restate: 0.2, questions: 0.4, roleplay: 0.3 };

/** The facts a reading question can ask for, with the label the question and the answer use. */
export const READING_FIELDS = ['name', 'age', 'occupation', 'hometown', 'traits', 'speech', 'loves', 'hates', 'fear', 'goal', 'secret', 'relation'] as const;
export type ReadingField = (typeof READING_FIELDS)[number];

/** How each field's value is read off a character. */
const FIELD_VALUES: Readonly<Record<ReadingField, (c: Character) => string>> = {
  name: (c) => c.name,
  age: (c) => String(c.age),
  occupation: (c) => c.occupation,
  hometown: (c) => c.hometown,
  traits: (c) => c.traits.join(', '),
  speech: (c) => styleOf(c.style).description,
  loves: (c) => c.like,
  hates: (c) => c.dislike,
  fear: (c) => c.fear,
  goal: (c) => c.goal,
  secret: (c) => c.secret,
  relation: (c) => c.relation,
};

/** The value a reading question about `field` expects, as the profile states it. */
export function readingValue(c: Character, field: ReadingField): string {
  return FIELD_VALUES[field](c);
}

export interface ReadingExample {
  id: string;
  task: ReadingTask;
  character: Character;
  profileVariant: number;
  profile: string;
  message: string;
  response: string;
  /** The fields a `questions` example asks for, in the order of the answer. */
  fields?: ReadingField[];
  /** The user turn a `roleplay` example answers. */
  turn?: UserTurn;
}

export interface ReadingOptions {
  seed: number;
  /** Shares of the tasks (normalized). Default DEFAULT_READING_MIX. */
  mix?: Partial<Record<ReadingTask, number>>;
  /** Profile phrasings to draw from (default all). */
  phrasings?: readonly number[];
  /** Draw the character from the held-out side of every value space (for evaluation). Default 'train'. */
  space?: ValueSpace;
  /**
   * `short`: 4 to 7 of the fields as `key: value` lines, and the tasks on them (repeat the
   * lines, or give some or all fields in a given order); `echo`: random values to repeat.
   * Default `full`.
   */
  stage?: ReadingStage;
}

const PHRASING_ASK: Record<(typeof PHRASING_NAMES)[number], string> = {
  narrative: 'a short paragraph',
  form: 'a form',
  'born-in': 'a paragraph that starts with where the character was born',
  list: 'a list',
  'key-value': 'key: value lines',
};

function drawTask(rng: Rng, mix: Record<ReadingTask, number>): ReadingTask {
  const total = READING_TASKS.reduce((s, t) => s + mix[t], 0);
  if (!(total > 0)) throw new RangeError('Expected some reading task to have a positive share');
  let x = rng.next() * total;
  for (const t of READING_TASKS) {
    x -= mix[t];
    if (x < 0) return t;
  }
  return 'questions';
}

function joinLabels(labels: string[]): string {
  return labels.length === 1 ? labels[0]! : `${labels.slice(0, -1).join(', ')} and ${labels.at(-1)}`;
}

/**
 * Reading example `index` of batch `step`: a fresh character (training side of the value
 * spaces unless `space` says otherwise), a task drawn by `mix`, its instruction and answer.
 */
export function readingExample(options: ReadingOptions, step: number, index: number): ReadingExample {
  const { seed } = options;
  for (const v of options.phrasings ?? []) {
    if (!(Number.isInteger(v) && v >= 0 && v < PROFILE_PHRASINGS))
      throw new RangeError(`Expected profile phrasings in [0, ${PROFILE_PHRASINGS - 1}] but received ${v}`);
  }
  const space = options.space ?? 'train';
  const c =
    space === 'train'
      ? freshCharacter(seed, 'reading', step, index)
      : drawCharacter(Rng.derive(seed, 'reading-heldout', step, index), `reading-heldout-${step}-${index}`, 'heldout');
  const rng = Rng.derive(seed, 'reading-example', step, index);
  const mix = { ...DEFAULT_READING_MIX, ...options.mix };
  const task = drawTask(rng, mix);
  const id = `reading-${space}-${step}-${index}`;
  const stage = options.stage ?? 'full';
  if (stage === 'echo') {
    // Values of every kind, ages and trait names too: tokens that only ever fill one slot
    // (a number, a trait) would otherwise never be told apart, and could not be copied later.
    const item = () => {
      const k = rng.int(OPEN_CATEGORIES.length + 2);
      if (k === OPEN_CATEGORIES.length) return String(18 + rng.int(63));
      if (k === OPEN_CATEGORIES.length + 1) return rng.pick(TRAITS).name;
      return drawValue(rng, OPEN_CATEGORIES[k]!, 'train');
    };
    const words = Array.from({ length: 6 + rng.int(9) }, item).join(' ');
    return { id, task: 'repeat', character: c, profileVariant: -1, profile: words, message: 'Repeat the profile word for word.', response: words };
  }
  if (stage === 'short') {
    const shown = rng.sample(READING_FIELDS, 4 + rng.int(4));
    const profile = shown.map((f) => `${f}: ${readingValue(c, f)}`).join('\n');
    const base = { id, task, character: c, profileVariant: PHRASING_NAMES.indexOf('key-value'), profile };
    if (task === 'repeat') return { ...base, message: 'Repeat the profile word for word.', response: profile };
    const fields = task === 'restate' ? rng.shuffle(shown) : rng.sample(shown, 1 + rng.int(Math.min(4, shown.length)));
    return {
      ...base,
      message: `What are ${c.firstName}'s ${joinLabels([...fields])}?`,
      response: fields.map((f) => `${f}: ${readingValue(c, f)}`).join('\n'),
      fields,
    };
  }
  const variant = options.phrasings?.length ? rng.pick(options.phrasings) : rng.int(PROFILE_PHRASINGS);
  const profile = profileText(c, variant, seed);
  const base = { id, task, character: c, profileVariant: variant, profile };
  switch (task) {
    case 'repeat':
      return { ...base, message: 'Repeat the profile word for word.', response: profile };
    case 'restate': {
      const others = Array.from({ length: PROFILE_PHRASINGS }, (_, v) => v).filter((v) => v !== variant);
      const target = rng.pick(others);
      return {
        ...base,
        message: `Rewrite the profile as ${PHRASING_ASK[PHRASING_NAMES[target]!]}.`,
        // Another order than the profile's, so the answer is read, not recited.
        response: profileText(c, target, seed + 1),
      };
    }
    case 'roleplay': {
      const turn = generateTurn(rng);
      return { ...base, message: turn.text, response: referenceResponse(c, turn).reply, turn };
    }
    case 'questions': {
      const fields = rng.sample(READING_FIELDS, 3 + rng.int(READING_FIELDS.length - 2));
      return {
        ...base,
        message: `What are ${c.firstName}'s ${joinLabels([...fields])}?`,
        response: fields.map((f) => `${f}: ${readingValue(c, f)}`).join('\n'),
        fields,
      };
    }
  }
}
