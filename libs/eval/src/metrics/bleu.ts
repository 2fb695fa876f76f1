// BLEU (Papineni et al. 2002) of one hypothesis against one reference, as CoSER reports it:
// n-grams up to 4 with uniform weights, clipped counts, the brevity penalty, and NO smoothing:
// when any n-gram precision is zero the score is 0. (NLTK's sentence_bleu without smoothing
// returns a vanishingly small number, ~1e-78, in that case; 0 here.) Tokens: see tokenize.ts.
import { tokenize } from './tokenize.js';

export interface BleuResult {
  /** In [0, 1]. */
  score: number;
  /** Clipped n-gram precision for n = 1..maxN (0 when the hypothesis has no n-grams of that order). */
  precisions: number[];
  brevityPenalty: number;
  hypothesisLength: number;
  referenceLength: number;
}

/** Counts of the n-grams of one order, keyed by the tokens joined with U+0001. */
function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join('\u0001');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** Clipped precision of order n: matches (each capped by its count in the reference) / hypothesis n-grams. */
function clippedPrecision(reference: readonly string[], hypothesis: readonly string[], n: number): number {
  const hyp = ngramCounts(hypothesis, n);
  const ref = ngramCounts(reference, n);
  let total = 0;
  let matched = 0;
  for (const [gram, count] of hyp) {
    total += count;
    matched += Math.min(count, ref.get(gram) ?? 0);
  }
  return total === 0 ? 0 : matched / total;
}

/** exp(1 - r/c) when the hypothesis (length c) is shorter than the reference (length r), else 1; 0 for an empty hypothesis. */
export function brevityPenalty(hypothesisLength: number, referenceLength: number): number {
  if (hypothesisLength === 0) return 0;
  if (hypothesisLength >= referenceLength) return 1;
  return Math.exp(1 - referenceLength / hypothesisLength);
}

/** BLEU of token arrays (uniform weights 1/maxN, no smoothing). */
export function bleuTokens(reference: readonly string[], hypothesis: readonly string[], maxN = 4): BleuResult {
  if (!Number.isInteger(maxN) || maxN < 1) throw new RangeError(`Expected a positive integer for maxN but received ${maxN}`);
  const precisions = Array.from({ length: maxN }, (_, i) => clippedPrecision(reference, hypothesis, i + 1));
  const bp = brevityPenalty(hypothesis.length, reference.length);
  const logMean = precisions.some((p) => p === 0) ? -Infinity : precisions.reduce((s, p) => s + Math.log(p) / maxN, 0);
  return {
    score: bp * Math.exp(logMean),
    precisions,
    brevityPenalty: bp,
    hypothesisLength: hypothesis.length,
    referenceLength: reference.length,
  };
}

/** BLEU of two texts, tokenized with punctuation kept (tokenize.ts). */
export function bleu(reference: string, hypothesis: string, maxN = 4): BleuResult {
  return bleuTokens(tokenize(reference), tokenize(hypothesis), maxN);
}
