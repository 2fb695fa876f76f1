// miForward on every backend present: agreement with the float64 reference on fresh random
// inputs and on the shapes that hit edge paths, every normalization, scope, renorm and weighting
// variant, GRPO's exactness, async against sync, thread-count independence, device-resident
// logits (CUDA only), and each class of bad input with its exact error on every backend.
import { describe, expect, it } from 'vitest';
import {
  availableBackends,
  DeviceTensor,
  MI_OUTPUTS,
  miForward,
  miForwardAsync,
  miForwardReference,
  setCpuThreads,
  toBf16,
  type Backend,
  type DType,
  type MiForwardArgs,
  type MiForwardResult,
} from './index.js';
import { base, cudaSkip, messageFor, native, p as bad, restoreCpuIsaAfterAll, variants, variantTitle, type Mutation } from './test-backends.js';
import { makeProblem, miArgs, rng, worstError, type Problem } from './test-helpers.js';

restoreCpuIsaAfterAll();

// Tolerance per dtype, as |got - want| <= atol + rtol * |want|. Both dtypes feed the kernels
// values that are exact in float32 (bf16 widens exactly), so what is measured is the kernels'
// float32 arithmetic against float64: about 6e-8 relative on the CPU. The bounds leave room
// for the GPU's ex2.approx (2^-22 relative) and reductions in a different order.
const TOL: Record<DType, { atol: number; rtol: number }> = {
  f32: { atol: 5e-6, rtol: 2e-6 },
  bf16: { atol: 5e-6, rtol: 2e-6 },
};

function compare(got: MiForwardResult, args: MiForwardArgs, dtype: DType, scale = 1) {
  const want = miForwardReference(args);
  const { atol, rtol } = TOL[dtype];
  for (const key of MI_OUTPUTS) {
    const isScore = key === 'score' || key === 'weight' || key === 'weightedAdvantage';
    // Scores divide by (max - median) of the PMI, which can amplify PMI errors a little.
    const e = worstError(got[key], want[key], atol * scale * (isScore ? 20 : 1), rtol * scale);
    expect(e.worst, `${key}[${e.at}]: got ${e.got}, want ${e.want}`).toBeLessThanOrEqual(1);
  }
  // Masked rows are exactly zero.
  if (args.mask) {
    for (let i = 0; i < args.mask.length; i++) {
      if (args.mask[i] === 0) for (const key of MI_OUTPUTS) expect(got[key][i]).toBe(0);
    }
  }
}

function withInfAt(p: Problem, fraction: number, seed: number): Problem {
  const r = rng(seed);
  const a = p.withF32.slice();
  const b = p.withoutF32.slice();
  for (let i = 0; i < p.n; i++) {
    for (let j = 0; j < p.v; j++) {
      if (j === p.tokens[i]) continue; // the sampled token stays finite
      if (r() < fraction) a[i * p.v + j] = -Infinity;
      if (r() < fraction) b[i * p.v + j] = -Infinity;
    }
  }
  return { ...p, withF32: a, withoutF32: b };
}

interface Case {
  name: string;
  problem: Problem;
  extra?: Partial<MiForwardArgs>;
  scale?: number;
}

