// Log-probabilities of given tokens under the model, through the fused kernels of
// @rapo/kernels: the forward reads the logits once (miForward) and the backward writes the
// gradient straight from the saved log-sum-exp (logprobBackward), so no softmax tensor is ever
// built in JS. Rows with mask 0 (prompt, padding) are not read and get no gradient.
import { logprobBackward, miForward } from '@rapo/kernels';
import { tf } from './backend.js';

export interface TokenLogprobOptions {
  /** Logits are divided by it (the sampling temperature). Default 1. */
  temperature?: number;
}

/**
 * log softmax(logits / T)[targets] for every position: `logits` [B, T, V], `targets` [B, T]
 * (the token each position should predict, any valid id where masked), `mask` [B, T] (1 where
 * the log-prob counts). Returns [B, T], 0 where masked; differentiable in `logits`.
 */
export function tokenLogprobs(logits: tf.Tensor3D, targets: tf.Tensor2D, mask: tf.Tensor2D, options: TokenLogprobOptions = {}): tf.Tensor2D {
  const [B, T, V] = logits.shape;
  if (targets.shape[0] !== B || targets.shape[1] !== T || mask.shape[0] !== B || mask.shape[1] !== T) {
    throw new RangeError(`Expected targets and mask of shape [${B}, ${T}] but received [${targets.shape}] and [${mask.shape}]`);
  }
  const temperature = options.temperature ?? 1;
  const tokens = Int32Array.from(targets.dataSync());
  const maskBytes = Uint8Array.from(mask.dataSync(), (m) => (m > 0 ? 1 : 0));
  const n = B * T;
  const op = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const data = (inputs[0] as tf.Tensor).dataSync() as Float32Array;
    // One conditioning: the same logits on both sides; only logpWith and lseWith are used.
    const out = miForward({
      logitsWith: data,
      logitsWithout: data,
      tokens,
      vocabSize: V,
      mask: maskBytes,
      seqOffsets: Int32Array.from([0, n]),
      advantages: new Float32Array(1),
      norm: 'none',
      temperature,
    });
    return {
      value: tf.tensor2d(out.logpWith, [B, T]),
      gradFunc: (dy: tf.Tensor) => {
        // logprobBackward gives the gradient of -sum(coef * logp): coef = -dy.
        const up = dy.dataSync();
        const coef = Float32Array.from(up, (g, i) => (maskBytes[i] ? -g : 0));
        const grad = logprobBackward({ logits: data, tokens, vocabSize: V, lse: out.lseWith, coef, temperature }) as Float32Array;
        return tf.tensor3d(grad, [B, T, V]);
      },
    };
  });
  return op(logits) as tf.Tensor2D;
}

/** Next-token targets and mask from input ids: position t predicts token t + 1. */
export function shiftTargets(inputIds: number[][], lossMask: number[][]): { targets: number[][]; mask: number[][] } {
  return {
    targets: inputIds.map((row) => row.map((_, t) => row[t + 1] ?? 0)),
    mask: lossMask.map((row) => row.map((_, t) => (t + 1 < row.length ? row[t + 1]! : 0))),
  };
}
