// Float64 oracles of the fused layer kernels (layers.ts): the formulas written plainly.
import type { AttentionShape } from '../layers.js';

export function rmsNormReference(
  x: ArrayLike<number>,
  weight: ArrayLike<number>,
  rows: number,
  size: number,
  eps: number,
): { y: Float64Array; rstd: Float64Array } {
  const y = new Float64Array(rows * size);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = 0; i < size; i++) ss += x[r * size + i]! ** 2;
    rstd[r] = 1 / Math.sqrt(ss / size + eps);
    for (let i = 0; i < size; i++) y[r * size + i] = x[r * size + i]! * rstd[r]! * weight[i]!;
  }
  return { y, rstd };
}

/** Gradients of sum(dy * rmsNorm(x)) with respect to x and weight, by the chain rule. */
export function rmsNormBackwardReference(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  weight: ArrayLike<number>,
  rows: number,
  size: number,
  eps: number,
): { dx: Float64Array; dweight: Float64Array } {
  const { rstd } = rmsNormReference(x, weight, rows, size, eps);
  const dx = new Float64Array(rows * size);
  const dweight = new Float64Array(size);
  for (let r = 0; r < rows; r++) {
    const inv = rstd[r]!;
    // y_i = x_i * inv * w_i, d inv / d x_j = -inv^3 * x_j / size
    let dot = 0;
    for (let i = 0; i < size; i++) dot += dy[r * size + i]! * weight[i]! * x[r * size + i]!;
    for (let j = 0; j < size; j++) {
      dx[r * size + j] = dy[r * size + j]! * weight[j]! * inv - (inv ** 3 * x[r * size + j]! * dot) / size;
      dweight[j]! += dy[r * size + j]! * x[r * size + j]! * inv;
    }
  }
  return { dx, dweight };
}

const sigmoid = (g: number) => 1 / (1 + Math.exp(-g));

export function swigluReference(gate: ArrayLike<number>, up: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: gate.length }, (_, i) => gate[i]! * sigmoid(gate[i]!) * up[i]!);
}

export function swigluBackwardReference(dy: ArrayLike<number>, gate: ArrayLike<number>, up: ArrayLike<number>): { dgate: Float64Array; dup: Float64Array } {
  const dgate = new Float64Array(dy.length);
  const dup = new Float64Array(dy.length);
  for (let i = 0; i < dy.length; i++) {
    const s = sigmoid(gate[i]!);
    dup[i] = dy[i]! * gate[i]! * s;
    dgate[i] = dy[i]! * up[i]! * (s + gate[i]! * s * (1 - s));
  }
  return { dgate, dup };
}

export function scatterAddRowsReference(src: ArrayLike<number>, index: ArrayLike<number>, rows: number, width: number): Float64Array {
  const out = new Float64Array(rows * width);
  for (let j = 0; j < index.length; j++) for (let c = 0; c < width; c++) out[index[j]! * width + c]! += src[j * width + c]!;
  return out;
}

/** Rotary embedding (half-split pairs) of x [batch, heads, seq, headDim] by cos, sin [batch, seq, headDim]; `inverse` negates sin. */
export function rotaryReference(
  x: ArrayLike<number>,
  cos: ArrayLike<number>,
  sin: ArrayLike<number>,
  s: { batch: number; heads: number; seq: number; headDim: number },
  inverse = false,
): Float64Array {
  const out = new Float64Array(x.length);
  const h = s.headDim / 2;
  const sign = inverse ? -1 : 1;
  for (let b = 0; b < s.batch; b++)
    for (let hd = 0; hd < s.heads; hd++)
      for (let t = 0; t < s.seq; t++) {
        const base = ((b * s.heads + hd) * s.seq + t) * s.headDim;
        const cs = (b * s.seq + t) * s.headDim;
        for (let i = 0; i < h; i++) {
          out[base + i] = x[base + i]! * cos[cs + i]! - x[base + h + i]! * sign * sin[cs + i]!;
          out[base + h + i] = x[base + h + i]! * cos[cs + h + i]! + x[base + i]! * sign * sin[cs + h + i]!;
        }
      }
  return out;
}

