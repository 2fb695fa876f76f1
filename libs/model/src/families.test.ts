// Hugging Face checkpoints of the Llama, Qwen2 and Qwen3 families, written here as tiny random
// folders with the families' own config.json fields and tensor names: rapo's logits against an
// independent float64 forward of each layout, save and load keeping the layout, gradients of the
// new parameters, and the refusals.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BpeTokenizer,
  CHAT_SPECIAL_TOKENS,
  CheckpointError,
  ConfigError,
  generate,
  initBackend,
  layerLayout,
  LlamaModel,
  MODEL_TYPES,
  loadCheckpoint,
  parameterCount,
  parameterShapes,
  parseConfig,
  readSafetensors,
  rotaryFrequencies,
  saveCheckpoint,
  tf,
  toHfConfig,
  writeSafetensors,
  type ModelConfig,
} from './index.js';

const root = mkdtempSync(join(tmpdir(), 'rapo-families-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const tokenizer = BpeTokenizer.train(['Mara keeps the lighthouse; the tide turns twice a day and the ships come home.'], {
  vocabSize: 270,
  specialTokens: [...CHAT_SPECIAL_TOKENS],
});
const V = tokenizer.vocabSize;

beforeAll(async () => {
  await initBackend();
});

// --- the checkpoints ----------------------------------------------------------------------------

type HfConfig = Record<string, unknown>;
type Weights = Map<string, { shape: number[]; data: Float32Array }>;

const base = { vocab_size: V, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 24 };

const qwen2 = (tied: boolean): HfConfig => ({
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  ...base,
  max_position_embeddings: 64,
  rope_theta: 1_000_000,
  rms_norm_eps: 1e-6,
  tie_word_embeddings: tied,
  hidden_act: 'silu',
  use_sliding_window: false,
  sliding_window: 32,
  max_window_layers: 1,
  bos_token_id: 0,
  eos_token_id: 2,
  torch_dtype: 'bfloat16',
  use_cache: true,
});

const qwen3 = (tied: boolean, attentionBias = false): HfConfig => ({
  architectures: ['Qwen3ForCausalLM'],
  model_type: 'qwen3',
  ...base,
  head_dim: 8, // 4 heads x 8 = 32, twice hidden_size
  max_position_embeddings: 64,
  rope_theta: 1_000_000,
  rope_scaling: null,
  rms_norm_eps: 1e-6,
  tie_word_embeddings: tied,
  attention_bias: attentionBias,
  attention_dropout: 0,
  hidden_act: 'silu',
  use_sliding_window: false,
  sliding_window: null,
  max_window_layers: 2,
  layer_types: ['full_attention', 'full_attention'],
});

const llama = (extra: HfConfig = {}): HfConfig => ({
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  ...base,
  head_dim: 6,
  max_position_embeddings: 64,
  rope_theta: 10_000,
  rms_norm_eps: 1e-5,
  tie_word_embeddings: false,
  attention_bias: true,
  mlp_bias: true,
  hidden_act: 'silu',
  pretraining_tp: 1,
  ...extra,
});

/** 8 dims per head, theta 10000: the four frequencies fall on both sides of the llama3 band and in it. */
const LLAMA3_SCALING = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 };

/** A seeded stream of normal(0, 1) numbers (Box-Muller on a 32-bit LCG). */
function normals(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** The tensors a Hugging Face checkpoint of `cfg` holds, by its names, with random values (norms near 1, biases away from 0). */
function hfTensors(cfg: HfConfig, seed: number): Weights {
  const r = normals(seed);
  const h = cfg.hidden_size as number;
  const nH = cfg.num_attention_heads as number;
  const hd = (cfg.head_dim as number | undefined) ?? h / nH;
  const q = nH * hd;
  const kv = (cfg.num_key_value_heads as number) * hd;
  const inter = cfg.intermediate_size as number;
  const type = cfg.model_type as string;
  const qkvBias = type === 'qwen2' || cfg.attention_bias === true;
  const oBias = type !== 'qwen2' && cfg.attention_bias === true;
  const mlpBias = type === 'llama' && cfg.mlp_bias === true;
  const w: Weights = new Map();
  const put = (name: string, shape: number[], kind: 'matrix' | 'norm' | 'bias') => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, () => (kind === 'matrix' ? 0.25 * r() : kind === 'norm' ? 1 + 0.2 * r() : 0.3 * r()));
    w.set(name, { shape, data });
  };
  put('model.embed_tokens.weight', [V, h], 'matrix');
  for (let i = 0; i < (cfg.num_hidden_layers as number); i++) {
    const p = `model.layers.${i}`;
    const linear = (name: string, out: number, inp: number, bias: boolean) => {
      put(`${p}.${name}.weight`, [out, inp], 'matrix');
      if (bias) put(`${p}.${name}.bias`, [out], 'bias');
    };
    linear('self_attn.q_proj', q, h, qkvBias);
    linear('self_attn.k_proj', kv, h, qkvBias);
    linear('self_attn.v_proj', kv, h, qkvBias);
    linear('self_attn.o_proj', h, q, oBias);
    if (type === 'qwen3') {
      put(`${p}.self_attn.q_norm.weight`, [hd], 'norm');
      put(`${p}.self_attn.k_norm.weight`, [hd], 'norm');
    }
    linear('mlp.gate_proj', inter, h, mlpBias);
    linear('mlp.up_proj', inter, h, mlpBias);
    linear('mlp.down_proj', h, inter, mlpBias);
    put(`${p}.input_layernorm.weight`, [h], 'norm');
    put(`${p}.post_attention_layernorm.weight`, [h], 'norm');
  }
  put('model.norm.weight', [h], 'norm');
  if (cfg.tie_word_embeddings !== true) put('lm_head.weight', [V, h], 'matrix');
  return w;
}

