// The model's fused layers on the rapo-native backend: RMSNorm, SwiGLU's product, rotary
// positions, causal attention and the embedding gradient, each one native kernel forward and one
// backward (native-backend.ts, @rapo/kernels layers.ts), where the composite tfjs ops take a
// chain of broadcasting passes.
// LlamaModel uses them when rapo-native runs and they are enabled (the default;
// RAPO_FUSED_LAYERS=0 or setFusedLayers(false) turns them off, for comparisons). The composite
// path stays the definition: tests check both give the same values and gradients.
import { tf } from './backend.js';
import { FUSED_KERNELS, NATIVE_BACKEND } from './native-backend.js';

let enabled: boolean | undefined;

/** Turns the fused layers on or off (undefined: back to RAPO_FUSED_LAYERS, default on). */
export function setFusedLayers(on: boolean | undefined): void {
  enabled = on;
}

/** Whether the model uses the fused layers now: rapo-native runs and they are not turned off. */
export function fusedLayersActive(): boolean {
  if (tf.getBackend() !== NATIVE_BACKEND || tf.getKernel(FUSED_KERNELS.rmsNorm, NATIVE_BACKEND) === undefined) return false;
  if (enabled !== undefined) return enabled;
  const env = process.env.RAPO_FUSED_LAYERS;
  if (env === undefined || env === '' || env === '1') return true;
  if (env === '0') return false;
  throw new TypeError(`Expected "0" or "1" for RAPO_FUSED_LAYERS but received "${env}"`);
}

const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = {}) =>
  tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap);

/** x / sqrt(mean(x^2, last axis) + eps) * weight, with its gradient from the saved 1 / sqrt(...). */
export function rmsNormFused(x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, wIn, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [y, rstd] = run(FUSED_KERNELS.rmsNorm, { x: xIn, weight: wIn }, { eps }) as tf.Tensor[];
    save([xIn, wIn, rstd!]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run(FUSED_KERNELS.rmsNormGrad, { dy, x: saved[0]!, weight: saved[1]!, rstd: saved[2]! }) as tf.Tensor[],
    };
  });
  return op(x, weight);
}

/** silu(gate) * up, with its gradient (from the sigmoid the forward keeps). */
export function swigluFused(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [g, u, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [y, sig] = run(FUSED_KERNELS.swiglu, { gate: g, up: u }) as tf.Tensor[];
    save([g, u, sig!]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run(FUSED_KERNELS.swigluGrad, { dy, gate: saved[0]!, up: saved[1]!, sig: saved[2]! }) as tf.Tensor[],
    };
  });
  return op(gate, up);
}

/**
 * Rotary embedding of x [B, heads, T, headDim] by cos and sin [B, 1, T, headDim] (the
 * half-split layout), with its gradient (the inverse rotation); cos and sin get none.
 */
export function rotaryFused(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([cos, sin]);
    return {
      value: run(FUSED_KERNELS.rotary, { x: xIn, cos, sin }, { inverse: 0 }) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run(FUSED_KERNELS.rotary, { x: dy, cos: saved[0]!, sin: saved[1]! }, { inverse: 1 }) as tf.Tensor,
    };
  });
  return op(x) as tf.Tensor4D;
}

/** The gradient of an embedding lookup: rows [rows, width], row ids[j] summing dy's row j. */
export function embeddingGradFused(dy: tf.Tensor, ids: tf.Tensor, rows: number): tf.Tensor2D {
  const width = dy.shape[dy.shape.length - 1]!;
  return tf.tidy(() => run(FUSED_KERNELS.scatterAddRows, { src: dy.reshape([-1, width]), index: ids.reshape([-1]) }, { rows }) as tf.Tensor2D);
}

/**
 * Causal grouped-query attention: q [B, T, heads, hd], k and v [B, keys, kvHeads, hd], keyMask
 * [B, keys] float (1: the key may be seen), scores scaled by `scale`; query t sees key j when
 * keyMask[b, j] is 1 and j <= t + keys - T. One native kernel forward (keeping the softmax) and
 * one backward, for q, k and v; keyMask gets no gradient.
 */
export function attentionFused(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, keyMask: tf.Tensor2D, scale: number): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [qIn, kIn, vIn, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [out, probs] = run(FUSED_KERNELS.attention, { q: qIn, k: kIn, v: vIn, keyMask }, { scale }) as tf.Tensor[];
    save([qIn, kIn, vIn, keyMask, probs!]);
    return {
      value: out!,
      gradFunc: (dout: tf.Tensor, saved: tf.Tensor[]) =>
        run(FUSED_KERNELS.attentionGrad, { dout, q: saved[0]!, k: saved[1]!, v: saved[2]!, keyMask: saved[3]!, probs: saved[4]! }, { scale }) as tf.Tensor[],
    };
  });
  return op(q, k, v) as tf.Tensor4D;
}