/**
 * Causal grouped-query attention in float64, q [batch, seq, heads, headDim], k and v [batch,
 * keys, kvHeads, headDim]: the softmax of scale * q k^T over the keys each query sees
 * (keyMask[b, j] != 0 and j <= t + keys - seq; all keys alike when it sees none), then the
 * weighted sum of v. Returns out (like q) and probs [batch, heads, seq, keys].
 */
export function attentionReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  keyMask: ArrayLike<number>,
  s: AttentionShape,
): { out: Float64Array; probs: Float64Array } {
  const { batch, heads, kvHeads, seq: T, keys: S, headDim: hd } = s;
  const rep = heads / kvHeads;
  const out = new Float64Array(batch * T * heads * hd);
  const probs = new Float64Array(batch * heads * T * S);
  for (let b = 0; b < batch; b++)
    for (let h = 0; h < heads; h++) {
      const kvAt = (j: number) => ((b * S + j) * kvHeads + Math.floor(h / rep)) * hd;
      for (let t = 0; t < T; t++) {
        const qo = ((b * T + t) * heads + h) * hd;
        const po = ((b * heads + h) * T + t) * S;
        const seen = (j: number) => keyMask[b * S + j] !== 0 && j <= t + S - T;
        let max = -Infinity;
        const scores = new Float64Array(S);
        for (let j = 0; j < S; j++) {
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += q[qo + i]! * k[kvAt(j) + i]!;
          scores[j] = s.scale * dot;
          if (seen(j)) max = Math.max(max, scores[j]!);
        }
        let sum = 0;
        for (let j = 0; j < S; j++) sum += seen(j) ? Math.exp(scores[j]! - max) : 0;
        for (let j = 0; j < S; j++) probs[po + j] = max === -Infinity ? 1 / S : seen(j) ? Math.exp(scores[j]! - max) / sum : 0;
        for (let j = 0; j < S; j++) for (let i = 0; i < hd; i++) out[qo + i]! += probs[po + j]! * v[kvAt(j) + i]!;
      }
    }
  return { out, probs };
}

/** The gradients of attentionReference's out for `dout`, in float64: dq, dk and dv (none to q and k from a query that sees no key). */
export function attentionBackwardReference(
  dout: ArrayLike<number>,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  keyMask: ArrayLike<number>,
  s: AttentionShape,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { batch, heads, kvHeads, seq: T, keys: S, headDim: hd } = s;
  const rep = heads / kvHeads;
  const { probs } = attentionReference(q, k, v, keyMask, s);
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  for (let b = 0; b < batch; b++)
    for (let h = 0; h < heads; h++) {
      const kvAt = (j: number) => ((b * S + j) * kvHeads + Math.floor(h / rep)) * hd;
      for (let t = 0; t < T; t++) {
        const qo = ((b * T + t) * heads + h) * hd;
        const po = ((b * heads + h) * T + t) * S;
        const sees = Array.from({ length: S }, (_, j) => keyMask[b * S + j] !== 0 && j <= t + S - T).some(Boolean);
        const dp = new Float64Array(S);
        let dot = 0;
        for (let j = 0; j < S; j++) {
          for (let i = 0; i < hd; i++) dp[j]! += dout[qo + i]! * v[kvAt(j) + i]!;
          dot += probs[po + j]! * dp[j]!;
        }
        for (let j = 0; j < S; j++) {
          const p = probs[po + j]!;
          const ds = sees ? s.scale * p * (dp[j]! - dot) : 0; // seeing nothing, the output is constant
          for (let i = 0; i < hd; i++) {
            dv[kvAt(j) + i]! += p * dout[qo + i]!;
            dq[qo + i]! += ds * k[kvAt(j) + i]!;
            dk[kvAt(j) + i]! += ds * q[qo + i]!;
          }
        }
      }
    }
  return { dq, dk, dv };
}