const cases: Case[] = [
  // Several seeds of an ordinary batch; V odd so every vector path has a tail.
  ...[1, 2, 3].map((seed) => ({ name: `random seed ${seed} (N=37, V=1001)`, problem: makeProblem({ seed, n: 37, v: 1001, sequences: 5 }) })),
  // V a multiple of 8: the GPU's vectorized path (the cases above take its scalar path).
  { name: 'V=1024 (vector path)', problem: makeProblem({ seed: 16, n: 24, v: 1024, sequences: 4 }) },
  // V below, at and just above one AVX2 vector (8), and a single entry (logp = 0).
  { name: 'V=1', problem: makeProblem({ seed: 4, n: 5, v: 1, sequences: 2 }) },
  { name: 'V=7', problem: makeProblem({ seed: 5, n: 9, v: 7, sequences: 3 }) },
  { name: 'V=8', problem: makeProblem({ seed: 6, n: 9, v: 8, sequences: 3 }) },
  { name: 'V=33', problem: makeProblem({ seed: 7, n: 9, v: 33, sequences: 3 }) },
  // Rows longer than one CPU chunk (2048), with the running max growing across chunks.
  {
    name: 'V=5003 rising logits (max grows across chunks)',
    problem: (() => {
      const p = makeProblem({ seed: 8, n: 6, v: 5003, sequences: 2, sigma: 0.5 });
      for (let i = 0; i < p.n; i++) for (let j = 0; j < p.v; j++) p.withF32[i * p.v + j]! += j / 500;
      return p;
    })(),
  },
  // One row (one sequence): robust score is 0, weights 1.
  { name: 'one row', problem: makeProblem({ seed: 9, n: 1, v: 300, sequences: 1 }) },
  // Masked rows are skipped and read as zeros.
  { name: 'masked rows', problem: makeProblem({ seed: 10, n: 40, v: 257, sequences: 6, masked: 0.3 }) },
  // -Infinity marks masked vocabulary entries.
  { name: '-inf logits', problem: withInfAt(makeProblem({ seed: 11, n: 20, v: 300, sequences: 4 }), 0.3, 99) },
  // Extreme logits: float32 keeps only ~4 decimals at 1e4, so bounds scale with the values.
  { name: 'extreme logits around +-1e4', problem: makeProblem({ seed: 12, n: 12, v: 129, sequences: 3, sigma: 4000 }), scale: 2000 },
  // All equal: logp = -log V, entropy = log V, PMI 0.
  {
    name: 'all-equal logits',
    problem: (() => {
      const p = makeProblem({ seed: 13, n: 10, v: 100, sequences: 2 });
      p.withF32.fill(3);
      p.withoutF32.fill(-2);
      return p;
    })(),
  },
  { name: 'temperature 0.7', problem: makeProblem({ seed: 14, n: 16, v: 500, sequences: 4 }), extra: { temperature: 0.7 } },
  { name: 'temperature 1.3', problem: makeProblem({ seed: 15, n: 16, v: 500, sequences: 4 }), extra: { temperature: 1.3 } },
];

const PARAMS: Partial<MiForwardArgs>[] = [];
for (const norm of ['robust', 'clip', 'tanh', 'none'] as const) {
  for (const scope of ['batch', 'sequence'] as const) {
    for (const renorm of ['none', 'sequence', 'batch'] as const) {
      PARAMS.push({ norm, scope, renorm, lamPos: 0.6, lamNeg: 0.3, scale: 2 });
    }
  }
}

