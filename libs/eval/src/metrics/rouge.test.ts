import { describe, expect, it } from 'vitest';
import { lcsIndices, rougeL, rougeLSentences, unionLcs } from './rouge.js';

const sents = (...s: string[]) => s.map((x) => x.split(' '));

describe('LCS helpers', () => {
  it('finds the positions of one longest common subsequence', () => {
    // a b c d e vs a c e -> a, c, e at 0, 2, 4
    expect(lcsIndices(['a', 'b', 'c', 'd', 'e'], ['a', 'c', 'e'])).toEqual([0, 2, 4]);
    expect(lcsIndices(['a'], [])).toEqual([]);
  });

  it('takes the union over hypothesis sentences (Lin 2004, 3.2)', () => {
    // r = w1 w2 w3 w4 w5; c1 = w1 w2 w6 w7 w8 -> LCS w1 w2; c2 = w1 w3 w8 w9 w5 -> LCS w1 w3 w5
    // union = w1 w2 w3 w5
    expect(unionLcs(['w1', 'w2', 'w3', 'w4', 'w5'], sents('w1 w2 w6 w7 w8', 'w1 w3 w8 w9 w5'))).toEqual(['w1', 'w2', 'w3', 'w5']);
  });
});

describe('ROUGE-L (summary level, F-measure)', () => {
  it("matches Lin's worked example", () => {
    // hits = |union| = 4; reference tokens m = 5; hypothesis tokens n = 10
    // R = 4/5 = 0.8, P = 4/10 = 0.4, F = 2 * 0.8 * 0.4 / 1.2 = 0.533333...
    const r = rougeLSentences(sents('w1 w2 w3 w4 w5'), sents('w1 w2 w6 w7 w8', 'w1 w3 w8 w9 w5'));
    expect(r.recall).toBeCloseTo(0.8, 12);
    expect(r.precision).toBeCloseTo(0.4, 12);
    expect(r.f).toBeCloseTo(0.64 / 1.2, 12);
  });

  it('counts a token no more often than it occurs in both texts', () => {
    // reference sentences "a b" and "a c"; hypothesis "a". Both union LCSs are [a], but the
    // hypothesis has one "a": hits = 1 (not 2). R = 1/4, P = 1/1, F = 2 * 0.25 / 1.25 = 0.4
    const r = rougeLSentences(sents('a b', 'a c'), sents('a'));
    expect(r.precision).toBe(1);
    expect(r.recall).toBe(0.25);
    expect(r.f).toBeCloseTo(0.4, 12);
  });

  it('reads texts: sentences split, punctuation dropped, case ignored', () => {
    // reference "The cat sat." (the cat sat), hypothesis "the CAT!\nSat down." -> sentences [the cat] [sat down]
    // union LCS of [the cat sat] with [the cat] -> the cat; with [sat down] -> sat; hits = 3
    // R = 3/3, P = 3/4, F = 2 * 0.75 / 1.75 = 0.857142...
    const r = rougeL('The cat sat.', 'the CAT!\nSat down.');
    expect(r.recall).toBe(1);
    expect(r.precision).toBe(0.75);
    expect(r.f).toBeCloseTo(1.5 / 1.75, 12);
  });

  it('is 1 for identical texts and 0 for disjoint or empty ones', () => {
    expect(rougeL('One sentence. And another one.', 'One sentence. And another one.').f).toBeCloseTo(1, 12);
    expect(rougeL('alpha beta', 'gamma delta').f).toBe(0);
    expect(rougeL('', 'gamma').f).toBe(0);
  });
});
