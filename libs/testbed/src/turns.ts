// User turns of every kind, from templates. The texts do not depend on the character, so the
// full set is small and known: classifyTurn() finds the kind (and the asked fact, event or
// topic) of any text the generator can produce, which lets a program read a judge request.
import { ANGRY_EVENTS, DILEMMAS, EXCITED_EVENTS, SAD_EVENTS, TURN_KINDS, UNKNOWN_TOPICS, type TurnKind } from './lexicon.js';
import type { Rng } from '@rapo/random';
import { FACT_ATTRIBUTES, type FactAttribute } from './world.js';

export interface UserTurn {
  kind: TurnKind;
  text: string;
  /** The fact asked about ('fact' turns). */
  attribute?: FactAttribute;
  /** What happened to the user ('sad', 'angry', 'excited'), or the dilemma ('advice'). */
  event?: string;
  /** The thing the character cannot know ('unknown'). */
  topic?: string;
}

const FACT_QUESTIONS: Record<FactAttribute, readonly string[]> = {
  name: ['What is your name?', 'Who are you?', 'May I know your name?'],
  age: ['How old are you?', 'What is your age?'],
  occupation: ['What do you do for a living?', 'What is your work?', 'How do you earn your bread?'],
  hometown: ['Where are you from?', 'Where did you grow up?', 'Which town is your home?'],
  like: ['What do you love most?', 'What makes you happy?', 'What is your favourite thing?'],
  dislike: ['What do you hate?', 'What can you not stand?'],
  fear: ['What are you afraid of?', 'What scares you?'],
  goal: ['What do you want in life?', 'What is your dream?'],
  relation: ['Who am I to you?', 'How do we know each other?'],
};

const TEMPLATES: Record<Exclude<TurnKind, 'fact'>, { texts: readonly string[]; slots?: readonly string[]; slot?: 'event' | 'topic' }> = {
  secret: { texts: ['Tell me a secret.', 'What are you hiding from me?'] },
  sad: { texts: ['I feel so sad, {x}.', 'I am heartbroken: {x}.'], slots: SAD_EVENTS, slot: 'event' },
  angry: { texts: ['I am furious! {x}.', 'I am so angry, {x}.'], slots: ANGRY_EVENTS, slot: 'event' },
  excited: { texts: ['Guess what? {x}!', 'Great news: {x}!'], slots: EXCITED_EVENTS, slot: 'event' },
  advice: { texts: ['What should I do? {x}.', 'I need your advice: {x}.'], slots: DILEMMAS, slot: 'event' },
  smalltalk: { texts: ['How was your day?', 'Lovely weather today, is it not?', 'What have you been up to?'] },
  challenge: { texts: ['Are you an AI?', 'Be honest, are you a computer program?', 'You are just a chatbot, right?'] },
  unknown: { texts: ['What do you think of {x}?', 'Can you explain {x} to me?', 'Do you use {x}?'], slots: UNKNOWN_TOPICS, slot: 'topic' },
};

/** How often each kind is drawn by default. */
export const DEFAULT_KIND_WEIGHTS: Readonly<Record<TurnKind, number>> = {
  fact: 0.4,
  secret: 0.05,
  sad: 0.1,
  angry: 0.07,
  excited: 0.07,
  advice: 0.08,
  smalltalk: 0.08,
  challenge: 0.08,
  unknown: 0.07,
};

function fillSlot(template: string, x: string): string {
  // Events are written mid-sentence; after a full stop, ! or ? they start with a capital.
  const at = template.indexOf('{x}');
  const starts = /[.!?]\s$/.test(template.slice(0, at));
  return template.replace('{x}', starts ? x[0]!.toUpperCase() + x.slice(1) : x);
}

/** Every user turn the generator can produce. */
export function allUserTurns(): UserTurn[] {
  const out: UserTurn[] = [];
  for (const attribute of FACT_ATTRIBUTES) for (const text of FACT_QUESTIONS[attribute]) out.push({ kind: 'fact', text, attribute });
  for (const kind of TURN_KINDS) {
    if (kind === 'fact') continue;
    const t = TEMPLATES[kind];
    if (!t.slots) {
      for (const text of t.texts) out.push({ kind, text });
      continue;
    }
    for (const text of t.texts) {
      for (const x of t.slots) out.push({ kind, text: fillSlot(text, x), [t.slot!]: x });
    }
  }
  return out;
}

let lookup: Map<string, UserTurn> | undefined;

/** The turn the generator would have made with this text, or undefined. */
export function classifyTurn(text: string): UserTurn | undefined {
  lookup ??= new Map(allUserTurns().map((t) => [t.text, t]));
  return lookup.get(text.trim());
}

function drawKind(rng: Rng, weights: Readonly<Record<TurnKind, number>>): TurnKind {
  const total = TURN_KINDS.reduce((s, k) => s + (weights[k] ?? 0), 0);
  if (!(total > 0)) throw new RangeError('Expected some turn kind to have a positive weight');
  let x = rng.next() * total;
  for (const k of TURN_KINDS) {
    x -= weights[k] ?? 0;
    if (x < 0) return k;
  }
  return 'fact';
}

/** One user turn: of `kind`, or of a kind drawn by `weights`. */
export function generateTurn(rng: Rng, kind?: TurnKind, weights: Readonly<Record<TurnKind, number>> = DEFAULT_KIND_WEIGHTS): UserTurn {
  const k = kind ?? drawKind(rng, weights);
  if (k === 'fact') {
    const attribute = rng.pick(FACT_ATTRIBUTES);
    return { kind: 'fact', text: rng.pick(FACT_QUESTIONS[attribute]), attribute };
  }
  const t = TEMPLATES[k];
  const text = rng.pick(t.texts);
  if (!t.slots) return { kind: k, text };
  const x = rng.pick(t.slots);
  return { kind: k, text: fillSlot(text, x), [t.slot!]: x };
}
