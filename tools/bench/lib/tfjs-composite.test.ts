// The tfjs baseline must compute what miForward computes, or the speedups mean nothing.
import { miForwardReference } from '@rapo/kernels';
import { describe, expect, it } from 'vitest';
import { makeBenchData, subset } from './data.js';
import { prepare, useBackend } from './tfjs-composite.js';

describe('tfjs composite baseline', () => {
  it('matches the float64 reference (clip normalization) and the backward formula', async () => {
    await useBackend('cpu');
    const d = makeBenchData(12, 50, 3, 4);
    const params = { temperature: 0.9, scale: 2, lamPos: 0.5, lamNeg: 0.3 };
    const p = prepare({ n: d.n, v: d.v, withLogits: d.withF32, withoutLogits: d.withoutF32, tokens: d.tokens, rowAdvantages: d.rowAdvantages, ...params });
    const got = p.run();
    const want = miForwardReference({
      logitsWith: d.withF32,
      logitsWithout: d.withoutF32,
      tokens: d.tokens,
      vocabSize: d.v,
      seqOffsets: d.seqOffsets,
      advantages: d.advantages,
      norm: 'clip',
      ...params,
    });
    for (const key of ['logpWith', 'logpWithout', 'lseWith', 'mi', 'score', 'weight', 'weightedAdvantage', 'entropyWith'] as const) {
      for (let i = 0; i < d.n; i++) expect(got[key]![i]).toBeCloseTo(want[key][i]!, 4);
    }
    const coef = Float32Array.from({ length: d.n }, (_, i) => i - 5);
    const g = p.runBackward(Float32Array.from(want.lseWith), coef);
    const i = 7;
    const t = d.tokens[i]!;
    const pt = Math.exp(d.withF32[i * d.v + t]! / 0.9 - want.lseWith[i]!);
    expect(g[i * d.v + t]).toBeCloseTo((coef[i]! * (pt - 1)) / 0.9, 4);
    p.dispose();
  });

  it('subset keeps the first rows as one sequence', () => {
    const d = makeBenchData(10, 8, 1, 4);
    const s = subset(d, 3);
    expect(s.n).toBe(3);
    expect(s.withF32.length).toBe(24);
    expect(Array.from(s.seqOffsets)).toEqual([0, 3]);
    expect(s.rowAdvantages.every((a) => a === d.advantages[0])).toBe(true);
    expect(Array.from(d.seqOffsets)).toEqual([0, 4, 8, 10]);
  });
});
