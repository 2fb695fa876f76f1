// The decoder on a small config: the kernel log-prob path against tfjs autodiff, cached
// generation against the full forward, padding, determinism, and checkpoint-shape checks.
import { beforeAll, describe, expect, it } from 'vitest';
import { describeBackend, initBackend, tf } from './backend.js';
import { parseConfig, parameterCount, type ModelConfig } from './config.js';
import { generate, resolveEngine, sampleToken } from './generate.js';
import { shiftTargets, tokenLogprobs } from './logprob.js';
import { LlamaModel, parameterShapes } from './model.js';
import { mulberry32 } from '@rapo/random';

const config: ModelConfig = parseConfig({
  vocab_size: 61,
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 48,
  max_position_embeddings: 64,
  tie_word_embeddings: false,
});

beforeAll(async () => {
  const info = await initBackend();
  console.log(describeBackend(info));
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('LlamaModel', () => {
  it('has the Hugging Face parameter names and shapes', () => {
    const shapes = parameterShapes(config);
    expect(shapes.get('model.layers.1.self_attn.k_proj.weight')).toEqual([16, 32]);
    expect(shapes.get('lm_head.weight')).toEqual([61, 32]);
    expect(parameterShapes({ ...config, tie_word_embeddings: true }).has('lm_head.weight')).toBe(false);
    const m = LlamaModel.init(config, 1);
    expect(m.trainableVariables.reduce((s, v) => s + v.size, 0)).toBe(parameterCount(config));
    m.dispose();
  });

  it('is deterministic for a seed and gives the same logits with left or right padding', () => {
    const a = LlamaModel.init(config, 7);
    const b = LlamaModel.init(config, 7);
    const ids = tf.tensor2d([[5, 6, 7, 8]], [1, 4], 'int32');
    const ones = tf.ones([1, 4], 'int32') as tf.Tensor2D;
    const la = a.forward(ids, ones).logits.dataSync();
    expect(maxAbsDiff(la, b.forward(ids, ones).logits.dataSync())).toBe(0);
    // The same tokens after two pads (left) must give the same logits at their positions.
    const padded = a.forward(tf.tensor2d([[0, 0, 5, 6, 7, 8]], [1, 6], 'int32'), tf.tensor2d([[0, 0, 1, 1, 1, 1]], [1, 6], 'int32')).logits;
    const real = tf.slice(padded, [0, 2, 0], [1, 4, 61]).dataSync();
    expect(maxAbsDiff(real, la)).toBeLessThan(1e-4);
    // And after (right padding).
    const right = a.forward(tf.tensor2d([[5, 6, 7, 8, 0]], [1, 5], 'int32'), tf.tensor2d([[1, 1, 1, 1, 0]], [1, 5], 'int32')).logits;
    expect(maxAbsDiff(tf.slice(right, [0, 0, 0], [1, 4, 61]).dataSync(), la)).toBeLessThan(1e-4);
    a.dispose();
    b.dispose();
  });

  it('kernel log-probs and their gradients equal tfjs autodiff of logSoftmax + gather', () => {
    const m = LlamaModel.init(config, 3);
    const seqs = [
      [1, 9, 4, 22, 17, 3, 30],
      [8, 2, 2, 51, 60, 0, 0],
    ];
    const lossMask = [
      [0, 0, 1, 1, 1, 1, 1],
      [0, 1, 1, 1, 1, 0, 0],
    ];
    const { targets, mask } = shiftTargets(seqs, lossMask);
    const ids = tf.tensor2d(seqs, [2, 7], 'int32');
    const attn = tf.tensor2d(
      [
        [1, 1, 1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1, 0, 0],
      ],
      [2, 7],
      'int32',
    );
    const tgt = tf.tensor2d(targets, [2, 7], 'int32');
    const msk = tf.tensor2d(mask, [2, 7], 'float32');
    const coef = tf.tensor2d(
      [
        [0.3, -1, 2, 0.5, 1, -0.2, 0.7],
        [1, 1, -1, 0.4, 2, 3, 1],
      ],
      [2, 7],
    );
    const T = 0.8;
    const ours = tf.variableGrads(() => {
      const lp = tokenLogprobs(m.forward(ids, attn).logits, tgt, msk, { temperature: T });
      return tf.sum(tf.mul(lp, coef)) as tf.Scalar;
    }, m.trainableVariables);
    const theirs = tf.variableGrads(() => {
      const logits = m.forward(ids, attn).logits;
      const lsm = tf.logSoftmax(tf.div(logits, T));
      const picked = tf.sum(tf.mul(lsm, tf.oneHot(tgt, 61)), -1);
      return tf.sum(tf.mul(tf.mul(picked, msk), coef)) as tf.Scalar;
    }, m.trainableVariables);
    expect(Math.abs(ours.value.dataSync()[0]! - theirs.value.dataSync()[0]!)).toBeLessThan(1e-4);
    for (const name of Object.keys(theirs.grads)) {
      const g1 = ours.grads[name]!.dataSync();
      const g2 = theirs.grads[name]!.dataSync();
      const scale = Math.max(...Array.from(g2, Math.abs), 1e-6);
      expect(maxAbsDiff(g1, g2) / scale, name).toBeLessThan(1e-3);
    }
    m.dispose();
  });

  it.each(['native', 'tfjs'] as const)('KV-cached generation (%s engine) gives the logits of a full forward, step by step', async (engine) => {
    const m = LlamaModel.init(config, 5);
    const prompts = [[3, 4, 5], [7, 8, 9, 10, 11], [12]];
    const cached: Float32Array[] = [];
    const full: Float32Array[] = [];
    const a = await generate(m, prompts, { maxNewTokens: 12, temperature: 0, engine, onLogits: (_, l) => cached.push(l.slice()) });
    const b = await generate(m, prompts, { maxNewTokens: 12, temperature: 0, useCache: false, onLogits: (_, l) => full.push(l.slice()) });
    expect(a.tokens).toEqual(b.tokens);
    expect(cached).toHaveLength(12);
    for (let s = 0; s < 12; s++) expect(maxAbsDiff(cached[s]!, full[s]!)).toBeLessThan(1e-4);
    // And against one unpadded forward over prompt + generated tokens.
    const seq = [...prompts[1]!, ...a.tokens[1]!];
    const logits = m.forward(tf.tensor2d([seq], [1, seq.length], 'int32'), tf.ones([1, seq.length], 'int32') as tf.Tensor2D).logits;
    for (let s = 0; s < 12; s++) {
      const row = tf.slice(logits, [0, prompts[1]!.length - 1 + s, 0], [1, 1, 61]).dataSync();
      expect(maxAbsDiff(row, cached[s]!.subarray(61, 122))).toBeLessThan(1e-4);
    }
    m.dispose();
  });

  it('the native and tfjs engines sample the same tokens, with stops and finished rows', async () => {
    const m = LlamaModel.init(config, 11);
    const prompts = [
      [1, 2, 3],
      [4, 5],
      [6, 7, 8, 9, 10, 11],
    ];
    const opts = { maxNewTokens: 24, temperature: 1, seed: 3 };
    const tfjs = await generate(m, prompts, { ...opts, engine: 'tfjs' });
    const stop = tfjs.tokens[1]![2]!;
    const a = await generate(m, prompts, { ...opts, engine: 'native', stopTokenIds: [stop] });
    const b = await generate(m, prompts, { ...opts, engine: 'tfjs', stopTokenIds: [stop] });
    expect(a.tokens).toEqual(b.tokens);
    expect(a.finishReasons).toEqual(b.finishReasons);
    expect(a.finishReasons).toContain('stop');
    for (let i = 0; i < prompts.length; i++)
      for (let j = 0; j < a.logprobs[i]!.length; j++) expect(Math.abs(a.logprobs[i]![j]! - b.logprobs[i]![j]!)).toBeLessThan(1e-4);
    m.dispose();
  });

  it('picks its engine: native by default here, RAPO_DECODER or the option to choose, a clear error for a bad one', async () => {
    expect(resolveEngine()).toEqual({ engine: 'native' });
    expect(resolveEngine('tfjs')).toEqual({ engine: 'tfjs' });
    const saved = process.env.RAPO_DECODER;
    try {
      process.env.RAPO_DECODER = 'tfjs';
      expect(resolveEngine().engine).toBe('tfjs');
      expect(resolveEngine('native').engine).toBe('native');
      process.env.RAPO_DECODER = 'fast';
      expect(() => resolveEngine()).toThrow('Expected "native", "tfjs" or "auto" for RAPO_DECODER but received "fast"');
    } finally {
      if (saved === undefined) delete process.env.RAPO_DECODER;
      else process.env.RAPO_DECODER = saved;
    }
    const m = LlamaModel.init(config, 1);
    await expect(generate(m, [[1]], { maxNewTokens: 2, engine: 'gpu' as never })).rejects.toThrow(
      'Expected "auto", "native" or "tfjs" for engine but received "gpu"',
    );
    m.dispose();
  });

  it('samples deterministically for a seed, with stop tokens and log-probs', async () => {
    const m = LlamaModel.init(config, 9);
    const opts = { maxNewTokens: 20, temperature: 1.2, topK: 20, topP: 0.9, seed: 42 };
    const a = await generate(
      m,
      [
        [1, 2, 3],
        [4, 5],
      ],
      opts,
    );
    const b = await generate(
      m,
      [
        [1, 2, 3],
        [4, 5],
      ],
      opts,
    );
    expect(a).toEqual(b);
    expect(
      (
        await generate(
          m,
          [
            [1, 2, 3],
            [4, 5],
          ],
          { ...opts, seed: 43 },
        )
      ).tokens,
    ).not.toEqual(a.tokens);
    for (const lps of a.logprobs) for (const lp of lps) expect(lp).toBeLessThanOrEqual(0);
    const stop = a.tokens[0]![3]!;
    const c = await generate(m, [[1, 2, 3]], { ...opts, stopTokenIds: [stop] });
    expect(c.tokens[0]!.at(-1)).toBe(stop);
    expect(c.finishReasons[0]).toBe('stop');
    await expect(generate(m, [[1, 99]], opts)).rejects.toThrow('Expected token ids in [0, 61) but prompt 0 holds 99');
    await expect(generate(m, [[1]], { maxNewTokens: 100 })).rejects.toThrow(/max_position_embeddings \(64\)/);
    m.dispose();
  });

  it('top-k and top-p keep only the likely tokens; temperature 0 is argmax', () => {
    const row = Float32Array.from([0, 5, 1, 4, -2]);
    const r = () => 0.999;
    expect(sampleToken(row, 0, 0, 1, r).token).toBe(1);
    for (let i = 0; i < 50; i++) {
      const x = i / 50;
      expect([1, 3]).toContain(sampleToken(row, 1, 2, 1, () => x).token);
      expect(sampleToken(row, 1, 0, 0.5, () => x).token).toBe(1);
    }
  });

  it('draws each token with its softmax(logits / T) probability, with and without top-k', () => {
    const row = Float32Array.from([0, 2, 1, 1.5, -1, 0.5]);
    for (const [T, topK] of [
      [1, 0],
      [0.7, 0],
      [1, 6], // top-k that keeps everything takes the sorted path
    ] as const) {
      const p = Array.from(row, (v) => Math.exp(v / T));
      const z = p.reduce((a, b) => a + b, 0);
      const counts = new Array<number>(row.length).fill(0);
      const random = mulberry32(11);
      const n = 40_000;
      for (let i = 0; i < n; i++) {
        const s = sampleToken(row, T, topK, 1, random);
        counts[s.token]!++;
        expect(s.logprob).toBeCloseTo(Math.log(p[s.token]! / z), 5);
      }
      // Binomial standard error is at most 0.0025 here; 5 of them.
      for (let j = 0; j < row.length; j++) expect(Math.abs(counts[j]! / n - p[j]! / z), `T ${T} topK ${topK} token ${j}`).toBeLessThan(0.0125);
    }
  });

  it('names the first problem of a bad checkpoint', () => {
    const m = LlamaModel.init(config, 1);
    const tensors = m.toTensors();
    expect(() =>
      LlamaModel.fromTensors(
        config,
        tensors.filter((t) => t.name !== 'model.norm.weight'),
      ),
    ).toThrow('checkpoint: missing tensor model.norm.weight (shape [32])');
    const wrong = tensors.map((t) => (t.name === 'model.layers.0.mlp.up_proj.weight' ? { ...t, shape: [32, 48] } : t));
    expect(() => LlamaModel.fromTensors(config, wrong)).toThrow('tensor model.layers.0.mlp.up_proj.weight has shape [32, 48] but the config needs [48, 32]');
    expect(() => LlamaModel.fromTensors({ ...config, tie_word_embeddings: true }, tensors)).toThrow(
      'unexpected tensor lm_head.weight (the config ties the output head to the embeddings)',
    );
    m.dispose();
  });
});