for (const variant of variants) {
  describe.skipIf(variant.skip !== undefined)(variantTitle(variant), () => {
    for (const dtype of ['f32', 'bf16'] as const) {
      for (const c of cases) {
        it(`${dtype}: ${c.name} matches the float64 reference`, () => {
          variant.setup();
          const args = miArgs(c.problem, dtype, { lamPos: 0.5, lamNeg: 0.5, ...c.extra });
          compare(miForward(args, { backend: variant.backend }), args, dtype, c.scale);
        });
      }
      it(`${dtype}: every normalization, scope and renorm matches the reference`, () => {
        variant.setup();
        const p = makeProblem({ seed: 21, n: 48, v: 200, sequences: 6, masked: 0.1 });
        for (const params of PARAMS) {
          const args = miArgs(p, dtype, params);
          compare(miForward(args, { backend: variant.backend }), args, dtype);
        }
      });
      it(`${dtype}: per-token advantages match the reference`, () => {
        variant.setup();
        const p = makeProblem({ seed: 22, n: 30, v: 64, sequences: 4 });
        const r = rng(5);
        const adv = Float32Array.from({ length: p.n }, () => (r() < 0.2 ? 0 : r() * 2 - 1));
        const args = miArgs(p, dtype, { advantages: adv, advantagesPerToken: true, lamPos: 0.8, lamNeg: 0.4 });
        compare(miForward(args, { backend: variant.backend }), args, dtype);
      });
    }

    it('GRPO: lamPos = lamNeg = 0 gives weight 1 and weightedAdvantage = advantage exactly', () => {
      variant.setup();
      const p = makeProblem({ seed: 23, n: 50, v: 97, sequences: 7, masked: 0.2 });
      for (const renorm of ['none', 'sequence', 'batch'] as const) {
        for (const norm of ['robust', 'clip', 'tanh'] as const) {
          const out = miForward(miArgs(p, 'f32', { lamPos: 0, lamNeg: 0, renorm, norm }), { backend: variant.backend });
          for (let k = 0; k < p.lengths.length; k++) {
            for (let i = p.seqOffsets[k]!; i < p.seqOffsets[k + 1]!; i++) {
              if (p.mask![i] === 0) continue;
              expect(out.weight[i]).toBe(1);
              expect(out.weightedAdvantage[i]).toBe(p.advantages[k]);
            }
          }
        }
      }
    });

    for (const dtype of ['f32', 'bf16'] as const) {
      it(`${dtype}: every weighting variant, with neutral rows and given scores, matches the reference`, () => {
        variant.setup();
        const p = makeProblem({ seed: 25, n: 60, v: 150, sequences: 6, masked: 0.1 });
        const r = rng(9);
        const neutral = Uint8Array.from({ length: p.n }, () => (r() < 0.15 ? 1 : 0));
        const scores = Float32Array.from({ length: p.n }, () => [-1, 0, 1][Math.floor(r() * 3)]!);
        for (const v of ['paper', 'symmetric', 'bounded'] as const) {
          for (const extra of [{}, { neutral }, { scores }, { neutral, scores, norm: 'clip' as const }, { cap: 0.05 }, { groupSize: 6 }]) {
            const args = miArgs(p, dtype, { variant: v, groupSize: 3, lamPos: 0.7, lamNeg: 0.4, ...extra });
            compare(miForward(args, { backend: variant.backend }), args, dtype);
          }
        }
      });
    }

    it('GRPO: lam = 0 gives weight 1 exactly in every variant', () => {
      variant.setup();
      const p = makeProblem({ seed: 26, n: 50, v: 97, sequences: 8, masked: 0.2 });
      const neutral = Uint8Array.from({ length: p.n }, (_, i) => (i % 7 === 0 ? 1 : 0));
      for (const v of ['paper', 'symmetric', 'bounded'] as const) {
        for (const extra of [{}, { neutral }, { scores: new Float32Array(p.n).fill(1) }]) {
          const out = miForward(miArgs(p, 'f32', { variant: v, groupSize: 4, lamPos: 0, lamNeg: 0, ...extra }), { backend: variant.backend });
          for (let k = 0; k < p.lengths.length; k++) {
            for (let i = p.seqOffsets[k]!; i < p.seqOffsets[k + 1]!; i++) {
              if (p.mask![i] === 0) continue;
              expect(out.weight[i]).toBe(1);
              expect(out.weightedAdvantage[i]).toBe(p.advantages[k]);
            }
          }
        }
      }
    });

    it('symmetric: a token that every answer of a group shares nets exactly zero; paper does not', () => {
      variant.setup();
      // One group of 4 answers, 5 tokens each; token 0 of every answer is the same strongly
      // profile-dependent token in the same context. Advantages sum to 0, as group advantages do.
      const p = makeProblem({ seed: 27, n: 20, v: 60, sequences: 4 });
      p.seqOffsets.set([0, 5, 10, 15, 20]);
      p.lengths.splice(0, p.lengths.length, 5, 5, 5, 5);
      p.advantages.set([1.5, -0.5, 0.25, -1.25]);
      p.withF32[p.tokens[0]!] = 12;
      for (const row of [5, 10, 15]) {
        p.withF32.copyWithin(row * p.v, 0, p.v);
        p.withoutF32.copyWithin(row * p.v, 0, p.v);
        p.tokens[row] = p.tokens[0]!;
      }
      const shared = (v: 'paper' | 'symmetric' | 'bounded') => {
        const out = miForward(miArgs(p, 'f32', { variant: v, groupSize: 4, lamPos: 0.5, lamNeg: 0.5 }), { backend: variant.backend });
        return [0, 5, 10, 15].reduce((sum, row) => sum + out.weightedAdvantage[row]!, 0);
      };
      expect(Math.abs(shared('symmetric'))).toBeLessThan(1e-6);
      // paper: (lamPos + lamNeg) * s * (sum of the positive advantages), with s near 1 here.
      expect(shared('paper')).toBeGreaterThan(0.5);
    });

    it("bounded: each sign keeps GRPO's gradient mass, and no sequence's extra weight passes the cap", () => {
      variant.setup();
      const p = makeProblem({ seed: 28, n: 80, v: 120, sequences: 8, masked: 0.1 });
      const cap = 0.1;
      const out = miForward(miArgs(p, 'f32', { variant: 'bounded', groupSize: 4, lamPos: 0.9, lamNeg: 0.6, cap }), { backend: variant.backend });
      let pos = 0;
      let pos0 = 0;
      let neg = 0;
      let neg0 = 0;
      for (let k = 0; k < p.lengths.length; k++) {
        const a = p.advantages[k]!;
        const lam = a > 0 ? 0.9 : a < 0 ? 0.6 : 0;
        let extra = 0;
        let rows = 0;
        for (let i = p.seqOffsets[k]!; i < p.seqOffsets[k + 1]!; i++) {
          if (p.mask![i] === 0) continue;
          extra += lam * Math.abs(out.score[i]!);
          rows++;
          if (a > 0) {
            pos += out.weight[i]! * a;
            pos0 += a;
          } else if (a < 0) {
            neg -= out.weight[i]! * a;
            neg0 -= a;
          }
        }
        expect(extra).toBeLessThanOrEqual(cap * rows * (1 + 1e-5) + 1e-6);
      }
      expect(pos / pos0).toBeCloseTo(1, 5);
      expect(neg / neg0).toBeCloseTo(1, 5);
    });

    it('async gives the same numbers as sync', async () => {
      variant.setup();
      const p = makeProblem({ seed: 24, n: 20, v: 300, sequences: 3 });
      const args = miArgs(p, 'f32', { lamPos: 0.4, lamNeg: 0.2 });
      const a = miForward(args, { backend: variant.backend });
      const b = await miForwardAsync(args, { backend: variant.backend });
      for (const key of MI_OUTPUTS) expect(b[key]).toEqual(a[key]);
    });
  });
}

