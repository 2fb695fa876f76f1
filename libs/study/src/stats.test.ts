import { describe, expect, it } from 'vitest';
import { auc, bootstrap, correctFamily, holm, interval, mean, pairedDifference, sd, signFlipP, verdict } from './stats.js';

describe('study statistics', () => {
  it('bootstraps the mean: an interval inside the data range that holds the mean, narrower for tighter data, reproducible', () => {
    const xs = [0.1, 0.4, 0.35, 0.2, 0.3, 0.25, 0.5, 0.15];
    const i = interval(xs);
    expect(i.mean).toBeCloseTo(0.28125, 12);
    expect(i.values).toEqual(xs);
    expect(i.ci95[0]).toBeGreaterThan(0.1);
    expect(i.ci95[1]).toBeLessThan(0.5);
    expect(i.ci95[0]).toBeLessThan(i.mean);
    expect(i.ci95[1]).toBeGreaterThan(i.mean);
    expect(interval(xs)).toEqual(i);
    const tight = interval(xs.map((x) => 0.28 + (x - 0.28) / 10));
    expect(tight.ci95[1] - tight.ci95[0]).toBeCloseTo((i.ci95[1] - i.ci95[0]) / 10, 2);
    // A wider level gives a wider interval; identical values give a point.
    const w = bootstrap(xs, 0.99);
    expect(w[0]).toBeLessThanOrEqual(i.ci95[0]);
    expect(w[1]).toBeGreaterThanOrEqual(i.ci95[1]);
    expect(bootstrap([2, 2, 2])).toEqual([2, 2]);
    expect(sd([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(2.13809, 5);
  });

  it('the sign-flip p-value is exact: 2 / 2^n when every difference has the same sign', () => {
    expect(signFlipP([0.1, 0.2, 0.3])).toBe(2 / 8);
    expect(signFlipP(Array.from({ length: 8 }, (_, i) => 0.01 * (i + 1)))).toBe(2 / 256);
    expect(signFlipP([0, 0, 0])).toBe(1);
    // Symmetric differences: every pattern is at least as extreme as |sum| = 0... except none is smaller.
    expect(signFlipP([1, -1])).toBe(1);
    // One large negative among small positives: half the patterns or so.
    expect(signFlipP([0.1, 0.1, 0.1, -0.5])).toBeGreaterThan(0.2);
  });

  it('pairs seeds for the difference and says whether it is significant', () => {
    const grpo = [0.1, 0.2, 0.3, 0.25, 0.15, 0.2, 0.3, 0.1];
    const rapo = grpo.map((x, i) => x + 0.1 + 0.01 * (i % 3));
    const d = pairedDifference(grpo, rapo);
    expect(d.mean).toBeCloseTo(0.10875, 12); // 0.1 + 0.01 * (0+1+2+0+1+2+0+1) / 8
    expect(d.p).toBe(2 / 256);
    expect(verdict(d, 'fidelity')).toMatch(/^fidelity: significantly higher .* p = 0\.008/);
    expect(verdict(pairedDifference(rapo, grpo), 'fidelity')).toMatch(/significantly lower/);
    // Three seeds can never reach p < 0.05 with sign flips: reported plainly as not significant.
    expect(verdict(pairedDifference([0, 0, 0], [1, 1, 1]), 'x')).toMatch(/no significant difference .* p = 0\.250/);
  });

  it('Holm adjusts p-values step-down and keeps their order', () => {
    expect(holm([0.01, 0.04, 0.03])).toEqual([0.03, 0.06, 0.06]);
    expect(holm([0.5, 0.001])).toEqual([0.5, 0.002]);
    expect(holm([0.6, 0.7])).toEqual([1, 1]);
    const a = pairedDifference([0, 0, 0, 0, 0, 0, 0, 0], [1, 1.1, 0.9, 1, 1, 1.2, 0.8, 1]);
    const b = pairedDifference([0, 0, 0, 0, 0, 0, 0, 0], [0.1, -0.1, 0.2, -0.2, 0, 0.1, -0.1, 0]);
    const family = [
      { interval: a, values: a.values! },
      { interval: b, values: b.values! },
    ];
    correctFamily(family);
    expect(a.pHolm).toBeCloseTo(2 * (2 / 256), 12);
    expect(b.pHolm).toBe(1);
    expect(a.ciFamily![0]).toBeLessThanOrEqual(a.ci95[0]);
    expect(verdict(a, 'a')).toMatch(/significantly higher .*family-corrected CI .*Holm p = 0\.016/);
  });

  it('names bad input', () => {
    expect(() => mean([])).toThrow('Expected at least one value');
    expect(() => interval([1])).toThrow('at least two values');
    expect(() => pairedDifference([1, 2], [1])).toThrow('the same number of seeds');
    expect(() => bootstrap([1, 2], 1)).toThrow('level in (0, 1)');
  });

  it('computes the AUC of two samples, ties counted half', () => {
    expect(auc([3, 4], [1, 2])).toBe(1);
    expect(auc([1, 2], [3, 4])).toBe(0);
    expect(auc([1], [1])).toBe(0.5);
    expect(auc([1, 3], [2])).toBe(0.5);
    expect(auc([2, 3], [2, 1])).toBe(3.5 / 4);
    expect(auc([], [1])).toBeNaN();
  });
});
