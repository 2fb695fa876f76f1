// Deterministic test data for the tokenizer tests: a seeded PRNG, an English-like corpus
// generator, and a generator of awkward strings (unicode, whitespace runs, special-token pieces).

import { mulberry32 } from '@rapo/random';

export const SPECIALS = ['<|im_start|>', '<|im_end|>', '<think>', '</think>', '<|pad|>'];

/** A seeded generator of floats in [0, 1) (the model's own). */
export const prng = mulberry32;

const WORDS = (
  'the of and to in is was he for it with as his on be at by had are but from or have an they which one you ' +
  'were her all she there would their we him been has when who will more no if out so said what up its about ' +
  'into than them can only other new some could time these two may then do first any my now such like our over ' +
  'man me even most made after also did many before must through back years where much your way well down ' +
  'should because each just those people how too little state good very make world still own see men work long ' +
  'get here between both life being under never day same another know while last might us great old year off ' +
  'come since against go came right used take three character role story voice feeling memory reason answer ' +
  "question scene player agent reward policy don't it's I'm we've they'll she'd"
).split(' ');
const EXTRA = ['café', 'naïve', 'Zürich', 'señor', '東京', '中文', '角色', 'Привет', 'emoji 😀', '🤖', 'ümlaut'];

/** English-like paragraphs totalling about `chars` characters, the same for the same seed. */
export function englishCorpus(chars: number, seed: number): string[] {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const paragraphs: string[] = [];
  let total = 0;
  while (total < chars) {
    const sentences: string[] = [];
    const count = 2 + Math.floor(rand() * 5);
    for (let s = 0; s < count; s++) {
      const words: string[] = [];
      const length = 4 + Math.floor(rand() * 12);
      for (let w = 0; w < length; w++) {
        const r = rand();
        words.push(r < 0.02 ? pick(EXTRA) : r < 0.04 ? String(Math.floor(rand() * 2000)) : pick(WORDS));
      }
      const first = words[0] ?? '';
      words[0] = first.charAt(0).toUpperCase() + first.slice(1);
      sentences.push(words.join(rand() < 0.1 ? ', ' : ' ') + pick(['.', '.', '.', '?', '!', ';']));
    }
    const paragraph = sentences.join(' ');
    paragraphs.push(paragraph);
    total += paragraph.length + 1;
  }
  return paragraphs;
}

const POOLS: readonly string[][] = [
  [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'],
  [...'0123456789'],
  [' ', ' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u3000', '\u2028'],
  [...'.,;:!?\'"()[]{}<>|/\\-_=+*&^%$#@~`'],
  [...'éèêñüßøåçÉÑ', 'e\u0301', 'a\u0308'],
  [...'中文字角色東京日本語한국어'],
  ['😀', '🤖', '👩‍💻', '🇫🇷', '𝔘'],
  ["'s", "'ll", "'re", "'d", '\u0000', '\u007f', '\ufeff', '\ufffd'],
  [...SPECIALS, '<|im_', 'start|>', '<think', '/think>', '<|', '|>'],
];

/** A random string of up to `maxParts` pieces from the pools above (never a lone surrogate). */
export function randomText(rand: () => number, maxParts: number): string {
  let text = '';
  const parts = Math.floor(rand() * (maxParts + 1));
  for (let i = 0; i < parts; i++) {
    const pool = POOLS[Math.floor(rand() * POOLS.length)] ?? [];
    text += pool[Math.floor(rand() * pool.length)] ?? '';
  }
  return text;
}