describe.skipIf(!native)('cpu backend threads', () => {
  it('gives bitwise identical results for 1, 2 and 3 threads', () => {
    const p = makeProblem({ seed: 51, n: 64, v: 777, sequences: 8, masked: 0.1 });
    const args = miArgs(p, 'f32', { lamPos: 0.5, lamNeg: 0.5, renorm: 'batch' });
    const results = [1, 2, 3].map((t) => {
      setCpuThreads(t);
      return miForward(args, { backend: 'cpu' });
    });
    setCpuThreads(0);
    for (const key of MI_OUTPUTS) {
      expect(results[1]![key]).toEqual(results[0]![key]);
      expect(results[2]![key]).toEqual(results[0]![key]);
    }
  });
});

describe.skipIf(cudaSkip !== undefined)(`cuda device tensors${cudaSkip ? ` (skipped: ${cudaSkip})` : ''}`, () => {
  it('device-resident logits give the same results as host arrays', () => {
    const p = makeProblem({ seed: 61, n: 33, v: 2048, sequences: 4 });
    for (const dtype of ['f32', 'bf16'] as const) {
      const args = miArgs(p, dtype, { lamPos: 0.5, lamNeg: 0.5 });
      const host = miForward(args, { backend: 'cuda' });
      const a = DeviceTensor.upload(args.logitsWith as Float32Array | Uint16Array);
      const b = DeviceTensor.upload(args.logitsWithout as Float32Array | Uint16Array);
      const dev = miForward({ ...args, logitsWith: a, logitsWithout: b }, { backend: 'cuda' });
      for (const key of MI_OUTPUTS) expect(dev[key]).toEqual(host[key]);
      a.free();
      b.free();
    }
  });
});

