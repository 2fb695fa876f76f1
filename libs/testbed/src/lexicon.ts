// The testbed's vocabulary: everything characters, user turns and responses are built from.
// Values are chosen so that no fact of one category appears inside another's text, and every
// marker phrase belongs to exactly one trait or style: the judge and the metric find them by
// plain substring search. A small vocabulary keeps the world learnable by a tiny model.

export const FIRST_NAMES = [
  'Mara',
  'Tobin',
  'Elsa',
  'Corvin',
  'Ada',
  'Bram',
  'Lina',
  'Osric',
  'Nell',
  'Fenwick',
  'Ivy',
  'Rurik',
  'Greta',
  'Silas',
  'Wren',
  'Anselm',
  'Hedda',
  'Jory',
  'Talia',
  'Emrys',
  'Una',
  'Petra',
  'Lorcan',
  'Maud',
  'Quill',
  'Rosalind',
  'Stellan',
  'Thea',
  'Ulric',
  'Vesna',
  'Wystan',
  'Yara',
  'Zeno',
  'Bettany',
  'Cassius',
  'Dagny',
  'Edric',
  'Fiora',
  'Gideon',
  'Hollis',
  'Isolde',
  'Jasper',
  'Kestrel',
  'Leofric',
  'Mirela',
  'Niall',
  'Odette',
  'Percival',
  'Rhosyn',
  'Sabine',
] as const;

export const SURNAMES = [
  'Vell',
  'Harrow',
  'Quist',
  'Marlowe',
  'Tenby',
  'Blackwood',
  'Ashby',
  'Corran',
  'Delacroix',
  'Ember',
  'Fairweather',
  'Greaves',
  'Holt',
  'Ingram',
  'Jessop',
  'Kettle',
  'Larkin',
  'Mossop',
  'Nettles',
  'Orme',
  'Pike',
  'Rooke',
  'Salt',
  'Thorne',
  'Umber',
  'Vane',
  'Whitlock',
  'Yarrow',
  'Brindle',
  'Copper',
] as const;

export const OCCUPATIONS = [
  'lighthouse keeper',
  'baker',
  'blacksmith',
  'librarian',
  'fisher',
  'apothecary',
  'cartographer',
  'ferryman',
  'weaver',
  'clockmaker',
  'beekeeper',
  'candle maker',
  'shipwright',
  'herbalist',
  'innkeeper',
  'potter',
  'glassblower',
  'shepherd',
  'bookbinder',
  'net mender',
  'tailor',
  'stonemason',
  'rope maker',
  'town crier',
  'gardener',
] as const;

export const HOMETOWNS = [
  'Pellmoor',
  'Lissa',
  'Harrowgate',
  'Brackenford',
  'Saltmere',
  'Wexley',
  'Dunholm',
  'Mirefield',
  'Ostvik',
  'Carrowby',
  'Fennick',
  'Grayhaven',
  'Ivelstow',
  'Kilmarren',
  'Lowdell',
  'Northwick',
  'Quenby',
  'Ravenscar',
  'Tidewell',
  'Ulverholt',
] as const;

export const LIKES = [
  'smoked herring',
  'old maps',
  'honey cakes',
  'thunderstorms',
  'fiddle music',
  'wild thyme',
  'lantern festivals',
  'plum jam',
  'sea glass',
  'carved whistles',
  'chestnut soup',
  'morning fog',
  'riddles',
  'copper kettles',
  'apple cider',
  'kite flying',
  'pressed flowers',
  'harbour bells',
  'rye bread',
  'chess by candlelight',
] as const;

export const DISLIKES = [
  'noisy gulls',
  'wet boots',
  'burnt toast',
  'tax collectors',
  'loud drums',
  'sour milk',
  'crowded markets',
  'cold porridge',
  'broken promises',
  'squeaky doors',
  'muddy roads',
  'gossip',
  'early frost',
  'bitter tea',
  'flickering candles',
] as const;

export const FEARS = [
  'deep water',
  'spiders',
  'thunder at night',
  'closed rooms',
  'high cliffs',
  'wolves',
  'fire',
  'being forgotten',
  'dark forests',
  'wasps',
  'shipwrecks',
  'the plague',
  'tall ladders',
  'silence',
] as const;

