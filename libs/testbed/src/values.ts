// Open-class character values. Every fact a character has (name, hometown, occupation, what it
// loves, hates and fears, its goal, its secret, what the user is to it) is composed from parts:
// syllables for names and towns, word lists for the rest, so each category has thousands to
// hundreds of thousands of values and a model cannot get a character's facts by remembering the
// few it saw: it has to read them from the profile.
//
// Two rules keep the judge and the metric working by whole-word search:
// - no word is shared between the parts of two categories (a like never contains a fear's word),
//   and towns and surnames end in disjoint endings;
// - every category's value space is split in two by a hash of the value: about one value in five
//   is reserved for held-out characters and is never drawn for anyone else. So no training
//   example, fresh SFT character, RL prompt or pretraining document can use a held-out
//   character's fact, whatever the world seed.
import { hashString, type Rng } from '@rapo/random';
import { capitalize } from './text.js';

/** The facts a character has that are composed from parts. */
export const OPEN_CATEGORIES = ['firstName', 'surname', 'hometown', 'occupation', 'like', 'dislike', 'fear', 'goal', 'secret', 'relation'] as const;
export type OpenCategory = (typeof OPEN_CATEGORIES)[number];

/** Which side of the split a value may be drawn for. */
export type ValueSpace = 'train' | 'heldout';

// --- the parts ------------------------------------------------------------------------------------

const ONSETS = ['b', 'br', 'd', 'dr', 'f', 'g', 'gr', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'tr', 'v', 'w', 'z', 'th', 'sh'] as const;
const VOWELS = ['a', 'e', 'i', 'o', 'u'] as const;
const NAME_CODAS = ['', 'n', 'l', 'r', 's', 'th', 'm', 'x'] as const;
const SURNAME_ENDINGS = ['ley', 'ton', 'well', 'kin', 'wood', 'ridge', 'worth', 'ett', 'ard', 'ock'] as const;
const TOWN_ENDINGS = ['moor', 'ford', 'mere', 'holt', 'stow', 'dale', 'haven', 'gate', 'thorpe', 'stead', 'brook', 'wick', 'by', 'vik', 'cross'] as const;

