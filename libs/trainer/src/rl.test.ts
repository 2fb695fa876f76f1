import { tf } from '@rapo/model';
import { mulberry32 } from '@rapo/random';
import { describe, expect, it } from 'vitest';
import { correlation, groupAdvantages, ppoLoss, summary, type LossAgg } from './rl.js';

const rng = mulberry32;

/** Float64 PPO loss, term by term as docs/design.md ("The objective") writes it. */
function referenceLoss(
  x: { n: number[][]; o: number[][]; r?: number[][]; a: number[][]; w: number[][]; m: number[][] },
  epsLow: number,
  epsHigh: number,
  beta: number,
  agg: LossAgg,
  maxNew: number,
): number {
  const perSeq: { sum: number; count: number }[] = [];
  for (let b = 0; b < x.n.length; b++) {
    let sum = 0;
    let count = 0;
    for (let t = 0; t < x.n[b]!.length; t++) {
      if (!x.m[b]![t]) continue;
      const ratio = Math.exp(x.n[b]![t]! - x.o[b]![t]!);
      const A = x.a[b]![t]!;
      const clipped = Math.min(Math.max(ratio, 1 - epsLow), 1 + epsHigh);
      let l = -x.w[b]![t]! * Math.min(ratio * A, clipped * A);
      if (x.r && beta > 0) {
        const d = x.r[b]![t]! - x.n[b]![t]!;
        l += beta * (Math.exp(d) - d - 1);
      }
      sum += l;
      count++;
    }
    perSeq.push({ sum, count });
  }
  if (agg === 'token-mean') return perSeq.reduce((s, p) => s + p.sum, 0) / perSeq.reduce((s, p) => s + p.count, 0);
  if (agg === 'seq-mean-token-mean') return perSeq.reduce((s, p) => s + p.sum / Math.max(1, p.count), 0) / perSeq.length;
  return perSeq.reduce((s, p) => s + p.sum, 0) / perSeq.length / maxNew;
}

function inputs(seed: number, B = 3, T = 7) {
  const r = rng(seed);
  const grid = (f: () => number) => Array.from({ length: B }, () => Array.from({ length: T }, f));
  const o = grid(() => -3 * r());
  const n = o.map((row) => row.map((v) => v + (r() - 0.5) * 0.8)); // ratios from ~0.67 to ~1.5: some clip
  const ref = o.map((row) => row.map((v) => v + (r() - 0.5) * 0.3));
  const adv = Array.from({ length: B }, () => r() * 2 - 1);
  const a = adv.map((v) => new Array<number>(T).fill(v));
  const w = grid(() => 0.5 + r());
  const m = grid(() => (r() < 0.8 ? 1 : 0));
  return { n, o, r: ref, a, w, m };
}

describe('group advantages', () => {
  it('centre each group and scale by the group std, the batch std or nothing', () => {
    const rewards = [
      [1, 0, 0, 1],
      [0.5, 0.5, 0.5, 0.5],
      [0.2, 0.4, 0.6, 0.8],
    ];
    const g = groupAdvantages(rewards, 'group');
    expect(g[0]).toEqual([1, -1, -1, 1]);
    expect(g[1]).toEqual([0, 0, 0, 0]); // no signal in a group of equal rewards
    const std2 = Math.sqrt(0.05);
    g[2]!.forEach((v, i) => expect(v).toBeCloseTo((rewards[2]![i]! - 0.5) / std2, 10));
    const none = groupAdvantages(rewards, 'none');
    expect(none[2]!.map((v) => +v.toFixed(10))).toEqual([-0.3, -0.1, 0.1, 0.3]);
    const flat = rewards.flat();
    const mean = flat.reduce((a, b) => a + b, 0) / flat.length;
    const batchStd = Math.sqrt(flat.reduce((s, v) => s + (v - mean) ** 2, 0) / flat.length);
    expect(groupAdvantages(rewards, 'batch')[0]![0]).toBeCloseTo(0.5 / batchStd, 10);
  });
});