// --- bad input: exact error class and message, on every backend present ------------------------

const p = bad;
const miCases: Mutation[] = [
  ['not an object', () => {}, TypeError, 'Expected an options object for the first argument but received number 3'],
  [
    'wrong logits kind',
    (a) => (a.logitsWith = new Float64Array(60)),
    TypeError,
    'Expected Float32Array (dtype "f32") for logitsWith but received Float64Array',
  ],
  ['bf16 dtype with f32 data', (a) => (a.dtype = 'bf16'), TypeError, 'Expected Uint16Array (dtype "bf16") for logitsWith but received Float32Array'],
  ['unknown dtype', (a) => (a.dtype = 'f16'), TypeError, 'Expected "f32" or "bf16" for dtype but received string "f16"'],
  [
    'short logits',
    (a) => (a.logitsWithout = new Float32Array(59)),
    RangeError,
    'Expected Float32Array of length N*V (60) for logitsWithout but received Float32Array of length 59',
  ],
  ['tokens not Int32Array', (a) => (a.tokens = [1, 2, 3]), TypeError, 'Expected Int32Array for tokens but received Array'],
  ['no tokens', (a) => (a.tokens = new Int32Array(0)), RangeError, 'Expected at least one response token for tokens but received an empty array'],
  ['vocabSize 0', (a) => (a.vocabSize = 0), RangeError, 'Expected an integer >= 1 for vocabSize but received 0'],
  ['vocabSize missing', (a) => delete a.vocabSize, TypeError, 'Expected a number for vocabSize but received undefined'],
  [
    'token out of range',
    (a) => (a.tokens = Int32Array.from([1, 2, 3, 10, 4, 5])),
    RangeError,
    'Expected tokens[3] in [0, vocabSize) = [0, 10) but received 10',
  ],
  ['negative token', (a) => (a.tokens = Int32Array.from([1, -1, 3, 1, 4, 5])), RangeError, 'Expected tokens[1] in [0, vocabSize) = [0, 10) but received -1'],
  ['mask length', (a) => (a.mask = new Uint8Array(5)), RangeError, 'Expected Uint8Array of length N (6) for mask but received Uint8Array of length 5'],
  ['mask value 2', (a) => (a.mask = Uint8Array.from([1, 1, 2, 1, 1, 1])), RangeError, 'Expected mask[2] to be 0 or 1 but received 2'],
  [
    'seqOffsets too short',
    (a) => (a.seqOffsets = Int32Array.from([0])),
    RangeError,
    'Expected at least one sequence (length >= 2) for seqOffsets but received length 1',
  ],
  ['seqOffsets not from 0', (a) => (a.seqOffsets = Int32Array.from([1, 3, 6])), RangeError, 'Expected seqOffsets[0] = 0 but received 1'],
  [
    'seqOffsets decreasing',
    (a) => {
      a.seqOffsets = Int32Array.from([0, 4, 3, 6]);
      a.advantages = new Float32Array(3);
    },
    RangeError,
    'Expected seqOffsets[2] >= seqOffsets[1] = 4 but received 3',
  ],
  ['seqOffsets not ending at N', (a) => (a.seqOffsets = Int32Array.from([0, 3, 5])), RangeError, 'Expected seqOffsets[2] = N = 6 but received 5'],
  [
    'advantages length',
    (a) => (a.advantages = new Float32Array(3)),
    RangeError,
    'Expected Float32Array of length S (2, one per sequence) for advantages but received Float32Array of length 3',
  ],
  ['advantage NaN', (a) => (a.advantages = Float32Array.from([0.5, NaN])), RangeError, 'Expected advantages[1] to be finite but received NaN'],
  ['temperature 0', (a) => (a.temperature = 0), RangeError, 'Expected a finite number > 0 for temperature but received 0'],
  ['temperature string', (a) => (a.temperature = '1'), TypeError, 'Expected a number for temperature but received string "1"'],
  ['lamPos 1.5', (a) => (a.lamPos = 1.5), RangeError, 'Expected a number in [0, 1] for lamPos but received 1.5'],
  ['lamNeg negative', (a) => (a.lamNeg = -0.1), RangeError, 'Expected a number in [0, 1] for lamNeg but received -0.1'],
  ['scale 0', (a) => (a.scale = 0), RangeError, 'Expected a finite number > 0 for scale but received 0'],
  ['unknown norm', (a) => (a.norm = 'zscore'), TypeError, 'Expected one of "robust", "clip", "tanh", "none" for norm but received string "zscore"'],
  ['unknown renorm', (a) => (a.renorm = 'token'), TypeError, 'Expected one of "none", "sequence", "batch" for renorm but received string "token"'],
  ['unknown variant', (a) => (a.variant = 'fancy'), TypeError, 'Expected one of "paper", "symmetric", "bounded" for variant but received string "fancy"'],
  ['groupSize 0', (a) => (a.groupSize = 0), RangeError, 'Expected an integer >= 1 for groupSize but received 0'],
  ['groupSize 1.5', (a) => (a.groupSize = 1.5), RangeError, 'Expected an integer >= 1 for groupSize but received 1.5'],
  ['groupSize not dividing S', (a) => (a.groupSize = 3), RangeError, 'Expected groupSize dividing the number of sequences S = 2 but received 3'],
  ['cap negative', (a) => (a.cap = -1), RangeError, 'Expected a finite number >= 0 for cap but received -1'],
  ['cap overflowing float32', (a) => (a.cap = 1e300), RangeError, 'Expected a finite number >= 0 for cap but received Infinity'],
  [
    'bounded with renorm',
    (a) => {
      a.variant = 'bounded';
      a.renorm = 'batch';
    },
    RangeError,
    'Expected renorm "none" with variant "bounded" (it rescales each sign\'s weights itself) but received renorm "batch"',
  ],
  ['neutral length', (a) => (a.neutral = new Uint8Array(4)), RangeError, 'Expected Uint8Array of length N (6) for neutral but received Uint8Array of length 4'],
  ['neutral value 3', (a) => (a.neutral = Uint8Array.from([0, 0, 0, 3, 0, 0])), RangeError, 'Expected neutral[3] to be 0 or 1 but received 3'],
  ['scores as an Array', (a) => (a.scores = [0, 0, 0, 0, 0, 0]), TypeError, 'Expected Float32Array for scores but received Array'],
  ['score out of [-1, 1]', (a) => (a.scores = Float32Array.from([0, 1, -1, 1.5, 0, 0])), RangeError, 'Expected scores[3] in [-1, 1] but received 1.5'],
  ['score NaN', (a) => (a.scores = Float32Array.from([0, NaN, 0, 0, 0, 0])), RangeError, 'Expected scores[1] in [-1, 1] but received NaN'],
  [
    'NaN logit',
    (a) => ((a.logitsWith as Float32Array)[2 * 10 + 4] = NaN),
    RangeError,
    'Expected finite values or -Infinity in logitsWith but received NaN at logitsWith[2, 4]',
  ],
  [
    '+inf logit',
    (a) => ((a.logitsWithout as Float32Array)[5 * 10 + 9] = Infinity),
    RangeError,
    'Expected finite values or -Infinity in logitsWithout but received Infinity at logitsWithout[5, 9]',
  ],
  // A NaN with payload bits, which arithmetic carries along (an exp built from bit tricks can
  // turn it into a finite number), and a NaN among -inf values (no finite value to sum).
  [
    'NaN with a payload',
    (a) => (new Uint32Array((a.logitsWith as Float32Array).buffer)[3 * 10 + 5] = 0x7fc001ff),
    RangeError,
    'Expected finite values or -Infinity in logitsWith but received NaN at logitsWith[3, 5]',
  ],
  [
    'NaN among -inf',
    (a) => {
      const w = a.logitsWithout as Float32Array;
      w.fill(-Infinity, 40, 50);
      w[40 + p.tokens[4]!] = 0;
      w[40 + ((p.tokens[4]! + 1) % 10)] = NaN;
    },
    RangeError,
    `Expected finite values or -Infinity in logitsWithout but received NaN at logitsWithout[4, ${(p.tokens[4]! + 1) % 10}]`,
  ],
  [
    'row of -inf',
    (a) => (a.logitsWithout as Float32Array).fill(-Infinity, 10, 20),
    RangeError,
    'Expected at least one value above -Infinity in logitsWithout row 1 but received a row of only -Infinity',
  ],
  [
    'sampled token at -inf',
    (a) => ((a.logitsWith as Float32Array)[3 * 10 + p.tokens[3]!] = -Infinity),
    RangeError,
    `Expected a finite logit for the sampled token tokens[3] = ${p.tokens[3]} but received logitsWith[3, ${p.tokens[3]}] = -Infinity`,
  ],
  [
    'lowest bad row wins, logitsWith first',
    (a) => {
      (a.logitsWithout as Float32Array)[1 * 10 + 2] = NaN;
      (a.logitsWith as Float32Array)[4 * 10 + 2] = NaN;
      (a.logitsWith as Float32Array)[1 * 10 + 7] = Infinity;
    },
    RangeError,
    'Expected finite values or -Infinity in logitsWith but received Infinity at logitsWith[1, 7]',
  ],
];

