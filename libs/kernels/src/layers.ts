// Fused layer kernels for training on the native addon (native/src/cpu/layers.cc and
// attention.cc): RMSNorm and SwiGLU's product, forward and backward, rotary positions, causal
// grouped-query attention, and the embedding gradient as a scatter-add. The
// rapo-native tfjs backend registers them as kernels, so a training step runs one pass where
// the composite tfjs ops run a chain of broadcasting elementwise passes. Each function checks
// its arguments (O(1), never the data, except that the addon refuses an index outside its
// rows) and returns its outputs; the float64 oracles are in reference/layers.ts.
import { loadNative } from './loader.js';

import { checkInteger, checkTypedArray } from './validate.js';

// Every array here is float32.
const f32 = (a: unknown, name: string, want?: number) => checkTypedArray(a, 'Float32Array', name, want);

/** RMSNorm of `rows` vectors of `size` values: y = x / sqrt(mean(x^2) + eps) * weight, and each row's 1 / sqrt(...). */
export function rmsNormForward(
  x: Float32Array,
  weight: Float32Array,
  rows: number,
  size: number,
  eps: number,
  out?: { y: Float32Array; rstd: Float32Array },
): { y: Float32Array; rstd: Float32Array } {
  checkInteger(rows, 'rows', 0);
  checkInteger(size, 'size', 1);
  if (!(eps >= 0)) throw new RangeError(`Expected a number >= 0 for eps but received ${eps}`);
  f32(x, 'x', rows * size);
  f32(weight, 'weight', size);
  const y = out?.y ?? new Float32Array(rows * size);
  const rstd = out?.rstd ?? new Float32Array(rows);
  f32(y, 'y', rows * size);
  f32(rstd, 'rstd', rows);
  loadNative().rmsNormForward(x, weight, y, rstd, rows, size, eps);
  return { y, rstd };
}

/** Gradients of RMSNorm from the forward's rstd: dx, and the weight's gradient summed over rows. */
export function rmsNormBackward(
  dy: Float32Array,
  x: Float32Array,
  weight: Float32Array,
  rstd: Float32Array,
  rows: number,
  size: number,
  out?: { dx: Float32Array; dweight: Float32Array },
): { dx: Float32Array; dweight: Float32Array } {
  checkInteger(rows, 'rows', 0);
  checkInteger(size, 'size', 1);
  f32(dy, 'dy', rows * size);
  f32(x, 'x', rows * size);
  f32(weight, 'weight', size);
  f32(rstd, 'rstd', rows);
  const dx = out?.dx ?? new Float32Array(rows * size);
  const dweight = out?.dweight ?? new Float32Array(size);
  f32(dx, 'dx', rows * size);
  f32(dweight, 'dweight', size);
  loadNative().rmsNormBackward(dy, x, weight, rstd, dx, dweight, rows, size);
  return { dx, dweight };
}

/** SwiGLU's product: y = gate * sigmoid(gate) * up, elementwise; `sig`, when given, receives sigmoid(gate) for the backward. */
export function swigluForward(gate: Float32Array, up: Float32Array, y?: Float32Array, sig?: Float32Array): Float32Array {
  f32(gate, 'gate');
  f32(up, 'up', gate.length);
  const out = y ?? new Float32Array(gate.length);
  f32(out, 'y', gate.length);
  if (sig !== undefined) f32(sig, 'sig', gate.length);
  loadNative().swigluForward(gate, up, out, sig ?? null);
  return out;
}

/** Gradients of swigluForward with respect to gate and up (from the forward's `sig` when given, else computed again). */
export function swigluBackward(
  dy: Float32Array,
  gate: Float32Array,
  up: Float32Array,
  out?: { dgate: Float32Array; dup: Float32Array },
  sig?: Float32Array,
): { dgate: Float32Array; dup: Float32Array } {
  f32(dy, 'dy');
  f32(gate, 'gate', dy.length);
  f32(up, 'up', dy.length);
  const dgate = out?.dgate ?? new Float32Array(dy.length);
  const dup = out?.dup ?? new Float32Array(dy.length);
  f32(dgate, 'dgate', dy.length);
  f32(dup, 'dup', dy.length);
  if (sig !== undefined) f32(sig, 'sig', dy.length);
  loadNative().swigluBackward(dy, gate, up, dgate, dup, sig ?? null);
  return { dgate, dup };
}

/** out [rows, width]: zeros, then row index[j] += src row j, in index order (an embedding's gradient). */
export function scatterAddRows(src: Float32Array, index: Int32Array, rows: number, width: number, out?: Float32Array): Float32Array {
  checkInteger(rows, 'rows', 0);
  checkInteger(width, 'width', 0);
  checkTypedArray(index, 'Int32Array', 'index');
  f32(src, 'src', index.length * width);
  const o = out ?? new Float32Array(rows * width);
  f32(o, 'out', rows * width);
  loadNative().scatterAddRows(src, index, o, rows, width);
  return o;
}

/** Sizes of a rotary call: x is [batch, heads, seq, headDim], cos and sin [batch, seq, headDim]. */
export interface RotaryShape {
  batch: number;
  heads: number;
  seq: number;
  headDim: number;
}

/**
 * Rotary position embedding in the half-split layout (pairs i, i + headDim / 2), with cos and
 * sin shared by the heads; `inverse` rotates the other way, which is the gradient.
 */