/** A checkpoint folder as Hugging Face tools write one (rapo's own tokenizer, so it loads without foreign tokenizer support). */
function writeHfFolder(name: string, cfg: HfConfig, weights: Weights): string {
  const dir = join(root, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  tokenizer.save(join(dir, 'tokenizer.json'));
  writeSafetensors(
    join(dir, 'model.safetensors'),
    [...weights].map(([n, t]) => ({ name: n, shape: t.shape, data: t.data })),
    { format: 'pt' },
  );
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg, null, 2));
  return dir;
}

// --- an independent forward in float64 -----------------------------------------------------------

/**
 * The logits [T][V] of one unpadded sequence, straight from the Hugging Face modeling code's
 * arithmetic: embedding, per layer RMSNorm -> q/k/v projections (+ biases) -> Qwen3's per-head
 * q/k RMSNorm -> rotary (rotate_half: the first half of a head pairs with the second) -> causal
 * grouped-query softmax attention -> o_proj (+ bias) -> residual -> RMSNorm -> SwiGLU (+ biases)
 * -> residual; final RMSNorm and lm_head (the embedding when tied).
 */
function referenceLogits(cfg: HfConfig, w: Weights, ids: number[]): Float64Array[] {
  const get = (n: string) => Float64Array.from(w.get(n)!.data);
  const has = (n: string) => w.has(n);
  const H = cfg.hidden_size as number;
  const nH = cfg.num_attention_heads as number;
  const nKv = cfg.num_key_value_heads as number;
  const hd = (cfg.head_dim as number | undefined) ?? H / nH;
  const eps = cfg.rms_norm_eps as number;
  const rms = (x: Float64Array, g: Float64Array) => {
    let ss = 0;
    for (const v of x) ss += v * v;
    const s = 1 / Math.sqrt(ss / x.length + eps);
    return x.map((v, i) => v * s * g[i]!);
  };
  // y = W x + b, W [out, in] row-major.
  const lin = (x: Float64Array, name: string) => {
    const W = get(`${name}.weight`);
    const out = W.length / x.length;
    const b = has(`${name}.bias`) ? get(`${name}.bias`) : new Float64Array(out);
    const y = new Float64Array(out);
    for (let o = 0; o < out; o++) {
      let s = b[o]!;
      for (let i = 0; i < x.length; i++) s += W[o * x.length + i]! * x[i]!;
      y[o] = s;
    }
    return y;
  };
  // Rotary frequencies, with the llama3 rule written as transformers writes it (masks over the wavelengths).
  let inv = Array.from({ length: hd / 2 }, (_, i) => 1 / Math.pow(cfg.rope_theta as number, (2 * i) / hd));
  const sc = cfg.rope_scaling as Record<string, number> | null | undefined;
  if (sc && (sc as unknown as { rope_type: string }).rope_type === 'llama3') {
    const lowWl = sc.original_max_position_embeddings! / sc.low_freq_factor!;
    const highWl = sc.original_max_position_embeddings! / sc.high_freq_factor!;
    inv = inv.map((f) => {
      const wl = (2 * Math.PI) / f;
      const scaled = wl > lowWl ? f / sc.factor! : f;
      const smooth = (sc.original_max_position_embeddings! / wl - sc.low_freq_factor!) / (sc.high_freq_factor! - sc.low_freq_factor!);
      const medium = !(wl < highWl) && !(wl > lowWl);
      return medium ? ((1 - smooth) * scaled) / sc.factor! + smooth * scaled : scaled;
    });
  }
  const rotate = (x: Float64Array, pos: number) => {
    const out = new Float64Array(hd);
    const half = hd / 2;
    for (let i = 0; i < hd; i++) {
      const a = pos * inv[i % half]!;
      const rot = i < half ? -x[i + half]! : x[i - half]!;
      out[i] = x[i]! * Math.cos(a) + rot * Math.sin(a);
    }
    return out;
  };
  const E = get('model.embed_tokens.weight');
  let h = ids.map((id) => E.slice(id * H, (id + 1) * H));
  for (let l = 0; l < (cfg.num_hidden_layers as number); l++) {
    const p = `model.layers.${l}`;
    const x = h.map((v) => rms(v, get(`${p}.input_layernorm.weight`)));
    const headsOf = (v: Float64Array, n: number) => Array.from({ length: n }, (_, j) => v.slice(j * hd, (j + 1) * hd));
    const qk = (which: 'q' | 'k', n: number) =>
      x.map((v, t) =>
        headsOf(lin(v, `${p}.self_attn.${which}_proj`), n).map((head) =>
          rotate(has(`${p}.self_attn.${which}_norm.weight`) ? rms(head, get(`${p}.self_attn.${which}_norm.weight`)) : head, t),
        ),
      );
    const Q = qk('q', nH);
    const K = qk('k', nKv);
    const Vv = x.map((v) => headsOf(lin(v, `${p}.self_attn.v_proj`), nKv));
    h = h.map((resid, t) => {
      const merged = new Float64Array(nH * hd);
      for (let j = 0; j < nH; j++) {
        const g = Math.floor(j / (nH / nKv));
        const scores = Array.from({ length: t + 1 }, (_, s) => {
          let d = 0;
          for (let i = 0; i < hd; i++) d += Q[t]![j]![i]! * K[s]![g]![i]!;
          return d / Math.sqrt(hd);
        });
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let s = 0; s <= t; s++) for (let i = 0; i < hd; i++) merged[j * hd + i]! += (e[s]! / z) * Vv[s]![g]![i]!;
      }
      const attn = lin(merged, `${p}.self_attn.o_proj`);
      const h1 = resid.map((v, i) => v + attn[i]!);
      const y = rms(h1, get(`${p}.post_attention_layernorm.weight`));
      const gate = lin(y, `${p}.mlp.gate_proj`);
      const up = lin(y, `${p}.mlp.up_proj`);
      const act = gate.map((gv, i) => (gv / (1 + Math.exp(-gv))) * up[i]!);
      const down = lin(act, `${p}.mlp.down_proj`);
      return h1.map((v, i) => v + down[i]!);
    });
  }
  const head = has('lm_head.weight') ? get('lm_head.weight') : E;
  return h.map((v) => {
    const n = rms(v, get('model.norm.weight'));
    return Float64Array.from({ length: V }, (_, o) => {
      let s = 0;
      for (let i = 0; i < H; i++) s += head[o * H + i]! * n[i]!;
      return s;
    });
  });
}

