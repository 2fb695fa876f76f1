// Tokenization shared by BLEU and ROUGE-L, so that both count the same units.
//
//   1. The text is NFKC-normalised and lowercased.
//   2. Each Han, Hiragana or Katakana character is a token of its own (Chinese and Japanese are
//      written without spaces, so a character is the only unit that needs no segmenter).
//   3. A run of other letters, marks and digits is a word; an apostrophe (' or ’) between two
//      letters/digits stays inside the word ("don't", "o’er" are one token each).
//   4. Every other punctuation or symbol character is a token of its own ("!!" is two tokens).
//      ROUGE-L drops these (words only); BLEU keeps them, as the usual word tokenizers do.
//   Whitespace separates and is never a token.

const CJK_CHAR = String.raw`[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]`;
const WORD_CHAR = String.raw`(?:(?!${CJK_CHAR})[\p{L}\p{M}\p{N}])`;
const TOKEN = new RegExp(String.raw`${CJK_CHAR}|${WORD_CHAR}+(?:['’]${WORD_CHAR}+)*|[\p{P}\p{S}]`, 'gu');
const PUNCTUATION = /^[\p{P}\p{S}]$/u;

/** The tokens of `text` (rules above). With `punctuation: false`, punctuation and symbols are dropped. */
export function tokenize(text: string, opts: { punctuation?: boolean } = {}): string[] {
  const tokens = text.normalize('NFKC').toLowerCase().match(TOKEN) ?? [];
  return opts.punctuation === false ? tokens.filter((t) => !PUNCTUATION.test(t)) : tokens;
}

/**
 * The sentences of `text`: split at line breaks, after . ! ? … followed by whitespace, and
 * after the full-width 。！？ (which need no following space). Blank pieces are dropped.
 * Abbreviations ("Mr. Bennet") are split too; that only affects ROUGE-L's sentence units.
 */
export function splitSentences(text: string): string[] {
  return text
    .split(/\n+/)
    .flatMap((line) => line.split(/(?<=[.!?…])\s+|(?<=[。！？])/u))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
