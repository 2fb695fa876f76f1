// Benchmark inputs: large logits tensors filled fast (a block of random values repeated with a
// shift per row, so rows differ but generation stays cheap next to what is measured).
import { gaussian, rng } from '@rapo/kernels/testing';

export interface BenchData {
  n: number;
  v: number;
  withF32: Float32Array;
  withoutF32: Float32Array;
  tokens: Int32Array;
  seqOffsets: Int32Array;
  advantages: Float32Array;
  /** The sequence's advantage repeated on each of its rows. */
  rowAdvantages: Float32Array;
}

const BLOCK = 1 << 16;

function fillLogits(out: Float32Array, v: number, seed: number): void {
  const r = rng(seed);
  const block = Float32Array.from({ length: BLOCK + v }, () => gaussian(r) * 2.5);
  const rows = out.length / v;
  for (let i = 0; i < rows; i++) {
    const shift = Math.floor(r() * BLOCK);
    let j = 0;
    while (j < v) {
      const len = Math.min(v - j, BLOCK);
      out.set(block.subarray(shift, shift + len), i * v + j);
      j += len;
    }
  }
}

export function makeBenchData(n: number, v: number, seed = 1, rowsPerSequence = 256): BenchData {
  const withF32 = new Float32Array(n * v);
  const withoutF32 = new Float32Array(n * v);
  fillLogits(withF32, v, seed);
  fillLogits(withoutF32, v, seed + 1);
  const r = rng(seed + 2);
  const tokens = Int32Array.from({ length: n }, () => Math.floor(r() * v));
  const s = Math.max(1, Math.ceil(n / rowsPerSequence));
  const seqOffsets = Int32Array.from({ length: s + 1 }, (_, k) => Math.min(n, k * rowsPerSequence));
  const advantages = Float32Array.from({ length: s }, () => gaussian(r));
  const rowAdvantages = new Float32Array(n);
  for (let k = 0; k < s; k++) rowAdvantages.fill(advantages[k]!, seqOffsets[k]!, seqOffsets[k + 1]!);
  return { n, v, withF32, withoutF32, tokens, seqOffsets, advantages, rowAdvantages };
}

/** The first `rows` rows of a benchmark input (one sequence), for the slow implementations. */
export function subset(d: BenchData, rows: number): BenchData {
  return {
    n: rows,
    v: d.v,
    withF32: d.withF32.subarray(0, rows * d.v),
    withoutF32: d.withoutF32.subarray(0, rows * d.v),
    tokens: d.tokens.subarray(0, rows),
    seqOffsets: Int32Array.from([0, rows]),
    advantages: d.advantages.subarray(0, 1),
    rowAdvantages: new Float32Array(rows).fill(d.advantages[0]!),
  };
}