function rapoLogits(model: LlamaModel, ids: number[]): Float32Array {
  const x = tf.tensor2d([ids], [1, ids.length], 'int32');
  const mask = tf.ones([1, ids.length], 'int32') as tf.Tensor2D;
  const { logits } = model.forward(x, mask);
  const out = logits.dataSync() as Float32Array;
  tf.dispose([x, mask, logits]);
  return out;
}

function maxDiff(ours: Float32Array, ref: Float64Array[]): number {
  let m = 0;
  ref.forEach((row, t) => row.forEach((v, o) => (m = Math.max(m, Math.abs(v - ours[t * V + o]!)))));
  return m;
}

const IDS = [5, 17, 200, 3, 3, 99, 260, 41, 8];

const CASES: [string, HfConfig][] = [
  ['qwen2, tied embeddings', qwen2(true)],
  ['qwen2, untied embeddings', qwen2(false)],
  ['qwen3, head_dim 8 != 16 / 4, untied', qwen3(false)],
  ['qwen3, tied, attention_bias true', qwen3(true, true)],
  ['llama, attention_bias, mlp_bias, head_dim 6, untied, rope_scaling null', llama({ rope_scaling: null })],
  [
    'llama, llama3 rope_scaling, head_dim 8, tied',
    llama({ head_dim: 8, tie_word_embeddings: true, attention_bias: false, mlp_bias: false, rope_scaling: LLAMA3_SCALING }),
  ],
];

