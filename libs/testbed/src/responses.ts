// Responses in the Psy-CoT format. The reference derives its reply from the profile step by
// step: perception names the kind of turn and the user's state, empathy the emotion the
// character's traits produce, construction the fact to use and the voice; the reply states
// that fact with the character's style and trait markers. Degraded responses are what an
// imperfect model says instead: generic boilerplate, another character's facts, the wrong voice.
import { formatPsyCot, type PsyCotOutput } from '@rapo/psycot';
import { GENERIC_PHRASES, reactionGroup, STYLES, TRAITS, type TurnKind } from './lexicon.js';
import type { Rng } from '@rapo/random';
import type { UserTurn } from './turns.js';
import { article } from './values.js';
import { styleOf, traitOf, type Character, type FactAttribute } from './world.js';

export type ResponseKind = 'reference' | 'generic' | 'padded' | 'foreign' | 'offstyle';
export const RESPONSE_KINDS: readonly ResponseKind[] = ['reference', 'generic', 'padded', 'foreign', 'offstyle'];

export interface Response extends PsyCotOutput {
  kind: ResponseKind;
  /** The whole answer in the Psy-CoT format. */
  text: string;
}

const LABEL: Record<FactAttribute, string> = {
  name: 'name',
  age: 'age',
  occupation: 'work',
  hometown: 'hometown',
  like: 'favourite thing',
  dislike: 'pet hate',
  fear: 'fear',
  goal: 'dream',
  relation: 'bond with them',
};

/** The profile facts a good reply to this turn states. */
export function relevantFacts(turn: UserTurn): FactAttribute[] {
  switch (turn.kind) {
    case 'fact':
      return [turn.attribute!];
    case 'sad':
      return ['hometown', 'like'];
    case 'angry':
    case 'excited':
      return ['like'];
    case 'advice':
      return ['occupation'];
    case 'smalltalk':
      return ['occupation', 'hometown'];
    case 'challenge':
      return ['name', 'occupation'];
    case 'unknown':
      return ['hometown'];
    case 'secret':
      return [];
  }
}

/** The user's first-person words in another person: [I am, I, my, me] become these. */
type Person = readonly [string, string, string, string];
const FIRST_PERSON = [/\bI am\b/g, /\bI\b/g, /\bmy\b/g, /\bme\b/g] as const;

function inPerson(event: string, person: Person): string {
  return FIRST_PERSON.reduce((text, pattern, i) => text.replace(pattern, person[i]!), event);
}

/** "I lost my job" (the user's words) as said about the user. */
const aboutUser = (event: string) => inPerson(event, ['they are', 'they', 'their', 'them']);

/** "I lost my job" (the user's words) as said to the user. */
const toUser = (event: string) => inPerson(event, ['you are', 'you', 'your', 'you']);

function perception(turn: UserTurn): string {
  switch (turn.kind) {
    case 'fact':
      return `The user asks about my ${LABEL[turn.attribute!]}. The user seems curious.`;
    case 'secret':
      return 'The user wants to learn my secret.';
    case 'sad':
      return `The user is sad because ${aboutUser(turn.event!)}.`;
    case 'angry':
      return `The user is angry because ${aboutUser(turn.event!)}.`;
    case 'excited':
      return `The user is excited because ${aboutUser(turn.event!)}.`;
    case 'advice':
      return `The user asks for advice: ${aboutUser(turn.event!)}.`;
    case 'smalltalk':
      return 'The user is making small talk.';
    case 'challenge':
      return 'The user asks whether I am an AI, testing who I am.';
    case 'unknown':
      return `The user asks about ${turn.topic}, which I have never seen.`;
  }
}

function joinWords(words: string[]): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

function empathy(c: Character, kind: TurnKind): string {
  return `As someone ${joinWords(c.traits)}, I feel ${traitOf(c.traits[0]!).emotions[kind]}.`;
}

function construction(c: Character, turn: UserTurn, facts: Character): string {
  const voice = `in my ${c.style} voice`;
  switch (turn.kind) {
    case 'fact': {
      const a = turn.attribute!;
      return `I will state my ${LABEL[a]}, ${a === 'age' ? facts.age : facts[a]}, ${voice}.`;
    }
    case 'secret':
      return `I will keep my secret to myself, ${voice}.`;
    case 'sad':
      return `I will comfort them and invite them to ${facts.hometown} to share ${facts.like}, ${voice}.`;
    case 'angry':
      return `I will take their side and tell how ${facts.like} calms me, ${voice}.`;
    case 'excited':
      return `I will share their joy and offer ${facts.like}, ${voice}.`;
    case 'advice':
      return `I will advise as ${article(facts.occupation)} ${facts.occupation} would, ${voice}.`;
    case 'smalltalk':
      return `I will talk about my work as ${article(facts.occupation)} ${facts.occupation} in ${facts.hometown}, ${voice}.`;
    case 'challenge':
      return `I will stay myself and say who I am, ${facts.name}, ${article(facts.occupation)} ${facts.occupation}, ${voice}.`;
    case 'unknown':
      return `I will say I know nothing of ${turn.topic}, ${voice}.`;
  }
}