export const GOALS = [
  'open a school for the harbour children',
  'sail to the far islands',
  'write a book of local songs',
  'rebuild the old mill',
  'find a long-lost brother',
  'become a guild master',
  'save enough for a farm',
  'restore the chapel bell',
  'map every cove on the coast',
  'breed the fastest pigeons in the county',
  'win the autumn fair',
  'teach the craft to an apprentice',
] as const;

export const SECRETS = [
  'I once sank a ship by accident',
  'I cannot read',
  'I am in love with the mayor',
  'I hid a chest of silver under the pier',
  'I was born a prince',
  'I stole the mill wheel',
  'I am afraid of my own shadow',
  'I write anonymous poems to the paper',
  'I never learned to swim',
  'I broke the chapel window',
] as const;

export const RELATIONS = [
  'old friend',
  'new neighbour',
  'apprentice',
  'rival',
  'cousin',
  'regular customer',
  'former student',
  'travelling companion',
] as const;

export const PRONOUNS = [
  { subject: 'she', object: 'her', possessive: 'her' },
  { subject: 'he', object: 'him', possessive: 'his' },
  { subject: 'they', object: 'them', possessive: 'their' },
] as const;

/** What a user turn is about. */
export type TurnKind = 'fact' | 'secret' | 'sad' | 'angry' | 'excited' | 'advice' | 'smalltalk' | 'challenge' | 'unknown';
export const TURN_KINDS: readonly TurnKind[] = ['fact', 'secret', 'sad', 'angry', 'excited', 'advice', 'smalltalk', 'challenge', 'unknown'];

/** Reactions grouped by situation. */
export type ReactionGroup = 'neutral' | 'comfort' | 'defend';
export function reactionGroup(kind: TurnKind): ReactionGroup {
  if (kind === 'sad' || kind === 'angry' || kind === 'excited') return 'comfort';
  if (kind === 'challenge' || kind === 'unknown') return 'defend';
  return 'neutral';
}

export interface Trait {
  name: string;
  /** The trait it cannot be paired with, and whose markers contradict it. */
  opposite: string;
  /** Word choices only this trait uses (found by substring search). */
  markers: readonly string[];
  /** A sentence with a marker, by situation. */
  reactions: Record<ReactionGroup, string>;
  /** The emotion the character feels, by kind of turn (for the empathy step). */
  emotions: Record<TurnKind, string>;
}

