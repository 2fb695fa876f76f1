// Stage 2 of miForward in float64: from per-row log-probs to PMI, scores, weights and weighted
// advantages (docs/kernels.md). Used by the reference and by the TypeScript backend.
import type { CheckedMiForward } from '../validate.js';

export interface Stage2Result {
  mi: Float64Array;
  score: Float64Array;
  weight: Float64Array;
  weightedAdvantage: Float64Array;
}

function median(sorted: number[]): number {
  const k = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[k]! : 0.5 * (sorted[k - 1]! + sorted[k]!);
}

export function stage2(c: CheckedMiForward, logpWith: ArrayLike<number>, logpWithout: ArrayLike<number>): Stage2Result {
  const { n, s: numSeqs, mask, seqOffsets: off } = c;
  const active = (i: number) => !mask || mask[i] === 1;
  const mi = new Float64Array(n);
  for (let i = 0; i < n; i++) if (active(i)) mi[i] = logpWith[i]! - logpWithout[i]!;

  const score = new Float64Array(n);
  if (c.scores) {
    // Given scores (the testbed's oracle labels) take the place of the normalized PMI.
    for (let i = 0; i < n; i++) if (active(i)) score[i] = c.scores[i]!;
  } else if (c.norm === 'clip') {
    for (let i = 0; i < n; i++) if (active(i)) score[i] = Math.min(Math.max(mi[i]!, -c.scale), c.scale) / c.scale;
  } else if (c.norm === 'tanh') {
    for (let i = 0; i < n; i++) if (active(i)) score[i] = Math.tanh(mi[i]! / c.scale);
  } else if (c.norm === 'robust') {
    const segments: [number, number][] = c.scope === 'batch' ? [[0, n]] : Array.from({ length: numSeqs }, (_, k) => [off[k]!, off[k + 1]!]);
    for (const [begin, end] of segments) {
      const values: number[] = [];
      for (let i = begin; i < end; i++) if (active(i)) values.push(mi[i]!);
      if (values.length === 0) continue;
      values.sort((a, b) => a - b);
      const med = median(values);
      const lo = values[0]!;
      const hi = values[values.length - 1]!;
      // Standardizing by the std first would cancel: s = z / max(z) = (m - med) / (max - med).
      for (let i = begin; i < end; i++) {
        if (!active(i)) continue;
        const d = mi[i]! - med;
        score[i] = d > 0 ? d / (hi - med) : d < 0 ? d / (med - lo) : 0;
      }
    }
  }

  // Centring per group (symmetric, bounded): each group's non-neutral scores get mean 0, then
  // are clipped back to [-1, 1]. Neutral rows (format tags, end of turn) score 0 in every variant.
  const neutral = (i: number) => c.neutral !== undefined && c.neutral[i] === 1;
  if (c.variant !== 'paper') {
    for (let g = 0; g < numSeqs; g += c.groupSize) {
      const begin = off[g]!;
      const end = off[g + c.groupSize]!;
      let sum = 0;
      let count = 0;
      for (let i = begin; i < end; i++) {
        if (active(i) && !neutral(i)) {
          sum += score[i]!;
          count++;
        }
      }
      if (count === 0) continue;
      const mean = sum / count;
      for (let i = begin; i < end; i++) if (active(i) && !neutral(i)) score[i] = Math.min(1, Math.max(-1, score[i]! - mean));
    }
  }
  for (let i = 0; i < n; i++) if (neutral(i)) score[i] = 0;

  const adv = new Float64Array(n);
  for (let k = 0; k < numSeqs; k++) {
    for (let i = off[k]!; i < off[k + 1]!; i++) if (active(i)) adv[i] = c.advantagesPerToken ? c.advantages[i]! : c.advantages[k]!;
  }
  // The cap (bounded): a sequence's extra weight, sum_t lam * |s_t|, at most cap per row.
  if (c.variant === 'bounded') {
    for (let k = 0; k < numSeqs; k++) {
      let extra = 0;
      let count = 0;
      for (let i = off[k]!; i < off[k + 1]!; i++) {
        if (!active(i)) continue;
        const lam = adv[i]! > 0 ? c.lamPos : adv[i]! < 0 ? c.lamNeg : 0;
        extra += lam * Math.abs(score[i]!);
        count++;
      }
      const limit = c.cap * count;
      if (extra > limit) {
        const f = limit / extra;
        for (let i = off[k]!; i < off[k + 1]!; i++) if (active(i)) score[i] = score[i]! * f;
      }
    }
  }

  const weight = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (!active(i)) continue;
    const a = adv[i]!;
    const sc = score[i]!;
    weight[i] = c.variant === 'symmetric' ? 1 + c.lamPos * sc : a > 0 ? 1 + c.lamPos * sc : a < 0 ? 1 - c.lamNeg * sc : 1;
  }
  if (c.variant === 'bounded') {
    // Each sign's weights rescaled so that sum w |A| equals GRPO's sum |A| (one batch-wide factor per sign).
    let pos = 0;
    let pos0 = 0;
    let neg = 0;
    let neg0 = 0;
    for (let i = 0; i < n; i++) {
      if (!active(i)) continue;
      const a = adv[i]!;
      if (a > 0) {
        pos += weight[i]! * a;
        pos0 += a;
      } else if (a < 0) {
        neg -= weight[i]! * a;
        neg0 -= a;
      }
    }
    const fPos = pos > 0 ? pos / pos0 : 1;
    const fNeg = neg > 0 ? neg / neg0 : 1;
    for (let i = 0; i < n; i++) {
      if (!active(i)) continue;
      if (adv[i]! > 0) weight[i] = weight[i]! / fPos;
      else if (adv[i]! < 0) weight[i] = weight[i]! / fNeg;
    }
  }
  const renormRange = (begin: number, end: number) => {
    let sum = 0;
    let count = 0;
    for (let i = begin; i < end; i++) {
      if (active(i)) {
        sum += weight[i]!;
        count++;
      }
    }
    if (count === 0 || sum <= 0) return; // all-zero weights stay zero
    const mean = sum / count;
    for (let i = begin; i < end; i++) weight[i] = weight[i]! / mean;
  };
  if (c.renorm === 'batch') renormRange(0, n);
  else if (c.renorm === 'sequence') for (let k = 0; k < numSeqs; k++) renormRange(off[k]!, off[k + 1]!);

  const weightedAdvantage = new Float64Array(n);
  for (let i = 0; i < n; i++) weightedAdvantage[i] = weight[i]! * adv[i]!;
  return { mi, score, weight, weightedAdvantage };
}
