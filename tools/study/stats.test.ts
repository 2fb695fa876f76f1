import { describe, expect, it } from 'vitest';
import { auc, interval, mean, pairedDifference, sd, t975, verdict } from './stats.js';

describe('study statistics', () => {
  it('computes the t-interval of a mean', () => {
    // 1, 2, 3: mean 2, sd 1, half-width 4.303 / sqrt(3) = 2.4843
    const i = interval([1, 2, 3]);
    expect(i.mean).toBe(2);
    expect(i.ci95[0]).toBeCloseTo(2 - 4.303 / Math.sqrt(3), 10);
    expect(i.ci95[1]).toBeCloseTo(2 + 4.303 / Math.sqrt(3), 10);
    expect(sd([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(2.13809, 5);
    expect(t975(1)).toBe(12.706);
    expect(t975(30)).toBe(2.042);
    expect(t975(1000)).toBeCloseTo(1.962, 3);
  });

  it('pairs seeds for the difference and says whether it is significant', () => {
    const grpo = [0.1, 0.2, 0.3];
    const rapo = [0.2, 0.31, 0.39]; // differences 0.1, 0.11, 0.09: mean 0.1, sd 0.01
    const d = pairedDifference(grpo, rapo);
    expect(d.mean).toBeCloseTo(0.1, 12);
    expect(d.ci95[0]).toBeCloseTo(0.1 - (4.303 * 0.01) / Math.sqrt(3), 10);
    expect(verdict(d, 'fidelity')).toMatch(/^fidelity: significantly higher/);
    expect(verdict(pairedDifference(rapo, grpo), 'fidelity')).toMatch(/significantly lower/);
    expect(verdict(pairedDifference([0, 1, 0], [1, 0, 0]), 'x')).toMatch(/no significant difference .* contains 0/);
  });

  it('names bad input', () => {
    expect(() => mean([])).toThrow('Expected at least one value');
    expect(() => interval([1])).toThrow('at least two values');
    expect(() => pairedDifference([1, 2], [1])).toThrow('the same number of seeds');
  });

  it('computes the AUC of two samples, ties counted half', () => {
    expect(auc([3, 4], [1, 2])).toBe(1);
    expect(auc([1, 2], [3, 4])).toBe(0);
    expect(auc([1], [1])).toBe(0.5);
    // Pairs (1,2) lose, (3,2) win: 1/2. With a tie: (2,2) half, (3,2) win, (2,1) win, (3,1) win = 3.5/4.
    expect(auc([1, 3], [2])).toBe(0.5);
    expect(auc([2, 3], [2, 1])).toBe(3.5 / 4);
    expect(auc([], [1])).toBeNaN();
  });
});