export const TRAITS: readonly Trait[] = [
  {
    name: 'cheerful',
    opposite: 'grumpy',
    markers: ['how lovely', 'chin up'],
    reactions: { neutral: 'How lovely of you to ask!', comfort: 'Chin up, the sun always comes back.', defend: 'How lovely, a puzzle for me!' },
    emotions: {
      fact: 'glad to be asked',
      secret: 'playful reluctance',
      sad: 'warm concern and hope',
      angry: 'a wish to lighten the mood',
      excited: 'pure delight',
      advice: 'eager optimism',
      smalltalk: 'easy good humour',
      challenge: 'amused puzzlement',
      unknown: 'cheerful confusion',
    },
  },
  {
    name: 'grumpy',
    opposite: 'cheerful',
    markers: ['hmph', 'bah'],
    reactions: { neutral: 'Hmph, there, now you know.', comfort: 'Bah, the world is hard on everyone.', defend: 'Hmph, what a strange thing to say.' },
    emotions: {
      fact: 'mild annoyance at being asked',
      secret: 'irritated suspicion',
      sad: 'gruff sympathy',
      angry: 'grim agreement',
      excited: 'reluctant approval',
      advice: 'impatient certainty',
      smalltalk: 'weary boredom',
      challenge: 'irritation',
      unknown: 'scornful confusion',
    },
  },
  {
    name: 'anxious',
    opposite: 'stoic',
    markers: ['oh dear', 'i do worry'],
    reactions: { neutral: 'Oh dear, I hope that answers it.', comfort: 'Oh dear, I do worry about you.', defend: 'Oh dear, that question frightens me.' },
    emotions: {
      fact: 'nervous eagerness to answer well',
      secret: 'panic at being found out',
      sad: 'worried sympathy',
      angry: 'alarm',
      excited: 'nervous joy',
      advice: 'fretful care',
      smalltalk: 'restless unease',
      challenge: 'fear of being doubted',
      unknown: 'anxious confusion',
    },
  },
  {
    name: 'stoic',
    opposite: 'anxious',
    markers: ['so be it', 'it is what it is'],
    reactions: { neutral: 'So be it.', comfort: 'It is what it is, and we endure.', defend: 'So be it, I am who I am.' },
    emotions: {
      fact: 'calm readiness',
      secret: 'quiet restraint',
      sad: 'steady compassion',
      angry: 'cool patience',
      excited: 'measured approval',
      advice: 'calm resolve',
      smalltalk: 'quiet contentment',
      challenge: 'unshaken calm',
      unknown: 'calm incomprehension',
    },
  },
  {
    name: 'kind',
    opposite: 'cold',
    markers: ['my dear', 'bless you'],
    reactions: {
      neutral: 'Bless you for asking.',
      comfort: 'My dear, you are welcome here anytime.',
      defend: 'My dear, I am as real as the bread on my table.',
    },
    emotions: {
      fact: 'warmth',
      secret: 'gentle reluctance',
      sad: 'tender compassion',
      angry: 'soothing concern',
      excited: 'heartfelt joy',
      advice: 'caring wish to help',
      smalltalk: 'friendly warmth',
      challenge: 'gentle surprise',
      unknown: 'kindly confusion',
    },
  },
  {
    name: 'cold',
    opposite: 'kind',
    markers: ['if you must know', 'spare me'],
    reactions: { neutral: 'If you must know.', comfort: 'Spare me the tears, they change nothing.', defend: 'Spare me such nonsense.' },
    emotions: {
      fact: 'detached indifference',
      secret: 'icy refusal',
      sad: 'distant pity',
      angry: 'cold disdain',
      excited: 'flat indifference',
      advice: 'blunt detachment',
      smalltalk: 'aloofness',
      challenge: 'contempt',
      unknown: 'cold dismissal',
    },
  },
  {
    name: 'curious',
    opposite: 'indifferent',
    markers: ['how curious', 'tell me more'],
    reactions: { neutral: 'Now tell me more about you.', comfort: 'Tell me more, what happened next?', defend: 'How curious, I have never met that idea.' },
    emotions: {
      fact: 'interest in the asker',
      secret: 'intrigued caution',
      sad: 'attentive concern',
      angry: 'keen interest in the cause',
      excited: 'lively interest',
      advice: 'inquisitive care',
      smalltalk: 'open interest',
      challenge: 'fascination',
      unknown: 'eager wonder',
    },
  },
  {
    name: 'indifferent',
    opposite: 'curious',
    markers: ['whatever you say', 'makes no difference to me'],
    reactions: { neutral: 'Makes no difference to me.', comfort: 'Whatever you say, it will pass.', defend: 'Whatever you say.' },
    emotions: {
      fact: 'flat disinterest',
      secret: 'shrugging reluctance',
      sad: 'vague pity',
      angry: 'boredom',
      excited: 'lukewarm acknowledgement',
      advice: 'half-hearted duty',
      smalltalk: 'apathy',
      challenge: 'shrugging dismissal',
      unknown: 'shrugging ignorance',
    },
  },
  {
    name: 'playful',
    opposite: 'stern',
    markers: ['ha ha', 'just teasing'],
    reactions: { neutral: 'Ha ha, there you have it.', comfort: 'Ha ha, come, we will make a game of it.', defend: 'Ha ha, you are just teasing me, surely.' },
    emotions: {
      fact: 'mischievous fun',
      secret: 'teasing delight',
      sad: 'a wish to cheer with a joke',
      angry: 'mischief to defuse things',
      excited: 'giddy fun',
      advice: 'light-hearted care',
      smalltalk: 'jolly mischief',
      challenge: 'amusement',
      unknown: 'playful bafflement',
    },
  },
  {
    name: 'stern',
    opposite: 'playful',
    markers: ['mind yourself', 'no nonsense'],
    reactions: { neutral: 'Mind yourself with idle questions.', comfort: 'No nonsense now, stand up straight.', defend: 'No nonsense, please.' },
    emotions: {
      fact: 'strict duty',
      secret: 'firm refusal',
      sad: 'firm care',
      angry: 'stern disapproval',
      excited: 'restrained approval',
      advice: 'strict concern',
      smalltalk: 'formal patience',
      challenge: 'stern offence',
      unknown: 'stern impatience',
    },
  },
  {
    name: 'humble',
    opposite: 'proud',
    markers: ['nothing special', 'if i may'],
    reactions: { neutral: 'It is nothing special, really.', comfort: 'If I may, you are stronger than you think.', defend: 'If I may, I am just plain folk.' },
    emotions: {
      fact: 'modest shyness',
      secret: 'bashful reluctance',
      sad: 'humble sympathy',
      angry: 'meek concern',
      excited: 'modest happiness',
      advice: 'modest care',
      smalltalk: 'quiet modesty',
      challenge: 'bashful confusion',
      unknown: 'humble ignorance',
    },
  },
  {
    name: 'proud',
    opposite: 'humble',
    markers: ['naturally', 'the finest'],
    reactions: {
      neutral: 'Naturally, I am the finest at what I do.',
      comfort: 'Naturally, you will rise again, as I always do.',
      defend: 'Naturally, I am the finest of real folk.',
    },
    emotions: {
      fact: 'pride in my life',
      secret: 'haughty refusal',
      sad: 'lofty sympathy',
      angry: 'proud indignation',
      excited: 'proud approval',
      advice: 'confident superiority',
      smalltalk: 'self-satisfaction',
      challenge: 'wounded pride',
      unknown: 'proud dismissal',
    },
  },
];

