// The RL objective: group advantages, the PPO-clip loss weighted per token (RAPO's weights, all
// ones for GRPO), the k3 KL to a frozen reference, and the three ways to aggregate token losses.
// docs/design.md, "The objective".
import { tf } from '@rapo/model';

export type AdvScale = 'group' | 'batch' | 'none';
export type LossAgg = 'token-mean' | 'seq-mean-token-mean' | 'seq-mean-token-sum-norm';

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

function std(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
}

/**
 * Advantages of G samples per prompt: reward minus the group mean, divided by the group's std
 * ('group'), the whole batch's std ('batch') or nothing ('none'). A group whose rewards are all
 * equal gets 0.
 */
export function groupAdvantages(rewards: number[][], scale: AdvScale, eps = 1e-6): number[][] {
  const batchStd = std(rewards.flat());
  return rewards.map((g) => {
    const m = mean(g);
    if (scale === 'none') return g.map((r) => r - m);
    const s = scale === 'group' ? std(g) : batchStd;
    return g.map((r) => (s > eps ? (r - m) / s : 0));
  });
}

export interface PpoInputs {
  /** [B, T] log-probs of the current policy (differentiable). */
  newLogp: tf.Tensor2D;
  /** [B, T] log-probs of the policy that sampled (fixed). */
  oldLogp: tf.Tensor2D;
  /** [B, T] log-probs of the frozen reference (fixed), when beta > 0. */
  refLogp?: tf.Tensor2D;
  /** [B, T] advantage of each token (its sequence's advantage). */
  advantages: tf.Tensor2D;
  /** [B, T] RAPO weight of each token (1 everywhere for GRPO). */
  weights: tf.Tensor2D;
  /** [B, T] 1 on response tokens. */
  mask: tf.Tensor2D;
}

export interface PpoOptions {
  epsLow: number;
  epsHigh: number;
  beta: number;
  lossAgg: LossAgg;
  /** seq-mean-token-sum-norm divides each sequence's sum by this (the generation budget). */
  maxNewTokens: number;
}

export interface PpoStats {
  /** Share of response tokens clipped below (A < 0, ratio < 1 - eps_low) and above (A > 0, ratio > 1 + eps_high). */
  clipLow: number;
  clipHigh: number;
  /** Mean k3 KL to the reference over response tokens (0 without a reference). */
  kl: number;
}

/** The loss (a scalar to minimize) and, outside the gradient, its statistics. */
export function ppoLoss(x: PpoInputs, o: PpoOptions): { loss: tf.Scalar; stats: () => PpoStats } {
  const ratio = tf.exp(tf.sub(x.newLogp, x.oldLogp));
  const clipped = tf.clipByValue(ratio, 1 - o.epsLow, 1 + o.epsHigh);
  const surrogate = tf.minimum(tf.mul(ratio, x.advantages), tf.mul(clipped, x.advantages));
  let perToken = tf.neg(tf.mul(x.weights, surrogate));
  let k3: tf.Tensor | undefined;
  if (x.refLogp && o.beta > 0) {
    const d = tf.sub(x.refLogp, x.newLogp);
    k3 = tf.sub(tf.sub(tf.exp(d), d), 1);
    perToken = tf.add(perToken, tf.mul(k3, o.beta));
  }
  const masked = tf.mul(perToken, x.mask);
  const tokens = tf.sum(x.mask, 1); // [B]
  let loss: tf.Scalar;
  if (o.lossAgg === 'token-mean') {
    loss = tf.div(tf.sum(masked), tf.maximum(tf.sum(x.mask), 1));
  } else if (o.lossAgg === 'seq-mean-token-mean') {
    loss = tf.mean(tf.div(tf.sum(masked, 1), tf.maximum(tokens, 1)));
  } else {
    loss = tf.div(tf.mean(tf.sum(masked, 1)), o.maxNewTokens);
  }
  const stats = (): PpoStats => {
    const r = ratio.dataSync();
    const a = x.advantages.dataSync();
    const m = x.mask.dataSync();
    const kk = k3?.dataSync();
    let n = 0;
    let low = 0;
    let high = 0;
    let kl = 0;
    for (let i = 0; i < m.length; i++) {
      if (!m[i]) continue;
      n++;
      if (a[i]! < 0 && r[i]! < 1 - o.epsLow) low++;
      if (a[i]! > 0 && r[i]! > 1 + o.epsHigh) high++;
      if (kk) kl += kk[i]!;
    }
    return { clipLow: n ? low / n : 0, clipHigh: n ? high / n : 0, kl: n ? kl / n : 0 };
  };
  return { loss: loss as tf.Scalar, stats };
}

/** Pearson correlation (0 when either side is constant). */
export function correlation(xs: ArrayLike<number>, ys: ArrayLike<number>): number {
  const n = xs.length;
  if (n < 2) return 0;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]!;
    my += ys[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}

export function summary(xs: ArrayLike<number>): { mean: number; std: number; min: number; max: number } {
  const a = Array.from(xs);
  if (a.length === 0) return { mean: 0, std: 0, min: 0, max: 0 };
  return { mean: mean(a), std: std(a), min: Math.min(...a), max: Math.max(...a) };
}
