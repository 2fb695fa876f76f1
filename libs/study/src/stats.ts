// Statistics over seeds for the study. Outcomes here are bounded and often bimodal (a seed that
// collapses sits far from the rest), so intervals come from the data, not from a normal model:
// the percentile bootstrap of the mean (seeded, so a study's numbers reproduce), paired by seed
// for differences, with an exact sign-flip permutation p-value; across a family of comparisons,
// Holm's step-down correction of the p-values and Bonferroni-widened intervals.
import { mulberry32 } from '@rapo/random';

export interface Interval {
  mean: number;
  /** 95% percentile-bootstrap interval of the mean. */
  ci95: [number, number];
  /** The values over seeds, in seed order. */
  values?: number[];
  /** Two-sided p-value of "the mean difference is 0" (paired differences only; exact sign flips). */
  p?: number;
  /** p after Holm's correction across the comparison's family. */
  pHolm?: number;
  /** The interval widened for the family (level 1 - 0.05 / family size). */
  ciFamily?: [number, number];
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

/** The q-quantile of sorted values, linear between order statistics. */
function quantile(sorted: readonly number[], q: number): number {
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

export const BOOTSTRAP_RESAMPLES = 10000;

/** Percentile-bootstrap interval of the mean at level `level` (seeded by the values' count). */
export function bootstrap(xs: readonly number[], level = 0.95, resamples = BOOTSTRAP_RESAMPLES): [number, number] {
  if (xs.length < 2) throw new RangeError(`Expected at least two values (seeds) for a confidence interval but received ${xs.length}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`Expected a level in (0, 1) but received ${level}`);
  const r = mulberry32(0x5eed + xs.length);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < xs.length; i++) s += xs[Math.floor(r() * xs.length)]!;
    means[b] = s / xs.length;
  }
  const sorted = Array.from(means).sort((a, b) => a - b);
  return [quantile(sorted, (1 - level) / 2), quantile(sorted, 1 - (1 - level) / 2)];
}

/** Mean, its 95% bootstrap interval and the values. Needs at least two values. */
export function interval(xs: readonly number[]): Interval {
  return { mean: mean(xs), ci95: bootstrap(xs), values: [...xs] };
}

/**
 * Two-sided p-value of the sign-flip permutation test of mean(d) = 0: the share of the 2^n sign
 * patterns whose |mean| is at least the observed one (exact up to n = 20; beyond, 2^20 random
 * patterns). All-zero differences give 1.
 */
export function signFlipP(d: readonly number[]): number {
  const n = d.length;
  if (n === 0) throw new RangeError('Expected at least one difference but received none');
  const observed = Math.abs(d.reduce((a, b) => a + b, 0));
  if (observed === 0) return 1;
  const tol = 1e-12 * Math.max(1, observed);
  let hits = 0;
  let total = 0;
  const count = (signs: (i: number) => number) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += signs(i) * d[i]!;
    total++;
    if (Math.abs(s) >= observed - tol) hits++;
  };
  if (n <= 20) {
    for (let mask = 0; mask < 1 << n; mask++) count((i) => ((mask >> i) & 1 ? -1 : 1));
  } else {
    const r = mulberry32(0xf11b);
    for (let k = 0; k < 1 << 20; k++) count(() => (r() < 0.5 ? -1 : 1));
  }
  return hits / total;
}

/** b - a per seed (the same seeds, in the same order): mean, bootstrap interval, sign-flip p. */
export function pairedDifference(a: readonly number[], b: readonly number[]): Interval {
  if (a.length !== b.length) throw new RangeError(`Expected the same number of seeds for a paired difference but received ${a.length} and ${b.length}`);
  const d = b.map((x, i) => x - a[i]!);
  return { ...interval(d), p: signFlipP(d) };
}

/** Holm's step-down adjusted p-values, in the input order. */
export function holm(ps: readonly number[]): number[] {
  const m = ps.length;
  const order = ps.map((p, i) => [p, i] as const).sort((x, y) => x[0] - y[0]);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    out[i] = running;
  });
  return out;
}

/**
 * Corrects a family of paired differences in place: Holm-adjusted p-values, and intervals at
 * level 1 - 0.05 / (family size) (Bonferroni, which contains Holm's decisions' level).
 */
export function correctFamily(family: readonly { interval: Interval; values: readonly number[] }[]): void {
  const adjusted = holm(family.map((f) => f.interval.p ?? 1));
  family.forEach((f, i) => {
    f.interval.pHolm = adjusted[i]!;
    f.interval.ciFamily = bootstrap(f.values, 1 - 0.05 / family.length);
  });
}

/** Whether a difference is significant after the family's correction (or alone), in words. */
export function verdict(d: Interval, what: string): string {
  const f = (x: number) => x.toFixed(4);
  const [lo, hi] = d.ciFamily ?? d.ci95;
  const which = d.ciFamily ? 'family-corrected CI' : '95% CI';
  const p = d.pHolm !== undefined ? `, Holm p = ${d.pHolm.toFixed(3)}` : d.p !== undefined ? `, p = ${d.p.toFixed(3)}` : '';
  const significant = d.pHolm !== undefined ? d.pHolm < 0.05 : d.p !== undefined ? d.p < 0.05 && (lo > 0 || hi < 0) : lo > 0 || hi < 0;
  if (significant && d.mean > 0) return `${what}: significantly higher (difference ${f(d.mean)}, ${which} [${f(lo)}, ${f(hi)}]${p})`;
  if (significant && d.mean < 0) return `${what}: significantly lower (difference ${f(d.mean)}, ${which} [${f(lo)}, ${f(hi)}]${p})`;
  return `${what}: no significant difference (difference ${f(d.mean)}, ${which} [${f(lo)}, ${f(hi)}]${p})`;
}

// The AUC lives beside the PMI-signal measurement that uses it (in the trainer).
export { auc } from '@rapo/trainer';
