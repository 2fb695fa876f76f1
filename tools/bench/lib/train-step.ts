// One measured training step of a model (forward, the kernel log-probs, backward), shared by
// the model and training benchmarks, and the model sizes they report.
import { LlamaModel, parseConfig, shiftTargets, tf, tokenLogprobs, type ModelConfig } from '@rapo/model';
import { median } from './measure.js';

/** The ~1M and ~10M parameter configs every throughput table uses. */
export const BENCH_CONFIGS: Record<'1M' | '10M', ModelConfig> = {
  '1M': parseConfig({
    vocab_size: 2048,
    hidden_size: 128,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    intermediate_size: 344,
    max_position_embeddings: 512,
  }),
  '10M': parseConfig({
    vocab_size: 8192,
    hidden_size: 256,
    num_hidden_layers: 10,
    num_attention_heads: 8,
    num_key_value_heads: 4,
    intermediate_size: 688,
    max_position_embeddings: 512,
  }),
};

/**
 * Median seconds of a training step on `batch` sequences of `seq` tokens: after one warm-up,
 * at least `minRuns` steps, and more while under `minSeconds`.
 */
export function trainStepSeconds(model: LlamaModel, batch: number, seq: number, minRuns = 2, minSeconds = 0): number {
  const V = model.config.vocab_size;
  const ids = Array.from({ length: batch }, (_, b) => Array.from({ length: seq }, (_, t) => (b * 131 + t * 31) % V));
  const lossMask = ids.map((row) => row.map((_, t) => (t >= seq / 4 ? 1 : 0)));
  const { targets, mask } = shiftTargets(ids, lossMask);
  const idsT = tf.tensor2d(ids, [batch, seq], 'int32');
  const attn = tf.ones([batch, seq], 'int32') as tf.Tensor2D;
  const tgt = tf.tensor2d(targets, [batch, seq], 'int32');
  const msk = tf.tensor2d(mask, [batch, seq], 'float32');
  const times: number[] = [];
  const start = performance.now();
  for (let r = 0; r <= minRuns || (performance.now() - start) / 1000 < minSeconds; r++) {
    const t0 = performance.now();
    const { value, grads } = tf.variableGrads(
      () => tf.neg(tf.mean(tokenLogprobs(model.forward(idsT, attn).logits, tgt, msk))) as tf.Scalar,
      model.trainableVariables,
    );
    // Reading the gradients forces the work on asynchronous backends.
    for (const g of Object.values(grads)) g.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
    if (r > 0) times.push((performance.now() - t0) / 1000); // the first run warms up
  }
  tf.dispose([idsT, attn, tgt, msk]);
  return median(times);
}
