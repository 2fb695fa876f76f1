// Float64 reference of miForward: the oracle every backend is tested against. Written for
// clarity, not speed: two passes per row (max, then sum of exponentials), all in float64.
import { bf16ToNumber } from '../bf16.js';
import { describeRowProblem } from '../messages.js';
import type { MiForwardArgs } from '../types.js';
import { checkMiForward, type CheckedMiForward } from '../validate.js';
import { stage2 } from './stage2.js';

export interface MiForwardReference {
  logpWith: Float64Array;
  logpWithout: Float64Array;
  lseWith: Float64Array;
  mi: Float64Array;
  score: Float64Array;
  weight: Float64Array;
  weightedAdvantage: Float64Array;
  entropyWith: Float64Array;
}

interface RowStats {
  lse: number;
  logp: number;
  entropy: number;
}

/** log-sum-exp, log-prob of `token` and entropy of softmax(row / T), in float64. */
export function rowStats(row: ArrayLike<number>, token: number, temperature: number): RowStats {
  let max = -Infinity;
  for (let j = 0; j < row.length; j++) max = Math.max(max, row[j]! / temperature);
  let sum = 0;
  for (let j = 0; j < row.length; j++) sum += Math.exp(row[j]! / temperature - max);
  const lse = max + Math.log(sum);
  let entropy = 0;
  for (let j = 0; j < row.length; j++) {
    const z = row[j]! / temperature;
    if (z === -Infinity) continue;
    const p = Math.exp(z - lse);
    entropy -= p * (z - lse);
  }
  return { lse, logp: row[token]! / temperature - lse, entropy: Math.max(0, entropy) };
}

function rowValues(data: Float32Array | Uint16Array, c: CheckedMiForward, row: number): Float64Array {
  const out = new Float64Array(c.v);
  const base = row * c.v;
  if (c.dtype === 'f32') for (let j = 0; j < c.v; j++) out[j] = data[base + j]!;
  else for (let j = 0; j < c.v; j++) out[j] = bf16ToNumber(data[base + j]!);
  return out;
}

export function miForwardReference(args: MiForwardArgs): MiForwardReference {
  const c = checkMiForward(args, 'js');
  const withData = c.logitsWith as Float32Array | Uint16Array;
  const withoutData = c.logitsWithout as Float32Array | Uint16Array;
  const { n } = c;
  const logpWith = new Float64Array(n);
  const logpWithout = new Float64Array(n);
  const lseWith = new Float64Array(n);
  const entropyWith = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (c.mask && c.mask[i] === 0) continue;
    const token = c.tokens[i]!;
    for (const [data, name] of [
      [withData, 'logitsWith'],
      [withoutData, 'logitsWithout'],
    ] as const) {
      const problem = describeRowProblem(data, c.dtype, c.v, i, token, c.temperature, name);
      if (problem) throw new RangeError(problem);
    }
    const a = rowStats(rowValues(withData, c, i), token, c.temperature);
    const b = rowStats(rowValues(withoutData, c, i), token, c.temperature);
    logpWith[i] = a.logp;
    lseWith[i] = a.lse;
    entropyWith[i] = a.entropy;
    logpWithout[i] = b.logp;
  }
  return { logpWith, logpWithout, lseWith, entropyWith, ...stage2(c, logpWith, logpWithout) };
}
