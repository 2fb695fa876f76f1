// Float64 oracles of the fused layer kernels (layers.ts): the formulas written plainly.

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
