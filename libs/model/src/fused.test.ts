// The fused layers (fused.ts) against the composite tfjs ops they replace, on rapo-native: the
// same loss and gradients for every parameter of a model with grouped-query attention, Qwen3's
// per-head q/k norms, biases and repeated token ids.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tf } from './backend.js';
import { parseConfig } from './config.js';
import { fusedLayersActive, setFusedLayers } from './fused.js';
import { shiftTargets, tokenLogprobs } from './logprob.js';
import { LlamaModel } from './model.js';
import { NATIVE_BACKEND, registerNativeBackend } from './native-backend.js';

beforeAll(async () => {
  // CI builds the addon; a missing one is a failure here, not a skip.
  expect(registerNativeBackend()).toBeUndefined();
  await tf.setBackend(NATIVE_BACKEND);
});
afterEach(() => setFusedLayers(undefined));

const config = parseConfig({
  model_type: 'qwen3',
  vocab_size: 53,
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 16,
  intermediate_size: 48,
  max_position_embeddings: 64,
  tie_word_embeddings: true,
  attention_bias: true,
});

// The second row is left-padded by two tokens: its first queries see no key at all. No loss is
// taken at a padding position (as in training, where only response tokens count): there the
// composite ops would send q and k a gradient that comes from float rounding (a -1e9 mask on
// every key makes the softmax uniform), where the fused kernel sends none.
const PAD = 2;
function lossAndGrads(model: LlamaModel, ids: number[][]) {
  const attnRows = ids.map((r, b) => r.map((_, t) => (b === 1 && t < PAD ? 0 : 1)));
  const lossRows = ids.map((r, b) => r.map((_, t) => (b === 1 && t <= PAD ? 0 : 1)));
  const { targets, mask } = shiftTargets(ids, lossRows);
  const B = ids.length,
    T = ids[0]!.length;
  return tf.tidy(() => {
    // Inputs outside the differentiated function: the embedding's gradient reads the ids.
    const idsT = tf.tensor2d(ids, [B, T], 'int32');
    const attn = tf.tensor2d(attnRows, [B, T], 'int32');
    const tgt = tf.tensor2d(targets, [B, T], 'int32');
    const msk = tf.tensor2d(mask, [B, T], 'float32');
    const { value, grads } = tf.variableGrads(
      () => tf.neg(tf.mean(tokenLogprobs(model.forward(idsT, attn).logits, tgt, msk))) as tf.Scalar,
      model.trainableVariables,
    );
    return { loss: value.dataSync()[0]!, grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, Float32Array.from(g.dataSync())])) };
  });
}

describe('fused layers on rapo-native', () => {
  it('are on by default there, and off with RAPO_FUSED_LAYERS=0 or setFusedLayers(false)', () => {
    expect(fusedLayersActive()).toBe(true);
    setFusedLayers(false);
    expect(fusedLayersActive()).toBe(false);
    setFusedLayers(undefined);
    const saved = process.env.RAPO_FUSED_LAYERS;
    try {
      process.env.RAPO_FUSED_LAYERS = '0';
      expect(fusedLayersActive()).toBe(false);
      process.env.RAPO_FUSED_LAYERS = 'yes';
      expect(() => fusedLayersActive()).toThrow('Expected "0" or "1" for RAPO_FUSED_LAYERS but received "yes"');
    } finally {
      if (saved === undefined) delete process.env.RAPO_FUSED_LAYERS;
      else process.env.RAPO_FUSED_LAYERS = saved;
    }
  });

  it('give the loss and every gradient of the composite ops (RMSNorm, q/k norms, rotary, attention with left padding, SwiGLU, embedding with repeated ids)', async () => {
    const model = LlamaModel.init(config, 3);
    // Non-trivial norms and biases, so their gradients are tested through real values.
    for (const [name, v] of model.params)
      if (!name.endsWith('proj.weight') && !name.includes('embed')) v.assign(tf.randomNormal(v.shape, 1, 0.3, 'float32', 5));
    const ids = [
      [1, 5, 5, 9, 12, 5, 40, 1],
      [7, 7, 7, 2, 52, 0, 3, 5],
    ];
    const tensorsBefore = tf.memory().numTensors;
    setFusedLayers(true);
    let fused!: ReturnType<typeof lossAndGrads>;
    const profile = await tf.profile(() => {
      fused = lossAndGrads(model, ids);
    });
    const ran = new Set(profile.kernels.map((k) => k.name));
    for (const k of [
      'RapoRmsNorm',
      'RapoRmsNormGrad',
      'RapoSwiGlu',
      'RapoSwiGluGrad',
      'RapoScatterAddRows',
      'RapoRotary',
      'RapoAttention',
      'RapoAttentionGrad',
    ])
      expect(ran, k).toContain(k);
    expect(ran).not.toContain('Softmax'); // the attention's softmax is inside the fused kernel
    expect(tf.memory().numTensors).toBe(tensorsBefore); // nothing the fused path saved is left behind
    setFusedLayers(false);
    const plain = lossAndGrads(model, ids);
    expect(Math.abs(fused.loss - plain.loss)).toBeLessThan(1e-5);
    for (const [name, g] of Object.entries(plain.grads)) {
      const f = fused.grads[name]!;
      const scale = Math.max(...g.map(Math.abs), 1e-8);
      const err = Math.max(...g.map((v, i) => Math.abs(v - f[i]!)));
      expect(err / scale, name).toBeLessThan(1e-3); // float32 rounding through two layers; a wiring mistake is O(1)
    }
    model.dispose();
  });
});