describe('Hugging Face checkpoints of the Llama, Qwen2 and Qwen3 families', () => {
  it.each(CASES)('%s: loadCheckpoint gives the logits of an independent float64 forward', (name, cfg) => {
    const weights = hfTensors(cfg, name.length * 7919);
    const dir = writeHfFolder(name.replace(/\W+/g, '-'), cfg, weights);
    const { model } = loadCheckpoint(dir);
    expect(model.config.model_type).toBe(cfg.model_type);
    expect([...model.params.keys()].sort()).toEqual([...weights.keys()].sort());
    expect(model.trainableVariables.reduce((s, v) => s + v.size, 0)).toBe(parameterCount(model.config));
    const ref = referenceLogits(cfg, weights, IDS);
    const spread = Math.max(...ref.flatMap((r) => Array.from(r, Math.abs)));
    expect(spread).toBeGreaterThan(0.5); // logits that tell a wrong layout apart
    expect(maxDiff(rapoLogits(model, IDS), ref)).toBeLessThan(1e-4);
    model.dispose();
  });

  it('the reference forward tells the layouts apart (a missed bias, q/k norm or scaling moves the logits)', () => {
    const cfg = qwen3(false, true);
    const weights = hfTensors(cfg, 11);
    const ref = referenceLogits(cfg, weights, IDS);
    const { model } = loadCheckpoint(writeHfFolder('apart', cfg, weights));
    const ours = rapoLogits(model, IDS);
    expect(maxDiff(ours, ref)).toBeLessThan(1e-4);
    for (const t of ['model.layers.1.self_attn.k_norm.weight', 'model.layers.0.self_attn.v_proj.bias', 'model.layers.1.self_attn.o_proj.bias']) {
      const changed = new Map(weights);
      changed.set(t, { ...weights.get(t)!, data: weights.get(t)!.data.map((v) => v * 1.5) });
      expect(maxDiff(ours, referenceLogits(cfg, changed, IDS)), t).toBeGreaterThan(1e-3);
    }
    const unscaled = llama({ head_dim: 8, attention_bias: false, mlp_bias: false });
    const lw = hfTensors(unscaled, 3);
    const scaled = loadCheckpoint(writeHfFolder('scaled', { ...unscaled, rope_scaling: LLAMA3_SCALING }, lw));
    expect(maxDiff(rapoLogits(scaled.model, IDS), referenceLogits(unscaled, lw, IDS))).toBeGreaterThan(1e-3);
    model.dispose();
    scaled.model.dispose();
  });

  it.each(['native', 'tfjs'] as const)('KV-cached generation (%s engine) equals the full forward on a Qwen3 layout', async (engine) => {
    const cfg = qwen3(false, true);
    const { model } = loadCheckpoint(writeHfFolder('qwen3-generate', cfg, hfTensors(cfg, 5)));
    const cached: Float32Array[] = [];
    const full: Float32Array[] = [];
    const a = await generate(
      model,
      [
        [3, 4, 5],
        [7, 8],
      ],
      { maxNewTokens: 6, temperature: 0, engine, onLogits: (_, l) => cached.push(l.slice()) },
    );
    const b = await generate(
      model,
      [
        [3, 4, 5],
        [7, 8],
      ],
      { maxNewTokens: 6, temperature: 0, useCache: false, onLogits: (_, l) => full.push(l.slice()) },
    );
    expect(a.tokens).toEqual(b.tokens);
    for (let s = 0; s < cached.length; s++) expect(Math.max(...cached[s]!.map((v, i) => Math.abs(v - full[s]![i]!)))).toBeLessThan(1e-4);
    model.dispose();
  });

  it.each([
    ['qwen2', qwen2(false)],
    ['qwen3', qwen3(true)],
    ['llama', llama({ rope_scaling: LLAMA3_SCALING, head_dim: 8 })],
  ] as [string, HfConfig][])('%s: saves back in its own layout: config fields, tensor names and values', (name, cfg) => {
    const weights = hfTensors(cfg, 21);
    const dir = writeHfFolder(`${name}-in`, cfg, weights);
    const loaded = loadCheckpoint(dir);
    const out = join(root, `${name}-out`);
    saveCheckpoint(out, loaded.model, loaded.tokenizer);
    const written = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as HfConfig;
    // Every field of the original comes back with its value, except the storage dtype (rapo writes float32).
    const { torch_dtype: _d, ...fields } = cfg;
    for (const [k, v] of Object.entries(fields)) expect(written[k], k).toEqual(k === 'eos_token_id' ? tokenizer.tokenToId('<|im_end|>') : v);
    expect(written.torch_dtype).toBe('float32');
    const stored = readSafetensors(join(out, 'model.safetensors')).tensors;
    expect([...stored.keys()].sort()).toEqual([...weights.keys()].sort());
    for (const [n, t] of weights) expect(Array.from(stored.get(n)!.data), n).toEqual(Array.from(t.data));
    const again = loadCheckpoint(out);
    // The same config, with the token ids saveCheckpoint writes from the tokenizer.
    const { hf_fields, ...rest } = loaded.model.config;
    const ids = { eos_token_id: tokenizer.tokenToId('<|im_end|>'), pad_token_id: tokenizer.tokenToId('<|endoftext|>') };
    expect(again.model.config).toEqual({ ...rest, hf_fields: { ...hf_fields, ...ids } });
    expect(Array.from(rapoLogits(again.model, IDS))).toEqual(Array.from(rapoLogits(loaded.model, IDS)));
    loaded.model.dispose();
    again.model.dispose();
  });

  it('trains the biases and q/k norms: their gradients match finite differences of the float64 forward', () => {
    for (const cfg of [qwen2(true), qwen3(false, true), llama()]) {
      const weights = hfTensors(cfg, 31);
      const { model } = loadCheckpoint(writeHfFolder(`grad-${String(cfg.model_type)}`, cfg, weights));
      const coef = Float32Array.from({ length: IDS.length * V }, (_, i) => Math.sin(i * 0.37));
      const refLoss = (w: Weights) => referenceLogits(cfg, w, IDS).reduce((s, row, t) => s + row.reduce((a, v, o) => a + v * coef[t * V + o]!, 0), 0);
      const ids = tf.tensor2d([IDS], [1, IDS.length], 'int32');
      const mask = tf.ones([1, IDS.length], 'int32') as tf.Tensor2D;
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(model.forward(ids, mask).logits, tf.tensor3d(coef, [1, IDS.length, V]))) as tf.Scalar);
      const names = [...model.params.keys()].filter((n) => n.endsWith('.bias') || n.includes('_norm.'));
      expect(names.length).toBeGreaterThan(0);
      for (const n of names) {
        const g = grads[model.params.get(n)!.name];
        expect(g, n).toBeDefined();
        const at = 1;
        const step = 1e-3;
        const moved = (d: number) => {
          const w = new Map(weights);
          const data = weights.get(n)!.data.slice();
          data[at]! += d;
          w.set(n, { ...weights.get(n)!, data });
          return refLoss(w);
        };
        const numeric = (moved(step) - moved(-step)) / (2 * step);
        const ours = g!.dataSync()[at]!;
        expect(Math.abs(ours - numeric), `${String(cfg.model_type)} ${n}: ${ours} vs ${numeric}`).toBeLessThan(1e-3 * Math.max(1, Math.abs(numeric)));
      }
      // A plain gradient step moves every one of them.
      const before = new Map(names.map((n) => [n, Array.from(model.params.get(n)!.dataSync())]));
      for (const n of names) model.params.get(n)!.assign(tf.sub(model.params.get(n)!, tf.mul(grads[model.params.get(n)!.name]!, 0.01)));
      for (const n of names) expect(Array.from(model.params.get(n)!.dataSync()), n).not.toEqual(before.get(n));
      tf.dispose([ids, mask, ...Object.values(grads)]);
      model.dispose();
    }
  });

  it('layerLayout says which optional tensors each family has', () => {
    const none = { qkvBias: false, outputBias: false, qkNorm: false, mlpBias: false };
    expect(layerLayout(parseConfig(qwen2(true)))).toEqual({ ...none, qkvBias: true });
    expect(layerLayout(parseConfig({ ...qwen2(true), attention_bias: true, mlp_bias: true }))).toEqual({ ...none, qkvBias: true });
    expect(layerLayout(parseConfig(qwen3(true)))).toEqual({ ...none, qkNorm: true });
    expect(layerLayout(parseConfig(qwen3(true, true)))).toEqual({ qkvBias: true, outputBias: true, qkNorm: true, mlpBias: false });
    expect(layerLayout(parseConfig(llama()))).toEqual({ qkvBias: true, outputBias: true, qkNorm: false, mlpBias: true });
    expect(layerLayout(parseConfig({ vocab_size: 50 }))).toEqual(none);
    expect(MODEL_TYPES).toEqual(['llama', 'qwen2', 'qwen3']);
  });

  it('LlamaModel.init makes the family layouts: zero biases, unit q/k norms', () => {
    const c = parseConfig(qwen3(false, true));
    const m = LlamaModel.init(c, 2);
    expect(Array.from(m.params.get('model.layers.0.self_attn.q_proj.bias')!.dataSync())).toEqual(new Array(32).fill(0));
    expect(Array.from(m.params.get('model.layers.1.self_attn.k_norm.weight')!.dataSync())).toEqual(new Array(8).fill(1));
    expect(parameterShapes(c).get('model.layers.0.self_attn.o_proj.weight')).toEqual([16, 32]);
    expect(parameterShapes(c).get('model.layers.0.self_attn.o_proj.bias')).toEqual([16]);
    expect(parameterShapes(parseConfig(qwen2(true))).has('model.layers.0.self_attn.o_proj.bias')).toBe(false);
    expect(parameterShapes(parseConfig(llama())).get('model.layers.1.mlp.down_proj.bias')).toEqual([16]);
    m.dispose();
  });
});

