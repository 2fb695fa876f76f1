// Every backend present against the float64 reference, on fresh random inputs and on the
// shapes that hit edge paths. The CUDA block runs only where a device exists.
import { afterAll, describe, expect, it } from 'vitest';
import {
  availableBackends,
  backendInfo,
  DeviceTensor,
  fromBf16,
  logprobBackward,
  logprobBackwardAsync,
  logprobBackwardReference,
  MI_OUTPUTS,
  miForward,
  miForwardAsync,
  miForwardReference,
  rowStats,
  setCpuIsa,
  setCpuThreads,
  toBf16,
  type Backend,
  type CpuIsa,
  type DType,
  type MiForwardArgs,
  type MiForwardResult,
} from './index.js';
import { loadNative } from './loader.js';
import { makeProblem, miArgs, rng, worstError, type Problem } from './test-helpers.js';

interface Variant {
  name: string;
  backend: Backend;
  skip: string | undefined;
  setup: () => void;
}

const info = backendInfo();
const native = info.native;
// Every CPU instruction set compiled into the addon runs, where this CPU supports it.
const cpuVariant = (isa: CpuIsa): Variant => ({
  name: `cpu ${isa}`,
  backend: 'cpu',
  skip: !native ? info.nativeError : native.cpu.available.includes(isa) ? undefined : `this CPU cannot run ${isa}`,
  setup: () => setCpuIsa(isa),
});
const variants: Variant[] = [
  cpuVariant('avx512'),
  cpuVariant('avx2'),
  cpuVariant('scalar'),
  {
    name: 'cuda',
    backend: 'cuda',
    skip: !native ? info.nativeError : native.cuda.available ? undefined : native.cuda.reason,
    setup: () => {},
  },
  { name: 'js', backend: 'js', skip: undefined, setup: () => {} },
];

afterAll(() => {
  if (native) setCpuIsa('auto');
});

describe.skipIf(!native)('cpu instruction sets', () => {
  it('lists what this CPU runs, uses the widest by default, and refuses the others', () => {
    const cpu = loadNative().cpuInfo();
    expect(cpu.available.at(-1)).toBe('scalar');
    expect(cpu.simd).toBe(cpu.available[0]);
    expect(() => setCpuIsa('sse9' as CpuIsa)).toThrow(
      `Expected one of "auto", ${cpu.available.map((a) => `"${a}"`).join(', ')} (what this CPU supports) for isa but received "sse9"`,
    );
  });
});

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
  const title = variant.skip ? `${variant.name} backend (skipped: ${variant.skip})` : `${variant.name} backend`;
  describe.skipIf(variant.skip !== undefined)(title, () => {
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

    it('bounded: each sign keeps GRPO\'s gradient mass, and no sequence\'s extra weight passes the cap', () => {
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
          if (a > 0) (pos += out.weight[i]! * a), (pos0 += a);
          else if (a < 0) (neg -= out.weight[i]! * a), (neg0 -= a);
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

    for (const dtype of ['f32', 'bf16'] as const) {
      for (const outDtype of ['f32', 'bf16'] as const) {
        it(`logprobBackward ${dtype} -> ${outDtype} matches the reference`, async () => {
          variant.setup();
          for (const [seed, v] of [[31, 1001], [32, 8], [33, 5], [34, 4100], [35, 4096]] as const) {
            const p = makeProblem({ seed, n: 9, v, sequences: 2 });
            const args = miArgs(p, dtype, { temperature: 0.9 });
            const fwd = miForward(args, { backend: variant.backend });
            const coef = Float32Array.from({ length: p.n }, (_, i) => (i === 3 ? 0 : ((i % 3) - 1) * 0.7 + 0.2));
            const bargs = {
              logits: args.logitsWith as Float32Array | Uint16Array, tokens: p.tokens, vocabSize: p.v,
              lse: fwd.lseWith, coef, temperature: 0.9, outDtype,
            };
            const want = logprobBackwardReference(bargs);
            const got = logprobBackward(bargs, { backend: variant.backend }) as Float32Array | Uint16Array;
            const gotF = outDtype === 'f32' ? (got as Float32Array) : fromBf16(got as Uint16Array);
            // bf16 output rounds to 8 bits of mantissa (relative 2^-9).
            const e = worstError(gotF, want, 1e-6, outDtype === 'f32' ? 1e-5 : 4e-3);
            expect(e.worst, `dlogits[${e.at}]: got ${e.got}, want ${e.want}`).toBeLessThanOrEqual(1);
            const gotAsync = await logprobBackwardAsync(bargs, { backend: variant.backend });
            expect(gotAsync).toEqual(got);
            // Rows with coef 0 are exactly zero.
            for (let j = 0; j < p.v; j++) expect(gotF[3 * p.v + j]).toBe(0);
          }
        });
      }
    }

    it('logprobBackward is the gradient of -sum(coef * logp): finite differences of the reference', () => {
      variant.setup();
      const p = makeProblem({ seed: 41, n: 3, v: 11, sequences: 1, sigma: 1.5 });
      const T = 0.8;
      const coef = Float32Array.from([0.7, -1.3, 0.25]);
      const fwd = miForward(miArgs(p, 'f32', { temperature: T }), { backend: variant.backend });
      const grad = logprobBackward(
        { logits: p.withF32, tokens: p.tokens, vocabSize: p.v, lse: fwd.lseWith, coef, temperature: T },
        { backend: variant.backend },
      ) as Float32Array;
      const f = (row: Float64Array, i: number) => -coef[i]! * rowStats(row, p.tokens[i]!, T).logp;
      const h = 1e-5;
      for (let i = 0; i < p.n; i++) {
        for (let j = 0; j < p.v; j++) {
          const row = Float64Array.from(p.withF32.subarray(i * p.v, (i + 1) * p.v));
          row[j] = row[j]! + h;
          const up = f(row, i);
          row[j] = row[j]! - 2 * h;
          const down = f(row, i);
          const fd = (up - down) / (2 * h);
          expect(Math.abs(grad[i * p.v + j]! - fd)).toBeLessThan(1e-5 + 1e-4 * Math.abs(fd));
        }
      }
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

const cudaSkip = !native ? info.nativeError : native.cuda.available ? undefined : native.cuda.reason;
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
      const out = DeviceTensor.empty(dtype, p.n * p.v);
      const coef = new Float32Array(p.n).fill(1);
      logprobBackward({ logits: a, tokens: p.tokens, vocabSize: p.v, lse: host.lseWith, coef, out }, { backend: 'cuda' });
      const hostGrad = logprobBackward(
        { logits: args.logitsWith as Float32Array | Uint16Array, tokens: p.tokens, vocabSize: p.v, lse: host.lseWith, coef },
        { backend: 'cuda' },
      );
      expect(out.download()).toEqual(hostGrad);
      a.free();
      b.free();
      out.free();
    }
  });
});

it('lists the backends that can run here', () => {
  const list = availableBackends();
  expect(list).toContain('js');
  expect(list.includes('cpu')).toBe(native !== undefined);
  expect(list.includes('cuda')).toBe(native?.cuda.available === true);
  expect(toBf16(Float32Array.from([1]))[0]).toBe(0x3f80);
});
