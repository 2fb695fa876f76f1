// A Llama-style decoder in tfjs: token embedding, RMSNorm, rotary position embedding,
// grouped-query attention, SwiGLU MLP, optional tied output head; with the variations of the
// Hugging Face Llama, Qwen2 and Qwen3 layouts (attention and MLP biases, Qwen3's per-head RMSNorm
// of queries and keys, an explicit head_dim, scaled rotary frequencies). Parameters carry the
// Hugging Face names and shapes (Linear weights are [out, in]), so a checkpoint is what an HF user
// expects. One function computes a block with or without a KV cache, so cached generation and
// the full forward are the same arithmetic.
import { tf } from './backend.js';
import { headDim, layerLayout, parseConfig, type LayerLayout, type ModelConfig } from './config.js';
import { attentionFused, embeddingGradFused, fusedLayersActive, rmsNormFused, rotaryFused, swigluFused } from './fused.js';
import { normalArray } from '@rapo/random';
import type { DecoderLayerWeights, DecoderShape, DecoderWeights } from '@rapo/kernels';

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export class ModelError extends Error {
  override name = 'ModelError';
}

/** The parameter names of a config and their shapes, in a fixed order (biases and q/k norms only where the layout has them). */
export function parameterShapes(c: ModelConfig): Map<string, number[]> {
  const h = c.hidden_size;
  const hd = headDim(c);
  const l = layerLayout(c);
  const q = c.num_attention_heads * hd;
  const kv = c.num_key_value_heads * hd;
  const shapes = new Map<string, number[]>([['model.embed_tokens.weight', [c.vocab_size, h]]]);
  const linear = (name: string, out: number, inp: number, bias: boolean) => {
    shapes.set(`${name}.weight`, [out, inp]);
    if (bias) shapes.set(`${name}.bias`, [out]);
  };
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}`;
    shapes.set(`${p}.input_layernorm.weight`, [h]);
    linear(`${p}.self_attn.q_proj`, q, h, l.qkvBias);
    linear(`${p}.self_attn.k_proj`, kv, h, l.qkvBias);
    linear(`${p}.self_attn.v_proj`, kv, h, l.qkvBias);
    linear(`${p}.self_attn.o_proj`, h, q, l.outputBias);
    if (l.qkNorm) {
      shapes.set(`${p}.self_attn.q_norm.weight`, [hd]);
      shapes.set(`${p}.self_attn.k_norm.weight`, [hd]);
    }
    shapes.set(`${p}.post_attention_layernorm.weight`, [h]);
    linear(`${p}.mlp.gate_proj`, c.intermediate_size, h, l.mlpBias);
    linear(`${p}.mlp.up_proj`, c.intermediate_size, h, l.mlpBias);
    linear(`${p}.mlp.down_proj`, h, c.intermediate_size, l.mlpBias);
  }
  shapes.set('model.norm.weight', [h]);
  if (!c.tie_word_embeddings) shapes.set('lm_head.weight', [c.vocab_size, h]);
  return shapes;
}

/**
 * The rotary inverse frequencies theta^(-2i / head_dim), i < head_dim / 2, after the config's
 * rope_scaling: "linear" divides them all by the factor; "llama3" divides the low frequencies
 * (wavelength above original_max_position_embeddings / low_freq_factor) by the factor, keeps the
 * high ones (wavelength below original / high_freq_factor), and blends linearly in between.
 */
export function rotaryFrequencies(c: ModelConfig): Float64Array {
  const hd = headDim(c);
  const out = Float64Array.from({ length: hd / 2 }, (_, i) => Math.pow(c.rope_theta, (-2 * i) / hd));
  const s = c.rope_scaling;
  if (!s) return out;
  if (s.rope_type === 'linear') return out.map((f) => f / s.factor);
  const orig = s.original_max_position_embeddings;
  return out.map((f) => {
    const wavelength = (2 * Math.PI) / f;
    if (wavelength < orig / s.high_freq_factor) return f;
    if (wavelength > orig / s.low_freq_factor) return f / s.factor;
    const smooth = (orig / wavelength - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    return (1 - smooth) * (f / s.factor) + smooth * f;
  });
}

/** Why a tensor the config has no place for may be there: the field that would give it one. */
function unexpectedHint(name: string, c: ModelConfig): string {
  const family = c.model_type ?? 'llama';
  if (name === 'lm_head.weight') return ' (the config ties the output head to the embeddings)';
  if (/\.self_attn\.[qkvo]_proj\.bias$/.test(name)) {
    return family === 'qwen2'
      ? ' (Qwen2 has biases on q_proj, k_proj and v_proj only)'
      : ` (model_type ${family} has attention biases only with attention_bias: true)`;
  }
  if (/\.mlp\.\w+_proj\.bias$/.test(name)) return family === 'llama' ? ' (the config has mlp_bias false)' : ` (model_type ${family} has no MLP biases)`;
  if (/\.self_attn\.[qk]_norm\.weight$/.test(name)) return ` (q_norm and k_norm belong to model_type qwen3; this config has model_type ${family})`;
  return '';
}

const sameValues = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((x, i) => x === b[i]);

// Type aliases rather than interfaces: tf.tidy accepts them as tensor containers.
export type LayerCache = {
  /** [B, numKv, Tk, headDim], rotary already applied. */
  k: tf.Tensor4D;
  v: tf.Tensor4D;
};

export type ForwardResult = {
  /** [B, T, V]. */
  logits: tf.Tensor3D;
  /** Keys and values of every layer, for the next cached step (only when asked). */
  cache?: LayerCache[];
};

const NEG = -1e9;
let modelCount = 0;

export class LlamaModel {
  readonly config: ModelConfig;
  readonly params: Map<string, tf.Variable>;
  readonly #invFreq: Float32Array;
  readonly #layout: LayerLayout;

  private constructor(config: ModelConfig, params: Map<string, tf.Variable>) {
    this.config = config;
    this.params = params;
    this.#invFreq = Float32Array.from(rotaryFrequencies(config));
    this.#layout = layerLayout(config);
  }

  /** Fresh weights: normal(0, 0.02) for matrices, ones for norms, zeros for biases, a fixed function of `seed`. */
  static init(config: ModelConfig, seed = 0): LlamaModel {
    const c = parseConfig(config);
    const tensors: NamedTensor[] = [];
    let k = 0;
    for (const [name, shape] of parameterShapes(c)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data =
        shape.length > 1 ? normalArray(n, 0.02, (seed * 1000003 + k++) >>> 0) : name.endsWith('.bias') ? new Float32Array(n) : new Float32Array(n).fill(1);
      tensors.push({ name, shape, data });
    }
    return LlamaModel.fromTensors(c, tensors);
  }

  /**
   * From named tensors (a checkpoint): every expected name with its shape, nothing else. Two
   * things a Hugging Face file may hold besides are passed over: rotary `inv_freq` buffers (older
   * transformers saved them; they follow from the config) and, with tied embeddings, an
   * `lm_head.weight` equal to the embedding.
   */
  static fromTensors(config: ModelConfig, tensors: Iterable<NamedTensor>, source = 'checkpoint'): LlamaModel {
    const c = parseConfig(config);
    const expected = parameterShapes(c);
    const byName = new Map<string, NamedTensor>();
    for (const t of tensors) if (!t.name.endsWith('.rotary_emb.inv_freq')) byName.set(t.name, t);
    const head = byName.get('lm_head.weight');
    const embedding = byName.get('model.embed_tokens.weight');
    if (c.tie_word_embeddings && head && embedding && sameValues(head.data, embedding.data)) byName.delete('lm_head.weight');
    for (const [name, shape] of expected) {
      const t = byName.get(name);
      if (!t) throw new ModelError(`${source}: missing tensor ${name} (shape [${shape.join(', ')}])`);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new ModelError(`${source}: tensor ${name} has shape [${t.shape.join(', ')}] but the config needs [${shape.join(', ')}]`);
      }
    }
    for (const name of byName.keys()) {
      if (!expected.has(name)) {
        throw new ModelError(`${source}: unexpected tensor ${name}${unexpectedHint(name, c)}`);
      }
    }
    // tfjs variable names are global: each model gets its own prefix.
    const prefix = `llama${++modelCount}/`;
    const params = new Map<string, tf.Variable>();
    for (const [name, shape] of expected) {
      params.set(name, tf.variable(tf.tensor(byName.get(name)!.data, shape, 'float32'), true, prefix + name));
    }
    return new LlamaModel(c, params);
  }

  /** Copies of the weights, in parameter order. */
  toTensors(): NamedTensor[] {
    return [...this.params].map(([name, v]) => ({ name, shape: v.shape, data: v.dataSync() as Float32Array }));
  }

  /**
   * The sizes and current weights in the form of @rapo/kernels' KvDecoder, for native cached
   * decoding. The arrays are the backend's values where it keeps them on the host (the cpu and
   * rapo-native backends), so read them again after the weights change.
   */
  decoderInputs(): { shape: DecoderShape; weights: DecoderWeights } {
    const c = this.config;
    const data = (name: string) => this.params.get(name)?.dataSync() as Float32Array | undefined;
    const need = (name: string) => data(name)!;
    const shape: DecoderShape = {
      layers: c.num_hidden_layers,
      hidden: c.hidden_size,
      heads: c.num_attention_heads,
      kvHeads: c.num_key_value_heads,
      headDim: headDim(c),
      intermediate: c.intermediate_size,
      vocab: c.vocab_size,
      eps: c.rms_norm_eps,
      invFreq: this.#invFreq,
    };
    const layers = Array.from({ length: c.num_hidden_layers }, (_, i): DecoderLayerWeights => {
      const p = `model.layers.${i}`;
      const layer: DecoderLayerWeights = {
        inputNorm: need(`${p}.input_layernorm.weight`),
        q: need(`${p}.self_attn.q_proj.weight`),
        k: need(`${p}.self_attn.k_proj.weight`),
        v: need(`${p}.self_attn.v_proj.weight`),
        o: need(`${p}.self_attn.o_proj.weight`),
        postNorm: need(`${p}.post_attention_layernorm.weight`),
        gate: need(`${p}.mlp.gate_proj.weight`),
        up: need(`${p}.mlp.up_proj.weight`),
        down: need(`${p}.mlp.down_proj.weight`),
      };
      const optional: [keyof DecoderLayerWeights, string][] = [
        ['qBias', 'self_attn.q_proj.bias'],
        ['kBias', 'self_attn.k_proj.bias'],
        ['vBias', 'self_attn.v_proj.bias'],
        ['oBias', 'self_attn.o_proj.bias'],
        ['qNorm', 'self_attn.q_norm.weight'],
        ['kNorm', 'self_attn.k_norm.weight'],
        ['gateBias', 'mlp.gate_proj.bias'],
        ['upBias', 'mlp.up_proj.bias'],
        ['downBias', 'mlp.down_proj.bias'],
      ];
      for (const [key, name] of optional) {
        const d = data(`${p}.${name}`);
        if (d) layer[key] = d;
      }
      return layer;
    });
    const embed = need('model.embed_tokens.weight');
    const weights: DecoderWeights = { embed, finalNorm: need('model.norm.weight'), head: c.tie_word_embeddings ? embed : need('lm_head.weight'), layers };
    return { shape, weights };
  }

  get trainableVariables(): tf.Variable[] {
    return [...this.params.values()];
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }

  #p(name: string): tf.Variable {
    return this.params.get(name)!;
  }

  /**
   * Embedding lookup whose gradient is a one-hot matmul: tfjs's own gather gradient needs a
   * kernel (UnsortedSegmentSum) the wasm backend lacks, and this works on every backend.
   */
  #embed(ids: tf.Tensor2D): tf.Tensor3D {
    const table = this.#p('model.embed_tokens.weight');
    const [V, H] = table.shape as [number, number];
    const fused = fusedLayersActive();
    const f = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => ({
      value: tf.gather(inputs[0] as tf.Tensor, ids),
      gradFunc: (dy: tf.Tensor) => (fused ? embeddingGradFused(dy, ids, V) : tf.matMul(tf.oneHot(ids.reshape([-1]), V), dy.reshape([-1, H]), true, false)),
    }));
    return f(table) as tf.Tensor3D;
  }

  #rmsNorm(x: tf.Tensor, weight: tf.Tensor): tf.Tensor {
    if (fusedLayersActive()) return rmsNormFused(x, weight, this.config.rms_norm_eps);
    const rms = tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), this.config.rms_norm_eps));
    return tf.mul(tf.mul(x, rms), weight);
  }

  /** cos and sin of the rotary angles for `positions` [B, T]: each [B, 1, T, headDim]. */
  #rotary(positions: tf.Tensor2D): { cos: tf.Tensor4D; sin: tf.Tensor4D } {
    const inv = tf.tensor1d(this.#invFreq);
    const angles = tf.mul(tf.expandDims(tf.cast(positions, 'float32'), -1), inv); // [B, T, hd/2]
    const emb = tf.expandDims(tf.concat([angles, angles], -1), 1) as tf.Tensor4D; // [B, 1, T, hd]
    return { cos: tf.cos(emb), sin: tf.sin(emb) };
  }

  #applyRotary(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
    if (fusedLayersActive()) return rotaryFused(x, cos, sin);
    const half = x.shape[3] / 2;
    const [x1, x2] = tf.split(x, [half, half], 3);
    const rotated = tf.concat([tf.neg(x2!), x1!], 3);
    return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor4D;
  }

  /** The Linear layer `name` (weight `<name>.weight`, and `<name>.bias` where the layout has one). */
  #linear(x: tf.Tensor, name: string): tf.Tensor {
    const w = this.#p(`${name}.weight`);
    const bias = this.params.get(`${name}.bias`);
    const shape = x.shape;
    let y = tf.matMul(x.reshape([-1, shape[shape.length - 1]!]), w, false, true);
    if (bias) y = tf.add(y, bias);
    return y.reshape([...shape.slice(0, -1), w.shape[0]!]);
  }

  /**
   * One attention + MLP block. `bias` [B, 1, T, Tk] is 0 where a query may see a key and -1e9
   * elsewhere; with `cache`, the new keys and values are appended to it. With `keyMask` [B, Tk]
   * (the causal forward on rapo-native), the fused attention kernel reads it instead of `bias`,
   * and the keys and values for a cache are made only when `wantCache`.
   */
  #block(
    i: number,
    h: tf.Tensor3D,
    cos: tf.Tensor4D,
    sin: tf.Tensor4D,
    bias: tf.Tensor4D | undefined,
    cache?: LayerCache,
    keyMask?: tf.Tensor2D,
    wantCache = true,
  ): { h: tf.Tensor3D; cache: LayerCache | undefined } {
    const c = this.config;
    const [B, T] = h.shape;
    const hd = headDim(c);
    const nH = c.num_attention_heads;
    const nKv = c.num_key_value_heads;
    const p = `model.layers.${i}`;
    const x = this.#rmsNorm(h, this.#p(`${p}.input_layernorm.weight`));
    // Qwen3 normalizes each query and key head over its head_dim values before the rotation.
    const qkNorm = (t: tf.Tensor4D, which: 'q' | 'k') =>
      this.#layout.qkNorm ? (this.#rmsNorm(t, this.#p(`${p}.self_attn.${which}_norm.weight`)) as tf.Tensor4D) : t;
    let merged: tf.Tensor;
    let newCache: LayerCache | undefined;
    if (keyMask) {
      // The fused kernels work in the projections' own layout [B, T, heads, hd]: no transposes.
      // Rotary sees it as B*T rows of `heads` heads at one position each.
      const rows = (t: tf.Tensor, n: number) => t.reshape([B, T, n, hd]) as tf.Tensor4D;
      const rotate = (t: tf.Tensor4D, n: number) =>
        rotaryFused(
          t.reshape([B * T, n, 1, hd]) as tf.Tensor4D,
          cos.reshape([B * T, 1, 1, hd]) as tf.Tensor4D,
          sin.reshape([B * T, 1, 1, hd]) as tf.Tensor4D,
        ).reshape([B, T, n, hd]) as tf.Tensor4D;
      const q = rotate(qkNorm(rows(this.#linear(x, `${p}.self_attn.q_proj`), nH), 'q'), nH);
      const k = rotate(qkNorm(rows(this.#linear(x, `${p}.self_attn.k_proj`), nKv), 'k'), nKv);
      const v = rows(this.#linear(x, `${p}.self_attn.v_proj`), nKv);
      if (wantCache) newCache = { k: tf.transpose(k, [0, 2, 1, 3]), v: tf.transpose(v, [0, 2, 1, 3]) };
      merged = attentionFused(q, k, v, keyMask, 1 / Math.sqrt(hd)).reshape([B, T, nH * hd]);
    } else {
      const heads = (t: tf.Tensor, n: number) => tf.transpose(t.reshape([B, T, n, hd]), [0, 2, 1, 3]) as tf.Tensor4D;
      const q = this.#applyRotary(qkNorm(heads(this.#linear(x, `${p}.self_attn.q_proj`), nH), 'q'), cos, sin);
      let k = this.#applyRotary(qkNorm(heads(this.#linear(x, `${p}.self_attn.k_proj`), nKv), 'k'), cos, sin);
      let v = heads(this.#linear(x, `${p}.self_attn.v_proj`), nKv);
      if (cache) {
        k = tf.concat([cache.k, k], 2);
        v = tf.concat([cache.v, v], 2);
      }
      newCache = { k, v };
      const Tk = k.shape[2];
      const rep = nH / nKv;
      // Each key/value head serves `rep` query heads (kv head 0 for query heads 0..rep-1, ...).
      // The tile is done in rank 3: tfjs has no gradient for a rank-5 tile.
      const expand = (t: tf.Tensor4D) => (rep === 1 ? t : (tf.tile(t.reshape([B * nKv, 1, Tk * hd]), [1, rep, 1]).reshape([B, nH, Tk, hd]) as tf.Tensor4D));
      const scores = tf.add(tf.mul(tf.matMul(q, expand(k), false, true), 1 / Math.sqrt(hd)), bias!);
      const attn = tf.matMul(tf.softmax(scores), expand(v)); // [B, nH, T, hd]
      merged = tf.transpose(attn, [0, 2, 1, 3]).reshape([B, T, nH * hd]);
    }
    const h1 = tf.add(h, this.#linear(merged, `${p}.self_attn.o_proj`)) as tf.Tensor3D;
    const y = this.#rmsNorm(h1, this.#p(`${p}.post_attention_layernorm.weight`));
    const gate = this.#linear(y, `${p}.mlp.gate_proj`);
    const up = this.#linear(y, `${p}.mlp.up_proj`);
    const act = fusedLayersActive() ? swigluFused(gate, up) : tf.mul(tf.mul(gate, tf.sigmoid(gate)), up);
    const mlp = this.#linear(act, `${p}.mlp.down_proj`);
    return { h: tf.add(h1, mlp) as tf.Tensor3D, cache: newCache };
  }

  #head(h: tf.Tensor3D): tf.Tensor3D {
    const [B, T, H] = h.shape;
    const normed = this.#rmsNorm(h, this.#p('model.norm.weight'));
    const w = this.config.tie_word_embeddings ? this.#p('model.embed_tokens.weight') : this.#p('lm_head.weight');
    return tf.matMul(normed.reshape([B * T, H]), w, false, true).reshape([B, T, this.config.vocab_size]) as tf.Tensor3D;
  }

  #checkIds(ids: tf.Tensor2D, mask: tf.Tensor2D): void {
    if (ids.rank !== 2 || mask.rank !== 2 || ids.shape[0] !== mask.shape[0] || ids.shape[1] !== mask.shape[1]) {
      throw new ModelError(`Expected inputIds and attentionMask of the same shape [B, T] but received [${ids.shape}] and [${mask.shape}]`);
    }
    if (ids.shape[1] > this.config.max_position_embeddings) {
      throw new ModelError(`Expected at most max_position_embeddings = ${this.config.max_position_embeddings} positions but received ${ids.shape[1]}`);
    }
  }

  /**
   * Logits for a batch of padded sequences: `inputIds` [B, T] int32, `attentionMask` [B, T]
   * with 1 for tokens and 0 for padding (left or right). Positions count the tokens before
   * each one, so left padding does not shift them. With `withCache`, also returns the keys and
   * values for cached decoding.
   */
  forward(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, withCache = false): ForwardResult {
    this.#checkIds(inputIds, attentionMask);
    return tf.tidy(() => {
      const [B, T] = inputIds.shape;
      const mask = tf.cast(attentionMask, 'float32');
      const positions = tf.maximum(tf.sub(tf.cumsum(mask, 1), 1), 0) as tf.Tensor2D;
      const { cos, sin } = this.#rotary(positions);
      // The fused attention kernel applies the causal and padding masks itself.
      const fused = fusedLayersActive();
      let bias: tf.Tensor4D | undefined;
      if (!fused) {
        const causal = tf.linalg.bandPart(tf.ones([T, T]), -1, 0); // j <= i
        const allowed = tf.mul(causal.reshape([1, 1, T, T]), mask.reshape([B, 1, 1, T]));
        bias = tf.mul(tf.sub(1, allowed), NEG) as tf.Tensor4D;
      }
      let h = this.#embed(inputIds);
      const caches: LayerCache[] = [];
      for (let i = 0; i < this.config.num_hidden_layers; i++) {
        const r = this.#block(i, h, cos, sin, bias, undefined, fused ? (mask as tf.Tensor2D) : undefined, withCache);
        h = r.h;
        if (r.cache) caches.push(r.cache);
      }
      const logits = this.#head(h);
      return withCache ? { logits, cache: caches } : { logits };
    }) as ForwardResult;
  }

  /**
   * One decoding step of one token per sequence: `ids` [B, 1], `keyMask` [B, Tk + 1] (the mask
   * of every position so far, this one included), `positions` [B, 1]. Returns the logits
   * [B, 1, V] and the extended cache; the old cache is disposed.
   */
  step(ids: tf.Tensor2D, keyMask: tf.Tensor2D, positions: tf.Tensor2D, cache: LayerCache[]): ForwardResult {
    const result = tf.tidy(() => {
      const B = ids.shape[0];
      const Tk = keyMask.shape[1];
      const bias = tf.mul(tf.sub(1, tf.cast(keyMask, 'float32')), NEG).reshape([B, 1, 1, Tk]) as tf.Tensor4D;
      const { cos, sin } = this.#rotary(positions);
      let h = this.#embed(ids);
      const next: LayerCache[] = [];
      for (let i = 0; i < this.config.num_hidden_layers; i++) {
        const r = this.#block(i, h, cos, sin, bias, cache[i]);
        h = r.h;
        next.push(r.cache!);
      }
      return { logits: this.#head(h), cache: next };
    }) as ForwardResult;
    for (const c of cache) tf.dispose([c.k, c.v]);
    return result;
  }
}