describe('parseConfig and toHfConfig for Hugging Face config.json files', () => {
  it("fills transformers' defaults for what a config.json leaves out, and keeps its other fields", () => {
    const c = parseConfig({ model_type: 'qwen3', vocab_size: 50, hidden_size: 16, num_attention_heads: 4, intermediate_size: 24, initializer_range: 0.02 });
    expect(c).toMatchObject({ rms_norm_eps: 1e-6, tie_word_embeddings: false, num_key_value_heads: 4, rope_theta: 10000 });
    expect(c.hf_fields).toEqual({ initializer_range: 0.02 });
    // rapo's own configs keep rapo's defaults.
    expect(parseConfig({ vocab_size: 50 })).toMatchObject({ rms_norm_eps: 1e-5, tie_word_embeddings: true, num_key_value_heads: 2 });
    expect(parseConfig({ vocab_size: 50 }).model_type).toBeUndefined();
  });

  it('parses its own output to the same config, and writes each family its fields', () => {
    for (const cfg of [qwen2(false), qwen3(true), llama({ rope_scaling: LLAMA3_SCALING })]) {
      const c = parseConfig(cfg);
      expect(parseConfig(c)).toEqual(c);
      expect(parseConfig(toHfConfig(c))).toEqual(c);
    }
    const q2 = toHfConfig(parseConfig(qwen2(true)));
    expect(q2).toMatchObject({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', use_sliding_window: false, max_window_layers: 1, rope_scaling: null });
    expect(q2).not.toHaveProperty('attention_bias');
    const q3 = toHfConfig(parseConfig(qwen3(false)));
    expect(q3).toMatchObject({ architectures: ['Qwen3ForCausalLM'], head_dim: 8, attention_bias: false, layer_types: ['full_attention', 'full_attention'] });
    expect(q3).not.toHaveProperty('mlp_bias');
    const own: ModelConfig = parseConfig({ vocab_size: 50 });
    expect(toHfConfig(own)).toMatchObject({ architectures: ['LlamaForCausalLM'], model_type: 'llama', attention_bias: false, mlp_bias: false });
    expect(toHfConfig(own)).not.toHaveProperty('head_dim');
  });

  it("reads transformers 5's rope_parameters", () => {
    const c = parseConfig({ ...llama(), rope_theta: undefined, rope_parameters: { rope_theta: 500000, ...LLAMA3_SCALING } });
    expect(c.rope_theta).toBe(500000);
    expect(c.rope_scaling).toEqual(LLAMA3_SCALING);
    expect(parseConfig({ ...qwen3(true), rope_parameters: { rope_type: 'default', rope_theta: 1e6 } }).rope_scaling).toBeUndefined();
    expect(() => parseConfig({ ...llama(), rope_theta: 10, rope_parameters: { rope_theta: 500000 } })).toThrow(
      'config: rope_theta 10 and rope_parameters.rope_theta 500000 differ',
    );
  });

  it('computes the rotary frequencies of each scaling', () => {
    const c = parseConfig({ ...llama(), head_dim: 8, rope_scaling: LLAMA3_SCALING });
    const plain = [1, 0.1, 0.01, 0.001];
    const f = rotaryFrequencies(c);
    expect(f[0]).toBeCloseTo(plain[0]!, 12); // wavelength 6.3 < 64 / 4: kept
    const smooth = (64 / ((2 * Math.PI) / 0.1) - 1) / (4 - 1);
    expect(f[1]).toBeCloseTo((1 - smooth) * (0.1 / 8) + smooth * 0.1, 12); // 16 <= 62.8 <= 64: blended
    expect(f[2]).toBeCloseTo(0.01 / 8, 12);
    expect(f[3]).toBeCloseTo(0.001 / 8, 12);
    const linear = rotaryFrequencies(parseConfig({ ...llama(), head_dim: 8, rope_scaling: { type: 'linear', factor: 2 } }));
    expect(Array.from(linear).map((x) => +x.toPrecision(12))).toEqual(plain.map((x) => x / 2));
  });
});

describe('refusals name the file, the field or tensor, and what was expected', () => {
  const loadError = (dir: string) => {
    try {
      loadCheckpoint(dir).model.dispose();
    } catch (e) {
      expect(e).toBeInstanceOf(CheckpointError);
      return (e as Error).message;
    }
    throw new Error(`${dir} loaded`);
  };

  it('another model type, architecture, activation or rotary scaling', () => {
    const cases: [HfConfig, string][] = [
      [{ ...qwen2(true), model_type: 'mistral' }, 'model_type "mistral" is not supported; rapo reads the layouts of "llama", "qwen2", "qwen3"'],
      [{ ...qwen2(true), architectures: ['Qwen2ForSequenceClassification'] }, 'architectures ["Qwen2ForSequenceClassification"] has no Qwen2ForCausalLM'],
      [{ ...llama(), hidden_act: 'gelu' }, `hidden_act "gelu" is not supported; rapo's MLP is SwiGLU ("silu")`],
      [{ ...llama(), rope_scaling: { rope_type: 'dynamic', factor: 2 } }, 'rope_scaling type "dynamic" is not supported'],
      [{ ...qwen3(true), rope_scaling: { rope_type: 'yarn', factor: 4 } }, 'rope_scaling type "yarn" is not supported'],
      [
        { ...llama(), rope_scaling: { rope_type: 'llama3', factor: 8 } },
        'rope_scaling of type "llama3" needs a number > 0 for low_freq_factor but received undefined',
      ],
      [{ ...qwen3(true), head_dim: 7 }, 'head_dim 7 must be even for rotary embeddings'],
      [
        { ...qwen2(true), use_sliding_window: true, sliding_window: 32 },
        'use_sliding_window is true and sliding_window 32 is shorter than max_position_embeddings 64; rapo has no sliding-window attention',
      ],
    ];
    for (const [cfg, message] of cases) {
      const dir = writeHfFolder('refused', cfg, hfTensors(qwen2(true), 1));
      expect(loadError(dir)).toBe(`checkpoint ${dir}: config.json: ${loadError(dir).split('config.json: ')[1]}`);
      expect(loadError(dir)).toContain(message);
    }
    // A window the context never exceeds is full attention: accepted.
    const fits = writeHfFolder('window-fits', { ...qwen2(true), use_sliding_window: true, sliding_window: 64 }, hfTensors(qwen2(true), 1));
    loadCheckpoint(fits).model.dispose();
    // Only layers from max_window_layers on (transformers' default 28) or those layer_types marks use the window.
    const { max_window_layers: _m, ...noWindowedLayer } = qwen2(true);
    loadCheckpoint(
      writeHfFolder('no-windowed-layer', { ...noWindowedLayer, use_sliding_window: true, sliding_window: 16 }, hfTensors(qwen2(true), 1)),
    ).model.dispose();
    const marked = {
      ...qwen3(true),
      use_sliding_window: true,
      sliding_window: 16,
      max_window_layers: 28,
      layer_types: ['full_attention', 'sliding_attention'],
    };
    expect(() => parseConfig(marked)).toThrow('config: use_sliding_window is true and sliding_window 16 is shorter than max_position_embeddings 64');
    expect(() => parseConfig({ ...qwen3(true), layer_types: ['full_attention', 'chunked_attention'] })).toThrow(
      new ConfigError('config: expected a list of "full_attention" or "sliding_attention" for layer_types but received ["full_attention","chunked_attention"]'),
    );
  });

  it('a missing, unknown or mis-shaped tensor', () => {
    const cfg = qwen3(false);
    const good = hfTensors(cfg, 4);
    const at = (name: string, change: (w: Weights) => void) => {
      const w = new Map(good);
      change(w);
      const dir = writeHfFolder(name, cfg, w);
      return { dir, message: loadError(dir) };
    };
    let r = at('missing', (w) => w.delete('model.layers.1.self_attn.q_norm.weight'));
    expect(r.message).toBe(`checkpoint ${r.dir}: model.safetensors: missing tensor model.layers.1.self_attn.q_norm.weight (shape [8])`);
    r = at('shape', (w) => w.set('model.layers.0.self_attn.k_norm.weight', { shape: [16], data: new Float32Array(16) }));
    expect(r.message).toBe(`checkpoint ${r.dir}: model.safetensors: tensor model.layers.0.self_attn.k_norm.weight has shape [16] but the config needs [8]`);
    r = at('unknown', (w) => w.set('model.layers.0.self_attn.q_proj.bias', { shape: [32], data: new Float32Array(32) }));
    expect(r.message).toBe(
      `checkpoint ${r.dir}: model.safetensors: unexpected tensor model.layers.0.self_attn.q_proj.bias (model_type qwen3 has attention biases only with attention_bias: true)`,
    );
    r = at('stranger', (w) => w.set('model.layers.0.mlp.experts.0.weight', { shape: [2], data: new Float32Array(2) }));
    expect(r.message).toBe(`checkpoint ${r.dir}: model.safetensors: unexpected tensor model.layers.0.mlp.experts.0.weight`);
    const q2 = qwen2(true);
    const dir = writeHfFolder(
      'qk-norm-in-qwen2',
      q2,
      new Map([...hfTensors(q2, 2), ['model.layers.0.self_attn.q_norm.weight', { shape: [4], data: new Float32Array(4) }]]),
    );
    expect(loadError(dir)).toContain('unexpected tensor model.layers.0.self_attn.q_norm.weight (q_norm and k_norm belong to model_type qwen3');
    const llamaDir = writeHfFolder('llama-no-mlp-bias', { ...llama(), mlp_bias: false }, hfTensors(llama(), 2));
    expect(loadError(llamaDir)).toContain('unexpected tensor model.layers.0.mlp.down_proj.bias (the config has mlp_bias false)');
  });

  it('passes over rotary buffers and a tied lm_head equal to the embedding, and refuses one that differs', () => {
    const cfg = qwen2(true);
    const w = hfTensors(cfg, 6);
    const emb = w.get('model.embed_tokens.weight')!;
    const withCopies = new Map([
      ...w,
      ['lm_head.weight', emb],
      ['model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [2], data: new Float32Array([1, 0.01]) }],
    ]);
    const { model } = loadCheckpoint(writeHfFolder('copies', cfg, withCopies));
    expect(model.params.has('lm_head.weight')).toBe(false);
    expect(maxDiff(rapoLogits(model, IDS), referenceLogits(cfg, w, IDS))).toBeLessThan(1e-4);
    model.dispose();
    const other = writeHfFolder('other-head', cfg, new Map([...w, ['lm_head.weight', { ...emb, data: emb.data.map((v) => -v) }]]));
    expect(loadError(other)).toContain('unexpected tensor lm_head.weight (the config ties the output head to the embeddings)');
  });

  it('sharded weights: read through model.safetensors.index.json, each shard checked against it', () => {
    const cfg = qwen2(true);
    const w = hfTensors(cfg, 1);
    const names = [...w.keys()];
    // Two shards, as save_pretrained writes them: the index maps every tensor to its file.
    const shard = (dir: string, file: string, part: string[], extra: string[] = []) =>
      writeSafetensors(
        join(dir, file),
        [...part, ...extra].map((n) => ({ name: n, shape: w.get(n)!.shape, data: w.get(n)!.data })),
        { format: 'pt' },
      );
    const half = Math.ceil(names.length / 2);
    const sharded = (name: string, map: Record<string, string> = {}, extraInSecond: string[] = []) => {
      const dir = writeHfFolder(name, cfg, w);
      rmSync(join(dir, 'model.safetensors'));
      shard(dir, 'model-00001-of-00002.safetensors', names.slice(0, half));
      shard(dir, 'model-00002-of-00002.safetensors', names.slice(half), extraInSecond);
      const weightMap = Object.fromEntries(names.map((n, i) => [n, i < half ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors']));
      writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: { ...weightMap, ...map } }));
      return dir;
    };
    const { model } = loadCheckpoint(sharded('sharded'));
    expect(maxDiff(rapoLogits(model, IDS), referenceLogits(cfg, w, IDS))).toBeLessThan(1e-4);
    model.dispose();

    const missing = sharded('sharded-missing', { [names[0]!]: 'model-00003-of-00002.safetensors' });
    expect(loadError(missing)).toContain(`checkpoint ${missing}: missing shard model-00003-of-00002.safetensors, which model.safetensors.index.json lists`);
    const ghost = sharded('sharded-ghost', { 'model.layers.9.mlp.up_proj.weight': 'model-00001-of-00002.safetensors' });
    expect(loadError(ghost)).toContain(
      'shard model-00001-of-00002.safetensors lacks tensor model.layers.9.mlp.up_proj.weight, which model.safetensors.index.json puts there',
    );
    const moved = sharded('sharded-moved', { [names[0]!]: 'model-00002-of-00002.safetensors' });
    expect(loadError(moved)).toContain(
      `shard model-00001-of-00002.safetensors holds tensor ${names[0]}, which model.safetensors.index.json does not put there`,
    );
    const extra = sharded('sharded-extra', {}, [names[0]!]);
    expect(loadError(extra)).toContain(
      `shard model-00002-of-00002.safetensors holds tensor ${names[0]}, which model.safetensors.index.json does not put there`,
    );
    const outside = sharded('sharded-outside', { [names[0]!]: '../elsewhere.safetensors' });
    expect(loadError(outside)).toContain('expected a file name in the checkpoint folder');
    const empty = sharded('sharded-empty');
    writeFileSync(join(empty, 'model.safetensors.index.json'), JSON.stringify({ weight_map: {} }));
    expect(loadError(empty)).toContain(`checkpoint ${empty}: model.safetensors.index.json has no weight_map naming each tensor's file`);
    const none = writeHfFolder('no-weights', cfg, w);
    rmSync(join(none, 'model.safetensors'));
    expect(existsSync(join(none, 'model.safetensors'))).toBe(false);
    expect(loadError(none)).toContain(`checkpoint ${none}: missing model.safetensors (and no model.safetensors.index.json listing shards)`);
  });
});
