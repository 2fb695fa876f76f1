// Float64 reference of logprobBackward:
//   dlogits[n, v] = coef[n] * (softmax(logits[n] / T)[v] - [v == tokens[n]]) / T
// with the softmax taken from the given lse, which must belong to the row.
import { bf16ToNumber } from '../bf16.js';
import { describeRowProblem, LSE_SUM_TOLERANCE, lseMismatchMessage } from '../messages.js';
import type { LogprobBackwardArgs } from '../types.js';
import { checkLogprobBackward } from '../validate.js';

export function logprobBackwardReference(args: LogprobBackwardArgs): Float64Array {
  const c = checkLogprobBackward(args, 'js');
  const data = c.logits as Float32Array | Uint16Array;
  const { n, v, temperature: T } = c;
  const out = new Float64Array(n * v);
  for (let i = 0; i < n; i++) {
    const coef = c.coef[i]!;
    if (coef === 0) continue;
    const lse = c.lse[i]!;
    let sum = 0;
    for (let j = 0; j < v; j++) {
      const x = c.dtype === 'f32' ? data[i * v + j]! : bf16ToNumber(data[i * v + j]!);
      const p = Math.exp(x / T - lse);
      sum += p;
      out[i * v + j] = (coef * p) / T;
    }
    if (!(Math.abs(sum - 1) <= LSE_SUM_TOLERANCE)) {
      const problem = describeRowProblem(data, c.dtype, v, i, c.tokens[i]!, T, 'logits');
      throw new RangeError(problem?.includes('finite values') ? problem : lseMismatchMessage(i, lse, sum));
    }
    const k = i * v + c.tokens[i]!;
    out[k] = out[k]! - coef / T;
  }
  return out;
}
