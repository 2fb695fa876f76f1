// Input builders for the kernels' tests and benchmarks (`@rapo/kernels/testing`): seeded problems
// (logits, tokens, sequences, advantages), miForward arguments in either dtype, and an error
// measure; the seeded generator itself comes from @rapo/random.
import { toBf16 } from './bf16.js';
import type { DType, MiForwardArgs } from './types.js';
import { gaussian, mulberry32 as rng } from '@rapo/random';

/** The seeded generator and normal draws every rapo project uses (@rapo/random), under the names these tests use. */
export { mulberry32 as rng, gaussian } from '@rapo/random';

export interface Problem {
  n: number;
  v: number;
  /** Rows per sequence; sums to n. */
  lengths: number[];
  withF32: Float32Array;
  withoutF32: Float32Array;
  tokens: Int32Array;
  mask: Uint8Array | undefined;
  seqOffsets: Int32Array;
  advantages: Float32Array;
}

export interface ProblemOptions {
  seed: number;
  n: number;
  v: number;
  sequences?: number;
  sigma?: number;
  masked?: number; // fraction of masked rows
  /** Tokens drawn from the "with" softmax's top entries so PMI has signal. */
  zeroAdvantage?: boolean;
}

export function makeProblem(o: ProblemOptions): Problem {
  const r = rng(o.seed);
  const { n, v } = o;
  const sigma = o.sigma ?? 2.5;
  const withF32 = new Float32Array(n * v);
  const withoutF32 = new Float32Array(n * v);
  for (let k = 0; k < n * v; k++) {
    withF32[k] = gaussian(r) * sigma;
    withoutF32[k] = withF32[k]! * 0.7 + gaussian(r) * sigma * 0.5;
  }
  const tokens = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    // Favour high-logit tokens, as sampling does.
    let best = Math.floor(r() * v);
    for (let t = 0; t < 3; t++) {
      const c = Math.floor(r() * v);
      if (withF32[i * v + c]! > withF32[i * v + best]!) best = c;
    }
    tokens[i] = best;
  }
  const s = Math.max(1, Math.min(o.sequences ?? Math.max(1, Math.floor(n / 8)), n));
  const lengths = new Array<number>(s).fill(0);
  for (let i = 0; i < n; i++) lengths[i < s ? i : Math.floor(r() * s)]!++;
  const seqOffsets = new Int32Array(s + 1);
  for (let k = 0; k < s; k++) seqOffsets[k + 1] = seqOffsets[k]! + lengths[k]!;
  const advantages = new Float32Array(s);
  for (let k = 0; k < s; k++) advantages[k] = o.zeroAdvantage ? 0 : gaussian(r);
  let mask: Uint8Array | undefined;
  if (o.masked) {
    mask = new Uint8Array(n);
    for (let i = 0; i < n; i++) mask[i] = r() < o.masked ? 0 : 1;
  }
  return { n, v, lengths, withF32, withoutF32, tokens, mask, seqOffsets, advantages };
}

/** miForward arguments for a problem in the given dtype. */
export function miArgs(p: Problem, dtype: DType, extra: Partial<MiForwardArgs> = {}): MiForwardArgs {
  return {
    logitsWith: dtype === 'f32' ? p.withF32 : toBf16(p.withF32),
    logitsWithout: dtype === 'f32' ? p.withoutF32 : toBf16(p.withoutF32),
    tokens: p.tokens,
    vocabSize: p.v,
    mask: p.mask,
    seqOffsets: p.seqOffsets,
    advantages: p.advantages,
    ...extra,
  };
}

/** Largest |a - b| / (atol + rtol * |b|); <= 1 means within tolerance. */
export function worstError(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number) {
  let worst = 0;
  let at = -1;
  for (let i = 0; i < b.length; i++) {
    const err = Math.abs(a[i]! - b[i]!) / (atol + rtol * Math.abs(b[i]!));
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  return { worst, at, got: at >= 0 ? a[at] : undefined, want: at >= 0 ? b[at] : undefined };
}