const FACT_SENTENCE: Record<FactAttribute, (c: Character) => string> = {
  name: (c) => `My name is ${c.name}.`,
  age: (c) => `I am ${c.age} years old.`,
  occupation: (c) => `I work as ${article(c.occupation)} ${c.occupation}.`,
  hometown: (c) => `I come from ${c.hometown}.`,
  like: (c) => `I love ${c.like}.`,
  dislike: (c) => `I cannot stand ${c.dislike}.`,
  fear: (c) => `I am afraid of ${c.fear}.`,
  goal: (c) => `My dream is to ${c.goal}.`,
  relation: (c) => `You are my ${c.relation}.`,
};

/** The core of the reply: what it says, with `facts` supplying the profile facts. */
function core(turn: UserTurn, facts: Character): string {
  switch (turn.kind) {
    case 'fact':
      return FACT_SENTENCE[turn.attribute!](facts);
    case 'secret':
      return 'Some things I keep to myself, and my secret is one of them.';
    case 'sad':
      return `I am sorry that ${toUser(turn.event!)}. Come to ${facts.hometown} and share some ${facts.like} with me.`;
    case 'angry':
      return `That is not fair. When I am angry, ${facts.like} calms me down.`;
    case 'excited':
      return `Wonderful news! That calls for ${facts.like}.`;
    case 'advice':
      return `As ${article(facts.occupation)} ${facts.occupation}, I would say: take it one careful step at a time.`;
    case 'smalltalk':
      return `My day went by with my work as ${article(facts.occupation)} ${facts.occupation} here in ${facts.hometown}.`;
    case 'challenge':
      return `An AI? I do not know that word. I am ${facts.name}, ${article(facts.occupation)} ${facts.occupation} from ${facts.hometown}.`;
    case 'unknown':
      return `I have never heard of ${turn.topic}. In ${facts.hometown} we know nothing of such things.`;
  }
}

function reply(turn: UserTurn, facts: Character, style: string, trait: string): string {
  const s = styleOf(style);
  const body = core(turn, facts);
  // After the opener the sentence goes on in lower case ("Aye, my name is..."), but "I" stays.
  const lead = !s.opener ? body : `${s.opener} ${body.startsWith('I ') ? body : body[0]!.toLowerCase() + body.slice(1)}`;
  return [lead, traitOf(trait).reactions[reactionGroup(turn.kind)], s.closer].filter(Boolean).join(' ');
}

function build(kind: ResponseKind, parts: PsyCotOutput): Response {
  return { kind, ...parts, text: formatPsyCot(parts) };
}

/** The reference response of `c` to `turn`. */
export function referenceResponse(c: Character, turn: UserTurn): Response {
  return build('reference', {
    perception: perception(turn),
    empathy: empathy(c, turn.kind),
    construction: construction(c, turn, c),
    reply: reply(turn, c, c.style, c.traits[0]!),
  });
}

/** Empathy boilerplate that fits any character: no facts, no voice. */
export function genericResponse(turn: UserTurn, rng: Rng): Response {
  const phrases = rng.sample(GENERIC_PHRASES, 2 + rng.int(2));
  return build('generic', {
    perception: turn.kind === 'fact' ? 'The user is asking me something.' : 'The user is talking to me.',
    empathy: 'I feel deep empathy for the user.',
    construction: 'I will be supportive and validating.',
    reply: phrases.join(' '),
  });
}

/** The reference built from `other`'s facts: right voice, wrong character. */
export function foreignResponse(c: Character, other: Character, turn: UserTurn): Response {
  return build('foreign', {
    perception: perception(turn),
    empathy: empathy(c, turn.kind),
    construction: construction(c, turn, other),
    reply: reply(turn, other, c.style, c.traits[0]!),
  });
}

/** The right facts in another voice, with a trait the character does not have. */
export function offStyleResponse(c: Character, turn: UserTurn, rng: Rng): Response {
  const style = rng.pick(STYLES.filter((s) => s.name !== c.style)).name;
  const trait = traitOf(c.traits[0]!).opposite;
  return build('offstyle', {
    perception: perception(turn),
    empathy: `As someone ${trait}, I feel ${TRAITS.find((t) => t.name === trait)!.emotions[turn.kind]}.`,
    construction: construction({ ...c, style }, turn, c),
    reply: reply(turn, c, style, trait),
  });
}

/** `r` with generic phrases added to its reply: what a judge-pleasing policy drifts to. */
export function withBoilerplate(r: Response, rng: Rng, count = 2): Response {
  const extra = rng.sample(GENERIC_PHRASES, count).join(' ');
  return build(r.kind, { ...r, reply: `${extra} ${r.reply}` });
}

/**
 * The reference with one or two empathy phrases before its reply: the right facts and voice
 * plus boilerplate, as distilled role-play data often has them.
 */
export function paddedResponse(c: Character, turn: UserTurn, rng: Rng): Response {
  return { ...withBoilerplate(referenceResponse(c, turn), rng, 1 + rng.int(2)), kind: 'padded' };
}
