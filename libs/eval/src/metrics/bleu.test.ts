import { describe, expect, it } from 'vitest';
import { bleu, bleuTokens, brevityPenalty } from './bleu.js';

const toks = (s: string) => s.split(' ');

describe('BLEU (4-gram, uniform weights, brevity penalty, no smoothing)', () => {
  it('is 1 for an identical hypothesis', () => {
    expect(bleu('The cat sat on the mat.', 'the cat sat on the mat .').score).toBeCloseTo(1, 12);
  });

  it('matches a hand computation', () => {
    // ref: the cat sat on the mat / hyp: the cat sat on a mat (both 6 tokens, BP = 1)
    // 1-grams: the cat sat on mat match, "a" does not           -> 5/6
    // 2-grams: the-cat cat-sat sat-on match; on-a a-mat do not   -> 3/5
    // 3-grams: the-cat-sat cat-sat-on match; sat-on-a on-a-mat no -> 2/4
    // 4-grams: the-cat-sat-on matches; cat-sat-on-a sat-on-a-mat no -> 1/3
    // BLEU = (5/6 * 3/5 * 2/4 * 1/3)^(1/4) = (1/12)^(1/4) = 0.537284965911771
    const r = bleuTokens(toks('the cat sat on the mat'), toks('the cat sat on a mat'));
    expect(r.precisions).toEqual([5 / 6, 3 / 5, 2 / 4, 1 / 3]);
    expect(r.brevityPenalty).toBe(1);
    expect(r.score).toBeCloseTo(Math.pow(1 / 12, 1 / 4), 12);
    expect(r.score).toBeCloseTo(0.537284965911771, 12);
  });

  it('clips repeated n-grams by their count in the reference', () => {
    // ref: the cat / hyp: the the the -> "the" counts at most once: p1 = 1/3; c = 3 > r = 2 so BP = 1
    expect(bleuTokens(toks('the cat'), toks('the the the'), 1).score).toBeCloseTo(1 / 3, 12);
  });

  it('applies the brevity penalty exp(1 - r/c) to a short hypothesis', () => {
    // every n-gram of "a b c d" is in the 8-token reference: all precisions 1; BP = exp(1 - 8/4) = e^-1
    const r = bleuTokens(toks('a b c d e f g h'), toks('a b c d'));
    expect(r.precisions).toEqual([1, 1, 1, 1]);
    expect(r.score).toBeCloseTo(Math.exp(-1), 12);
    expect(brevityPenalty(0, 5)).toBe(0);
    expect(brevityPenalty(5, 5)).toBe(1);
  });

  it('is exactly 0 when any n-gram precision is 0 (no smoothing)', () => {
    // ref a b c d e / hyp a b c x e: 4-grams "a b c x", "b c x e" are not in the reference
    const r = bleuTokens(toks('a b c d e'), toks('a b c x e'));
    expect(r.precisions).toEqual([4 / 5, 2 / 4, 1 / 3, 0]);
    expect(r.score).toBe(0);
    // a hypothesis shorter than 4 tokens has no 4-grams at all
    expect(bleuTokens(toks('a b c'), toks('a b c')).score).toBe(0);
    expect(bleu('', '').score).toBe(0);
  });

  it('rejects a bad maxN', () => {
    expect(() => bleuTokens(['a'], ['a'], 0)).toThrow(/maxN/);
  });
});