export function rotary(x: Float32Array, cos: Float32Array, sin: Float32Array, s: RotaryShape, inverse = false, out?: Float32Array): Float32Array {
  for (const k of ['batch', 'heads', 'seq'] as const) checkInteger(s[k], k, 0);
  checkInteger(s.headDim, 'headDim', 2);
  if (s.headDim % 2 !== 0) throw new RangeError(`Expected an even number for headDim but received ${s.headDim}`);
  const n = s.batch * s.heads * s.seq * s.headDim;
  f32(x, 'x', n);
  f32(cos, 'cos', s.batch * s.seq * s.headDim);
  f32(sin, 'sin', s.batch * s.seq * s.headDim);
  const o = out ?? new Float32Array(n);
  f32(o, 'out', n);
  loadNative().rotary(x, cos, sin, o, s.batch, s.heads, s.seq, s.headDim, inverse);
  return o;
}

/**
 * Sizes of an attention call: q [batch, seq, heads, headDim], k and v [batch, keys, kvHeads,
 * headDim] (the layout a projection's output has once reshaped: no transposes), keyMask
 * [batch, keys]; `scale` multiplies q k^T (usually 1 / sqrt(headDim)).
 */
export interface AttentionShape {
  batch: number;
  heads: number;
  kvHeads: number;
  seq: number;
  keys: number;
  headDim: number;
  scale: number;
}

function checkAttention(s: AttentionShape): { qn: number; kvn: number; pn: number } {
  for (const k of ['batch', 'seq'] as const) checkInteger(s[k], k, 0);
  for (const k of ['heads', 'kvHeads', 'headDim'] as const) checkInteger(s[k], k, 1);
  checkInteger(s.keys, 'keys', s.seq);
  if (s.heads % s.kvHeads !== 0) throw new RangeError(`Expected heads to be a multiple of kvHeads but received ${s.heads} and ${s.kvHeads}`);
  if (!Number.isFinite(s.scale)) throw new RangeError(`Expected a finite number for scale but received ${s.scale}`);
  return { qn: s.batch * s.heads * s.seq * s.headDim, kvn: s.batch * s.kvHeads * s.keys * s.headDim, pn: s.batch * s.heads * s.seq * s.keys };
}

const attentionArgs = (s: AttentionShape): [number[], number] => [[s.batch, s.heads, s.kvHeads, s.seq, s.keys, s.headDim], s.scale];

/**
 * Causal grouped-query attention: query t of row b sees key j when keyMask[b, j] != 0 and
 * j <= t + keys - seq; query head h reads key/value head floor(h / (heads / kvHeads)). Returns
 * out (like q) and probs [batch, heads, seq, keys], the softmax of scale * q k^T over the visible
 * keys, which the backward needs. A query that sees no key attends to all keys alike (as an
 * additive -1e9 mask makes the composite ops do).
 */
export function attentionForward(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  keyMask: Float32Array,
  s: AttentionShape,
  outputs?: { out: Float32Array; probs: Float32Array },
): { out: Float32Array; probs: Float32Array } {
  const { qn, kvn, pn } = checkAttention(s);
  f32(q, 'q', qn);
  f32(k, 'k', kvn);
  f32(v, 'v', kvn);
  f32(keyMask, 'keyMask', s.batch * s.keys);
  const out = outputs?.out ?? new Float32Array(qn);
  const probs = outputs?.probs ?? new Float32Array(pn);
  f32(out, 'out', qn);
  f32(probs, 'probs', pn);
  loadNative().attentionForward(q, k, v, keyMask, out, probs, ...attentionArgs(s));
  return { out, probs };
}

/**
 * The gradients of attentionForward's out for `dout` (like q), from the same inputs and the
 * probs it returned: dq, dk and dv (a query that sees no key sends q and k none).
 */
export function attentionBackward(
  dout: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  keyMask: Float32Array,
  probs: Float32Array,
  s: AttentionShape,
  outputs?: { dq: Float32Array; dk: Float32Array; dv: Float32Array },
): { dq: Float32Array; dk: Float32Array; dv: Float32Array } {
  const { qn, kvn, pn } = checkAttention(s);
  f32(dout, 'dout', qn);
  f32(q, 'q', qn);
  f32(k, 'k', kvn);
  f32(v, 'v', kvn);
  f32(keyMask, 'keyMask', s.batch * s.keys);
  f32(probs, 'probs', pn);
  const dq = outputs?.dq ?? new Float32Array(qn);
  const dk = outputs?.dk ?? new Float32Array(kvn);
  const dv = outputs?.dv ?? new Float32Array(kvn);
  f32(dq, 'dq', qn);
  f32(dk, 'dk', kvn);
  f32(dv, 'dv', kvn);
  loadNative().attentionBackward(dout, q, k, v, keyMask, probs, dq, dk, dv, ...attentionArgs(s));
  return { dq, dk, dv };
}

/** Why the fused layer kernels cannot run here, or undefined. */
export function nativeLayersError(): string | undefined {
  try {
    const addon = loadNative();
    if (typeof addon.rmsNormForward !== 'function' || typeof addon.rotary !== 'function' || typeof addon.attentionForward !== 'function')
      return 'the rapo addon predates the fused layer kernels; rebuild it with `npm run build:native`';
    return undefined;
  } catch (e) {
    return (e as Error).message.split('\n')[0]!;
  }
}