for (const backend of availableBackends() as Backend[]) {
  describe(`${backend} backend: miForward errors`, () => {
    for (const [name, change, cls, rawMessage] of miCases) {
      const message = messageFor(backend, rawMessage);
      it(name, () => {
        const a = name === 'not an object' ? 3 : ({ ...base(), logitsWith: p.withF32.slice(), logitsWithout: p.withoutF32.slice() } as Record<string, unknown>);
        if (typeof a === 'object') change(a);
        const call = () => miForward(a as unknown as MiForwardArgs, { backend });
        expect(call).toThrow(cls);
        expect(call).toThrow(message);
        try {
          call();
        } catch (e) {
          expect((e as Error).message).toBe(message);
          expect((e as Error).constructor).toBe(cls);
        }
      });
    }
    it('bf16 NaN is reported with its position', () => {
      const a = miArgs(p, 'bf16');
      const w = (a.logitsWith as Uint16Array).slice();
      w[3 * 10 + 6] = 0x7fc0; // bf16 NaN
      expect(() => miForward({ ...a, logitsWith: w }, { backend })).toThrow(
        'Expected finite values or -Infinity in logitsWith but received NaN at logitsWith[3, 6]',
      );
      expect(toBf16([NaN])[0]! & 0x7f80).toBe(0x7f80);
    });
    it('masked rows are not checked (padding may hold anything)', () => {
      const w = p.withF32.slice();
      w.fill(NaN, 20, 30);
      const mask = Uint8Array.from([1, 1, 0, 1, 1, 1]);
      const out = miForward({ ...base(), logitsWith: w, mask }, { backend });
      expect(out.logpWith[2]).toBe(0);
      expect(Number.isFinite(out.logpWith[1]!)).toBe(true);
    });
  });
}

it('an unknown backend option is a TypeError', () => {
  expect(() => miForward(base(), { backend: 'gpu' as Backend })).toThrow('Expected one of "cuda", "cpu", "js" for backend but received "gpu"');
});
