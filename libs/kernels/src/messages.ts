// Messages for problems found in the logits themselves, shared by the TypeScript backends and
// worded exactly as the native addon words them (native/src/common/validate.cc).
import { bf16ToNumber } from './bf16.js';
import type { DType } from './types.js';
import { formatNumber } from './validate.js';

const FLT_MAX = 3.4028234663852886e38;

/**
 * Describes the first problem of one logits row, in the order every backend checks: a NaN or
 * +Infinity, a value that overflows float32 once divided by the temperature, a row of only
 * -Infinity, a sampled token whose logit is -Infinity. Returns undefined when the row is fine.
 * Classification uses float32 arithmetic, as the kernels do.
 */
export function describeRowProblem(
  data: Float32Array | Uint16Array,
  dtype: DType,
  v: number,
  row: number,
  token: number,
  temperature: number,
  name: string,
): string | undefined {
  const at = (j: number) => (dtype === 'f32' ? data[row * v + j]! : bf16ToNumber(data[row * v + j]!));
  const invT = Math.fround(1 / temperature);
  let anyAbove = false;
  for (let j = 0; j < v; j++) {
    const x = at(j);
    if (Number.isNaN(x) || x === Infinity) {
      return `Expected finite values or -Infinity in ${name} but received ${formatNumber(x)} at ${name}[${row}, ${j}]`;
    }
    const z = Math.fround(x * invT);
    if (z === Infinity) {
      return `Expected finite values in ${name} after dividing by temperature ${formatNumber(Math.fround(temperature))} but received ${name}[${row}, ${j}] = ${formatNumber(x)}, which overflows float32`;
    }
    if (z > -FLT_MAX) anyAbove = true;
  }
  if (!anyAbove) {
    return `Expected at least one value above -Infinity in ${name} row ${row} but received a row of only -Infinity`;
  }
  if (!(Math.fround(at(token) * invT) > -FLT_MAX)) {
    return `Expected a finite logit for the sampled token tokens[${row}] = ${token} but received ${name}[${row}, ${token}] = -Infinity`;
  }
  return undefined;
}

export function lseMismatchMessage(row: number, lse: number, softmaxSum: number): string {
  return (
    `Expected lse[${row}] to be the log-sum-exp of logits row ${row} / temperature (softmax summing to 1) ` +
    `but received lse = ${formatNumber(lse)}, for which the softmax sums to ${formatNumber(softmaxSum)}; ` +
    'pass the lseWith that miForward returned for these logits and temperature'
  );
}

/** Tolerance on the softmax sum before logprobBackward calls an lse stale. */
export const LSE_SUM_TOLERANCE = 1e-3;