export const PARTS = {
  occupation: {
    first: [
      'amber',
      'anchor',
      'barrel',
      'basket',
      'brass',
      'bridle',
      'buckle',
      'candle',
      'chain',
      'cheese',
      'clay',
      'cloak',
      'copper',
      'cork',
      'drum',
      'feather',
      'felt',
      'flint',
      'glass',
      'harp',
      'hat',
      'hide',
      'horn',
      'iron',
      'ivory',
      'jade',
      'kelp',
      'kite',
      'lace',
      'lantern',
      'leather',
      'loom',
      'map',
      'nail',
      'net',
      'oar',
      'pearl',
      'pewter',
      'pipe',
      'quill',
      'reed',
      'rope',
      'sail',
      'salt',
      'sandal',
      'scale',
      'shell',
      'silk',
      'silver',
      'slate',
      'soap',
      'stone',
      'thread',
      'tin',
      'wax',
      'wheel',
      'wool',
      'button',
      'saddle',
      'compass',
    ],
    second: [
      'carver',
      'mender',
      'trader',
      'keeper',
      'maker',
      'spinner',
      'grinder',
      'seller',
      'smith',
      'cutter',
      'dyer',
      'polisher',
      'weaver',
      'binder',
      'caster',
      'turner',
      'stitcher',
      'tanner',
      'hauler',
      'gatherer',
      'painter',
      'tester',
      'fitter',
      'blower',
      'setter',
      'washer',
      'sorter',
      'packer',
      'buyer',
      'joiner',
    ],
  },
  like: {
    first: [
      'smoked',
      'honeyed',
      'spiced',
      'toasted',
      'candied',
      'fresh',
      'warm',
      'sweet',
      'roasted',
      'buttered',
      'baked',
      'wild',
      'ripe',
      'golden',
      'crisp',
      'creamy',
      'minted',
      'pickled',
      'sugared',
      'stewed',
      'glazed',
      'salted',
      'peppered',
      'frosted',
      'mulled',
    ],
    second: [
      'herring',
      'cakes',
      'plums',
      'apples',
      'bread',
      'cider',
      'soup',
      'pears',
      'berries',
      'figs',
      'nuts',
      'buns',
      'pies',
      'cherries',
      'cream',
      'jam',
      'oats',
      'chestnuts',
      'mussels',
      'oysters',
      'biscuits',
      'dumplings',
      'pancakes',
      'tarts',
      'cocoa',
      'raisins',
      'melons',
      'peaches',
      'eggs',
      'sausages',
      'carrots',
      'onions',
      'turnips',
      'lentils',
      'barley',
      'honey',
      'almonds',
      'wafers',
      'scones',
      'trout',
    ],
  },
  dislike: {
    first: [
      'noisy',
      'wet',
      'burnt',
      'sour',
      'cold',
      'muddy',
      'squeaky',
      'broken',
      'rusty',
      'soggy',
      'stale',
      'bitter',
      'crowded',
      'leaky',
      'smoky',
      'dusty',
      'greasy',
      'mouldy',
      'draughty',
      'lumpy',
      'sticky',
      'tangled',
      'shrill',
      'clumsy',
      'itchy',
    ],
    second: [
      'gulls',
      'boots',
      'toast',
      'milk',
      'porridge',
      'roads',
      'doors',
      'promises',
      'markets',
      'tea',
      'kettles',
      'chimneys',
      'blankets',
      'carts',
      'ferries',
      'sermons',
      'hinges',
      'umbrellas',
      'stockings',
      'pillows',
      'fences',
      'gates',
      'coats',
      'spoons',
      'mittens',
      'chairs',
      'floors',
      'windows',
      'stairs',
      'beds',
      'socks',
      'gloves',
      'hats',
      'sheets',
      'rugs',
      'cups',
      'plates',
      'shutters',
      'wagons',
      'benches',
    ],
  },
  fear: {
    first: [
      'deep',
      'dark',
      'high',
      'tall',
      'closed',
      'silent',
      'endless',
      'frozen',
      'sinking',
      'howling',
      'burning',
      'falling',
      'narrow',
      'empty',
      'rotting',
      'creeping',
      'hidden',
      'flooded',
      'crumbling',
      'roaring',
      'haunted',
      'bottomless',
      'whispering',
      'shaking',
      'swirling',
    ],
    second: [
      'water',
      'forests',
      'cliffs',
      'rooms',
      'ladders',
      'wolves',
      'caves',
      'storms',
      'cellars',
      'bridges',
      'tunnels',
      'ships',
      'wells',
      'graves',
      'crowds',
      'towers',
      'swamps',
      'spiders',
      'wasps',
      'shadows',
      'rivers',
      'mines',
      'attics',
      'mountains',
      'waves',
      'snakes',
      'bats',
      'rats',
      'crows',
      'moths',
      'ravines',
      'glaciers',
      'volcanoes',
      'bogs',
      'pits',
      'hounds',
      'bears',
      'eels',
      'ghosts',
      'drains',
    ],
  },
  goal: {
    first: ['open', 'build', 'rebuild', 'restore', 'find', 'buy', 'paint', 'visit', 'guard', 'run', 'repair', 'own', 'reopen', 'explore', 'save', 'climb'],
    middle: ['great', 'faded', 'famous', 'ancient', 'little', 'royal', 'sunken', 'ruined', 'grand', 'forgotten', 'crooked', 'highest'],
    second: [
      'school',
      'mill',
      'chapel',
      'lighthouse',
      'garden',
      'library',
      'bakery',
      'orchard',
      'theatre',
      'harbour',
      'vineyard',
      'museum',
      'castle',
      'observatory',
      'island',
      'tavern',
      'monastery',
      'bathhouse',
      'fortress',
      'windmill',
    ],
  },
  secret: {
    first: ['stole', 'broke', 'burned', 'buried', 'sold', 'lost', 'hid', 'sank', 'forged', 'swapped', 'cursed', 'poisoned'],
    middle: ["mayor's", "baker's", "priest's", "captain's", "miller's", "judge's", "widow's", "abbot's", "sheriff's", "duke's", "doctor's", "queen's"],
    second: [
      'ring',
      'horse',
      'boat',
      'letters',
      'ledger',
      'crown',
      'goat',
      'key',
      'portrait',
      'dog',
      'sword',
      'medal',
      'diary',
      'clock',
      'fiddle',
      'will',
      'seal',
      'mule',
    ],
  },
  relation: {
    first: ['old', 'new', 'former', 'distant', 'trusted', 'childhood', 'loyal', 'favourite', 'oldest', 'only'],
    second: ['friend', 'neighbour', 'apprentice', 'rival', 'cousin', 'customer', 'student', 'companion', 'partner', 'pupil', 'ally', 'landlord'],
  },
} as const;