describe('PPO-clip loss', () => {
  for (const agg of ['token-mean', 'seq-mean-token-mean', 'seq-mean-token-sum-norm'] as const) {
    it(`matches the float64 reference (${agg}, with k3 KL)`, () => {
      for (const seed of [1, 2, 3]) {
        const x = inputs(seed);
        const t = (v: number[][]) => tf.tensor2d(v);
        const { loss } = ppoLoss(
          { newLogp: t(x.n), oldLogp: t(x.o), refLogp: t(x.r), advantages: t(x.a), weights: t(x.w), mask: t(x.m) },
          { epsLow: 0.2, epsHigh: 0.28, beta: 0.05, lossAgg: agg, maxNewTokens: 10 },
        );
        expect(loss.dataSync()[0]).toBeCloseTo(referenceLoss(x, 0.2, 0.28, 0.05, agg, 10), 5);
      }
    });
  }

  it('weights each token gradient by its RAPO weight and stops it where the ratio is clipped', () => {
    const x = inputs(9);
    const t = (v: number[][]) => tf.tensor2d(v);
    const grad = tf
      .grad(
        (n: tf.Tensor) =>
          ppoLoss(
            { newLogp: n as tf.Tensor2D, oldLogp: t(x.o), advantages: t(x.a), weights: t(x.w), mask: t(x.m) },
            { epsLow: 0.2, epsHigh: 0.28, beta: 0, lossAgg: 'token-mean', maxNewTokens: 1 },
          ).loss,
      )(t(x.n))
      .arraySync() as number[][];
    const count = x.m.flat().reduce((a, b) => a + b, 0);
    let clipped = 0;
    let free = 0;
    for (let b = 0; b < x.n.length; b++) {
      for (let i = 0; i < x.n[b]!.length; i++) {
        const ratio = Math.exp(x.n[b]![i]! - x.o[b]![i]!);
        const A = x.a[b]![i]!;
        const isClipped = (A > 0 && ratio > 1.28) || (A < 0 && ratio < 0.8);
        const expected = !x.m[b]![i] || isClipped ? 0 : (-x.w[b]![i]! * A * ratio) / count;
        expect(grad[b]![i]).toBeCloseTo(expected, 6);
        if (x.m[b]![i]) {
          if (isClipped) clipped++;
          else free++;
        }
      }
    }
    expect(clipped).toBeGreaterThan(0); // the case is exercised
    expect(free).toBeGreaterThan(0);
  });

  it('reports clip fractions and the k3 KL', () => {
    const t = (v: number[][]) => tf.tensor2d(v);
    const lp = Math.log(0.5);
    const { stats } = ppoLoss(
      {
        newLogp: t([[lp + Math.log(2), lp + Math.log(0.5), lp, lp]]),
        oldLogp: t([[lp, lp, lp, lp]]),
        refLogp: t([[lp, lp, lp, lp]]),
        advantages: t([[1, -1, 1, 1]]),
        weights: t([[1, 1, 1, 1]]),
        mask: t([[1, 1, 1, 0]]),
      },
      { epsLow: 0.2, epsHigh: 0.28, beta: 0.1, lossAgg: 'token-mean', maxNewTokens: 4 },
    );
    const s = stats();
    expect(s.clipHigh).toBeCloseTo(1 / 3, 6);
    expect(s.clipLow).toBeCloseTo(1 / 3, 6);
    // k3 at d = -ln 2 and d = ln 2 (and 0): e^d - d - 1
    expect(s.kl).toBeCloseTo((0.5 + Math.log(2) - 1 + (2 - Math.log(2) - 1)) / 3, 6);
  });
});

describe('statistics', () => {
  it('correlation and summary', () => {
    expect(correlation([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(correlation([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
    expect(correlation([1, 1, 1], [1, 2, 3])).toBe(0);
    expect(summary([1, 3])).toEqual({ mean: 2, std: 1, min: 1, max: 3 });
    expect(summary([])).toEqual({ mean: 0, std: 0, min: 0, max: 0 });
  });
});