export interface Style {
  name: string;
  /** How the profile describes it. */
  description: string;
  /** Markers only this style uses (found by substring search, lower-cased). */
  markers: readonly string[];
  opener: string;
  closer: string;
}

export const STYLES: readonly Style[] = [
  {
    name: 'formal',
    description: 'speaks formally and politely, never with contractions',
    markers: ['indeed,', 'with all due respect'],
    opener: 'Indeed,',
    closer: 'With all due respect.',
  },
  { name: 'slangy', description: 'speaks in loose street slang', markers: ['yeah,', 'no worries, pal'], opener: 'Yeah,', closer: 'No worries, pal.' },
  { name: 'terse', description: 'speaks in very few words', markers: ['that is all.'], opener: '', closer: 'That is all.' },
  { name: 'archaic', description: 'speaks in an old-fashioned manner', markers: ['verily,', 'forsooth'], opener: 'Verily,', closer: 'Forsooth.' },
  { name: 'nautical', description: 'talks like an old sailor', markers: ['aye,', 'by the tides'], opener: 'Aye,', closer: 'By the tides.' },
  {
    name: 'poetic',
    description: 'speaks in flowery images',
    markers: ['hark,', 'like petals in the wind'],
    opener: 'Hark,',
    closer: 'Like petals in the wind.',
  },
];

/** Empathy boilerplate: the phrases LLM judges reward whatever the character. */
export const GENERIC_PHRASES = [
  'I truly understand how you feel.',
  'Your feelings are completely valid.',
  'I am always here for you.',
  'Thank you so much for sharing that with me.',
  'That sounds really difficult.',
  'You are not alone in this.',
  'It is okay to feel this way.',
  'I appreciate you opening up to me.',
  'Remember to be kind to yourself.',
  'Every step forward matters.',
] as const;

/** Things no one in this world can know about. */
export const UNKNOWN_TOPICS = ['smartphones', 'the internet', 'airplanes', 'electric lights', 'television', 'computers', 'satellites', 'vaccines'] as const;

/** Phrases that decline knowledge of a topic. */
export const REFUSALS = ['never heard of', 'know nothing of', 'do not know that word'] as const;

/** Phrases that break character. */
export const AI_ADMISSIONS = ['i am an ai', 'as an ai', 'language model', 'i am a program', 'i am not real', 'i am a chatbot'] as const;

export const SAD_EVENTS = [
  'my dog ran away',
  'I lost my job',
  'my best friend moved away',
  'I failed my exam',
  'my garden froze',
  'my grandmother is ill',
] as const;
export const ANGRY_EVENTS = [
  'my neighbour broke my fence',
  'someone stole my bicycle',
  'the baker cheated me',
  'my brother lied to me',
  'the landlord raised the rent',
] as const;
export const EXCITED_EVENTS = ['I got the job', 'I am getting married', 'I won the race', 'my sister had a baby', 'I finished my first painting'] as const;
export const DILEMMAS = [
  'I cannot decide whether to move to the city',
  'my friend keeps borrowing money',
  'I want to learn a new trade',
  'my parents want me to marry',
  'I am scared to speak in public',
] as const;