function syllable(rng: Rng, coda: readonly string[] = ['']): string {
  return rng.pick(ONSETS) + rng.pick(VOWELS) + rng.pick(coda);
}

/** One value of a category, drawn without regard to the split. */
function drawAny(rng: Rng, category: OpenCategory): string {
  switch (category) {
    case 'firstName':
      return capitalize(syllable(rng) + syllable(rng, NAME_CODAS));
    case 'surname':
      return capitalize(syllable(rng, NAME_CODAS) + rng.pick(SURNAME_ENDINGS));
    case 'hometown':
      return capitalize(syllable(rng, NAME_CODAS) + (rng.chance(0.4) ? syllable(rng) : '') + rng.pick(TOWN_ENDINGS));
    case 'occupation':
    case 'like':
    case 'dislike':
    case 'fear':
    case 'relation': {
      const p = PARTS[category];
      return `${rng.pick(p.first)} ${rng.pick(p.second)}`;
    }
    case 'goal': {
      const p = PARTS.goal;
      return `${rng.pick(p.first)} the ${rng.pick(p.middle)} ${rng.pick(p.second)}`;
    }
    case 'secret': {
      const p = PARTS.secret;
      return `I ${rng.pick(p.first)} the ${rng.pick(p.middle)} ${rng.pick(p.second)}`;
    }
  }
}

/** The side of the split a value belongs to: about one value in five is held out. */
export function valueSpace(category: OpenCategory, value: string): ValueSpace {
  return hashString(`heldout/${category}/${value}`) % 5 === 0 ? 'heldout' : 'train';
}

/** A value of `category` from `space` (drawn until one falls on that side of the split). */
export function drawValue(rng: Rng, category: OpenCategory, space: ValueSpace): string {
  for (let tries = 0; tries < 1000; tries++) {
    const v = drawAny(rng, category);
    if (valueSpace(category, v) === space) return v;
  }
  // One in five values is held out, so a thousand misses in a row does not happen.
  throw new Error(`testbed: could not draw a ${space} value for ${category}`);
}

/** How many distinct values a category can take (both sides of the split). */
export function valueCount(category: OpenCategory): number {
  const syl = ONSETS.length * VOWELS.length;
  switch (category) {
    case 'firstName':
      return syl * syl * NAME_CODAS.length;
    case 'surname':
      return syl * NAME_CODAS.length * SURNAME_ENDINGS.length;
    case 'hometown':
      return syl * NAME_CODAS.length * (1 + syl) * TOWN_ENDINGS.length;
    case 'goal':
    case 'secret': {
      const p = PARTS[category];
      return p.first.length * p.middle.length * p.second.length;
    }
    default: {
      const p = PARTS[category];
      return p.first.length * p.second.length;
    }
  }
}

/** "a" or "an" before a word. */
export function article(word: string): string {
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}
