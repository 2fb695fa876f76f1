// Means and 95% confidence intervals over seeds (Student's t), and the paired difference of two
// methods run on the same seeds.

export interface Interval {
  mean: number;
  ci95: [number, number];
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('Expected at least one value for a mean but received none');
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n - 1). */
export function sd(xs: readonly number[]): number {
  if (xs.length < 2) throw new RangeError(`Expected at least two values for a standard deviation but received ${xs.length}`);
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

// Two-sided 95% quantiles t(0.975, df) for df = 1..30; beyond that the normal value is within 2%.
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074,
  2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export function t975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`Expected degrees of freedom >= 1 but received ${df}`);
  return df <= T975.length ? T975[df - 1]! : 1.96 + 2.4 / df;
}

/** Mean and the 95% t-interval of the mean. Needs at least two values. */
export function interval(xs: readonly number[]): Interval {
  if (xs.length < 2) throw new RangeError(`Expected at least two values (seeds) for a confidence interval but received ${xs.length}`);
  const m = mean(xs);
  const half = (t975(xs.length - 1) * sd(xs)) / Math.sqrt(xs.length);
  return { mean: m, ci95: [m - half, m + half] };
}

/** b - a per seed (the same seeds, in the same order), with its interval. */
export function pairedDifference(a: readonly number[], b: readonly number[]): Interval {
  if (a.length !== b.length) throw new RangeError(`Expected the same number of seeds for a paired difference but received ${a.length} and ${b.length}`);
  return interval(b.map((x, i) => x - a[i]!));
}

/** Whether an interval excludes zero, in words. */
export function verdict(d: Interval, what: string): string {
  const [lo, hi] = d.ci95;
  const f = (x: number) => x.toFixed(4);
  if (lo > 0) return `${what}: significantly higher (difference ${f(d.mean)}, 95% CI [${f(lo)}, ${f(hi)}] excludes 0)`;
  if (hi < 0) return `${what}: significantly lower (difference ${f(d.mean)}, 95% CI [${f(lo)}, ${f(hi)}] excludes 0)`;
  return `${what}: no significant difference (difference ${f(d.mean)}, 95% CI [${f(lo)}, ${f(hi)}] contains 0)`;
}

// The AUC lives beside the PMI-signal measurement that uses it (in the trainer).
export { auc } from '@rapo/trainer';
